"""Tests of vlmlab.lm: KV cache against recomputation, GQA shapes, parameter counts, and logits
against transformers' LlamaForCausalLM with the same weights."""
import dataclasses

import pytest
import torch

from vlmlab import connectors as C
from vlmlab.cost import kv_cache_bytes
from vlmlab.lm import DecoderLM
from vlmlab.models import LMConfig, get_lm

TINY = LMConfig("tiny", n_layers=3, d_model=64, n_heads=8, n_kv_heads=2, d_ff=96, ffn="swiglu", vocab_size=101,
                context_window=256, params=1)


def _model(cfg=TINY, **kw):
    torch.manual_seed(0)
    return DecoderLM(cfg, **kw).eval()


@pytest.mark.parametrize("cfg", [TINY, dataclasses.replace(TINY, n_kv_heads=8),
                                 dataclasses.replace(TINY, n_kv_heads=1, ffn="gelu", tied_embeddings=True)])
def test_decode_with_cache_equals_full_recompute(cfg):
    m = _model(cfg)
    ids = torch.randint(0, cfg.vocab_size, (2, 12))
    full = m(ids)
    logits, cache = m.prefill(ids[:, :8], max_new_tokens=4)
    steps = [logits] + [m.decode_step(ids[:, i], cache) for i in range(8, 11)]
    torch.testing.assert_close(torch.stack(steps, 1), full[:, 7:11], rtol=1e-4, atol=1e-5)
    assert cache.length == 11


def test_gqa_shapes():
    m = _model()
    attn = m.layers[0].self_attn
    assert attn.q_proj.weight.shape == (8 * 8, 64)      # 8 query heads of 64 / 8 = 8
    assert attn.k_proj.weight.shape == (2 * 8, 64)      # 2 shared key/value heads
    _, cache = m.prefill(torch.randint(0, 101, (3, 5)), max_new_tokens=2)
    assert cache.k[0].shape == (3, 2, 7, 8) and len(cache.k) == 3


def test_kv_cache_bytes_agree_with_cost_model():
    m = _model()
    _, cache = m.prefill(torch.randint(0, 101, (2, 10)), max_new_tokens=6)
    # hand: 2 (K and V) x 3 layers x 2 KV heads x 8 dims x 10 tokens x 2 sequences x 4 bytes (fp32)
    assert cache.nbytes == 2 * 3 * 2 * 8 * 10 * 2 * 4 == kv_cache_bytes(TINY, 10, batch=2, dtype="fp32")


@pytest.mark.parametrize("cfg", [TINY, dataclasses.replace(TINY, qkv_bias=True, o_bias=True),
                                 dataclasses.replace(TINY, tied_embeddings=True, ffn="gelu"),
                                 dataclasses.replace(TINY, d_head=16)])
def test_parameters_equal_shape_based_count(cfg):
    assert _model(cfg).num_parameters() == cfg.param_count()


@pytest.mark.parametrize("name", ["llama-2-7b", "llama-3-8b", "qwen2-7b"])
def test_7b_shaped_model_has_the_preset_parameter_count(name):
    cfg = get_lm(name)
    with torch.device("meta"):
        assert DecoderLM(cfg).num_parameters() == cfg.param_count()


def test_logits_match_transformers_llama_with_copied_weights():
    from transformers import LlamaConfig, LlamaForCausalLM

    hf_cfg = LlamaConfig(hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=8,
                         num_key_value_heads=2, vocab_size=101, rms_norm_eps=1e-6, tie_word_embeddings=False,
                         max_position_embeddings=256)
    torch.manual_seed(1)
    ref = LlamaForCausalLM(hf_cfg).eval()
    ours = _model()
    state = {k.removeprefix("model."): v for k, v in ref.state_dict().items() if "rotary" not in k}
    ours.load_state_dict(state)
    ids = torch.randint(0, 101, (2, 9))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids), ref(ids).logits, rtol=1e-4, atol=1e-5)


def test_cross_attention_leaves_the_lm_unchanged_at_init_and_caches_visual_kv():
    base, xm = _model(), _model(xattn_every=2, d_visual=24)
    xm.load_state_dict(base.state_dict(), strict=False)
    assert xm.xattn_layers == [1]
    ids, visual = torch.randint(0, 101, (2, 6)), torch.randn(2, 10, 24)
    torch.testing.assert_close(xm(ids, visual=visual), base(ids))
    with torch.no_grad():
        for block in xm.cross_blocks:
            block.attn_gate.fill_(1.0)
            block.ffn_gate.fill_(1.0)
    full = xm(ids, visual=visual)
    assert not torch.allclose(full, base(ids))
    logits, cache = xm.prefill(ids[:, :4], visual=visual, max_new_tokens=2)
    steps = [logits, xm.decode_step(ids[:, 4], cache)]
    torch.testing.assert_close(torch.stack(steps, 1), full[:, 3:5], rtol=1e-4, atol=1e-5)
    # the KV cache: 5 text tokens in 3 layers plus 10 visual keys/values in the one cross-attention layer
    assert cache.nbytes == 2 * 2 * 8 * 4 * 2 * (3 * 5 + 1 * 10)


@pytest.mark.parametrize("name", C.list_connectors())
def test_prefill_and_decode_run_end_to_end_with_every_connector(name):
    d_vis, n_text = 32, 5
    lm = _model(xattn_every=2, d_visual=d_vis) if name == "xattn" else _model()
    cfg = {"fuyu": dict(d_out=64), "xattn": None, "qformer": dict(d_in=d_vis, d_out=64, n_layers=2, d_model=32,
                                                                     n_heads=4, d_ff=64, n_queries=8),
           "perceiver": dict(d_in=d_vis, d_model=64, n_latents=8, depth=1, n_heads=4, head_dim=16, n_kv_heads=2),
           }.get(name, dict(d_in=d_vis, d_out=64))
    if name in ("avgpool", "cabstractor"):
        cfg["k"] = 4  # an 8 x 8 grid pools to at most 8 x 8 (the default k=12 would grow it: refused)
    ids = torch.randint(0, 101, (2, n_text))
    feats = torch.randn(2, 64, d_vis)
    if name == "xattn":
        logits, cache = lm.prefill(ids, visual=feats)
        n_visual = 0
    else:
        conn = C.build(name, **cfg).eval()
        with torch.no_grad():
            visual = conn(torch.randn(2, 3, 240, 240)) if name == "fuyu" else conn(feats)
        n_visual = conn.output_tokens(64)
        logits, cache = lm.prefill(inputs_embeds=torch.cat([visual, lm.embed(ids)], 1))
    logits = lm.decode_step(logits.argmax(-1), cache)
    assert logits.shape == (2, 101) and cache.length == n_visual + n_text + 1


def test_errors_name_the_argument():
    m = _model()
    with pytest.raises(ValueError, match="exactly one of input_ids"):
        m.prefill()
    with pytest.raises(ValueError, match="max_tokens=3"):
        _, cache = m.prefill(torch.zeros(1, 3, dtype=torch.long), max_new_tokens=0)
        m.decode_step(torch.zeros(1, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="pass visual="):
        _model(xattn_every=1)(torch.zeros(1, 2, dtype=torch.long))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_allocate_on_builds_weights_in_the_final_dtype_and_restores_the_default(dtype):
    from vlmlab.lm import allocate_on

    with allocate_on("cpu", dtype):
        lm = DecoderLM(TINY)
    assert {p.dtype for p in lm.parameters()} == {dtype}
    assert torch.get_default_dtype() == torch.float32
    with pytest.raises(RuntimeError, match="boom"), allocate_on("cpu", dtype):
        raise RuntimeError("boom")
    assert torch.get_default_dtype() == torch.float32   # restored after an error too
    with pytest.raises(TypeError, match="dtype must be a floating torch.dtype"):
        with allocate_on("cpu", torch.int8):
            pass


# ---- vlmlab.lm.pipeline: the strategies of chapter 5 -------------------------------------------------

def _strategy(connector):
    from vlmlab.lm.pipeline import STRATEGIES
    return next(s for s in STRATEGIES if s.connector == connector)


@pytest.mark.parametrize("px", [90, 336, 1024])
def test_fuyu_strategy_hands_the_lm_patches_and_one_newline_per_row(px):
    from vlmlab.lm.pipeline import build_vlm
    from vlmlab.tokens import visual_tokens

    vlm = build_vlm(_strategy("fuyu"), TINY, d_vision=8, device="meta")
    # Fuyu's processor (vlmlab.tokens is tested against transformers' FuyuProcessor): rows x (cols + 1);
    # by hand, 336 px -> 12 x 13 = 156 and 1024 px -> 35 x 36 = 1,260
    assert vlm.visual_tokens(vlm.n_in(grid=24, image_px=px)) == visual_tokens("fuyu-8b", px, px)
    assert {336: 156, 1024: 1260}.get(px, 12) == visual_tokens("fuyu-8b", px, px)


def test_fuyu_strategy_prefill_puts_a_newline_embedding_after_each_row():
    from vlmlab.lm.pipeline import NEWLINE_ID, build_vlm, make_inputs

    torch.manual_seed(0)
    vlm = build_vlm(_strategy("fuyu"), TINY, d_vision=8)
    pixels, ids = make_inputs(vlm, grid=3, image_px=90, d_vision=8, n_text=5)   # 3 x 3 patches of 30 px
    with torch.no_grad():
        seq = vlm.visual_sequence(pixels)
        patches = vlm.connector(pixels)
    assert seq.shape == (1, 3 * 4, TINY.d_model)
    newline = vlm.lm.embed(torch.tensor([NEWLINE_ID]))[0]
    for r in range(3):
        torch.testing.assert_close(seq[0, 4 * r: 4 * r + 3], patches[0, 3 * r: 3 * r + 3])
        torch.testing.assert_close(seq[0, 4 * r + 3], newline)
    _, cache = vlm.prefill(pixels, ids, max_new_tokens=1)
    assert cache.length == 12 + 5


def test_predict_prices_prefill_with_the_causal_half_of_the_scores():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from vlmlab.lm.pipeline import build_vlm, make_inputs, predict

    vlm = build_vlm(_strategy("mlp"), TINY, d_vision=16)
    image, ids = make_inputs(vlm, grid=4, image_px=64, d_vision=16, n_text=6)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        vlm.prefill(image, ids)
    # FlopCounterMode scores every query-key pair; a causal kernel skips the N(N-1)/2 masked ones,
    # each worth 2 matmuls x 2 FLOPs x head_dim per head, in each of the 3 layers
    n = 16 + 6
    masked = 3 * 2 * 2 * (n * (n - 1) // 2) * TINY.n_heads * TINY.head_dim
    assert predict(vlm, grid=4, image_px=64, n_text=6)["prefill_flops"] == counter.get_total_flops() - masked
