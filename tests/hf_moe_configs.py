"""Released mixture-of-experts configs (their config.json on the Hugging Face hub), shared by
the hand-derived parameter counts in test_independent_models.py and test_independent_hf_config.py."""

# mistralai/Mixtral-8x7B-v0.1 config.json
MIXTRAL = {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336,
           "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
           "num_local_experts": 8, "num_experts_per_tok": 2, "vocab_size": 32000,
           "max_position_embeddings": 32768, "hidden_act": "silu", "tie_word_embeddings": False}
# Qwen/Qwen1.5-MoE-A2.7B config.json (qwen2_moe: q, k, v projections carry biases, o does not)
QWEN_MOE = {"model_type": "qwen2_moe", "hidden_size": 2048, "intermediate_size": 5632,
            "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632,
            "num_attention_heads": 16, "num_hidden_layers": 24, "num_key_value_heads": 16,
            "num_experts": 60, "num_experts_per_tok": 4, "vocab_size": 151936,
            "max_position_embeddings": 8192, "hidden_act": "silu", "tie_word_embeddings": False,
            "decoder_sparse_step": 1, "mlp_only_layers": []}
