"""vlmlab.real: transformers' own VLMs built offline at real width, fed by their real processors.

Independent references: transformers' processors (the image-token counts must equal
vlmlab.visual_tokens), transformers' config classes (released widths), torch's FlopCounterMode
on the built connectors and decoder (the analytic counts must equal it), and the KV cache the
model itself returns.
"""
from __future__ import annotations

import pytest

from vlmlab import real
from vlmlab.errors import UnknownNameError
from vlmlab.real import configs, construct as B, measure as M, offline, predict as P

pytestmark = pytest.mark.slow  # integration: `make test` runs it, `make test-fast` does not


def _counted(fn) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


class eager_attention:
    """Attention as explicit matmuls (FlopCounterMode counts no CPU SDPA kernel), then back."""

    def __init__(self, model):
        self.configs = [m.config for m in model.modules() if hasattr(m, "config")]

    def __enter__(self):
        self.saved = [c._attn_implementation for c in self.configs]
        for c in self.configs:
            c._attn_implementation = "eager"

    def __exit__(self, *exc):
        for c, impl in zip(self.configs, self.saved):
            c._attn_implementation = impl


ALL_SIZES = sorted({(n, h, w) for scale in real.SIZES.values() for n, hw in scale.items() for h, w in hw})


@pytest.mark.parametrize("name,height,width", ALL_SIZES)
def test_processor_image_positions_equal_vlmlab(name, height, width):
    row = real.sequence_counts(name, height, width)
    assert row["processor"] == row["vlmlab"], row
    assert row["text"] == len(offline.QUESTION.split()) + (1 if name == "mllama" else 0)  # Mllama adds BOS


def test_mllama_tiles_follow_the_image_and_budget():
    # 1120x1120 fills a 2x2 canvas of 560-px tiles; with a budget of one tile, one tile
    assert real.sequence_counts("mllama", 1120, 1120)["tiles"] == 4
    assert real.sequence_counts("mllama", 1120, 1120, max_tiles=1)["tiles"] == 1


def test_configs_are_the_released_widths():
    import transformers as tf

    ids = offline.special_ids(offline.tokenizer("llava-1.5"))
    # transformers' config defaults are the released checkpoints (LLaVA: CLIP-L/336 + Llama-7B)
    default = tf.LlavaConfig()
    built = configs.hf_config("llava-1.5", ids)
    assert built.vision_config.hidden_size == default.vision_config.hidden_size == 1024
    assert built.text_config.intermediate_size == default.text_config.intermediate_size == 11008
    ml = configs.hf_config("mllama", ids)
    assert ml.text_config.cross_attention_layers == tf.MllamaTextConfig().cross_attention_layers
    assert configs.full_depths("mllama") == {"text": 40, "vision": 40, "cross": 8}
    small = configs.hf_config("mllama", ids, depth=2, vision_depth=1, vocab=512, max_tiles=1)
    assert small.text_config.hidden_size == 4096 and small.text_config.cross_attention_layers == [1]
    assert small.vision_config.supported_aspect_ratios == [[1, 1]]


def test_unknown_model_and_bad_depth():
    with pytest.raises(UnknownNameError, match="llava-next"):
        configs.get_model("llava-nxt")
    ids = offline.special_ids(offline.tokenizer("mllama"))
    with pytest.raises(ValueError, match="depth must be >= 2 for mllama"):
        configs.hf_config("mllama", ids, depth=1, vision_depth=1)
    with pytest.raises(ValueError, match="scale"):
        real.settings("llava-1.5", "huge")


@pytest.fixture(scope="module")
def blip():
    import torch

    torch.manual_seed(0)
    built = B.build("blip-2", depth=1, vision_depth=1)
    cap = M.capture(built, B.prepare(built, 224, 224))
    return built, cap


def test_blip2_sequence_is_32_queries_plus_text(blip):
    built, cap = blip
    assert M.lm_sequence_length(built, cap) == 32 + len(offline.QUESTION.split())
    # the Q-Former read the 257 EVA tokens (16x16 patches + CLS) of the one built layer
    assert cap.calls["qformer"][1]["encoder_hidden_states"].shape[1:] == (257, 1408)


def test_blip2_connector_flops_equal_flopcountermode(blip):
    built, cap = blip
    fns = M.part_functions(built, cap)
    with eager_attention(built.model):
        # Q-Former: 12 layers of self-attention over 32 queries, cross-attention to the 257 image
        # tokens in every second layer, then the projection to OPT's width
        assert P.connector_flops(built, cap) == _counted(fns["connector"])


def test_blip2_encoder_and_prefill_flops_equal_flopcountermode(blip):
    built, cap = blip
    fns = M.part_functions(built, cap)
    import vlmlab.encoder_cost as ec
    from vlmlab import cost

    with eager_attention(built.model):
        tokens, views = P.vision_shape(built, cap)
        enc = ec.from_hf_vision_config(built.model.config)
        assert _counted(fns["vision"]) == ec.encoder_flops(enc, tokens, views).total
        n = M.lm_sequence_length(built, cap)
        # eager attention multiplies the full n x n matrix (the mask is added, not skipped)
        assert _counted(fns["prefill"]) == cost.model_prefill_flops(P.lm_config(built), n, lm_head=False).total


def test_decode_extends_the_models_own_cache(blip):
    built, cap = blip
    fns = M.part_functions(built, cap)
    before = cap.cache.get_seq_length()
    out = fns["decode"]()
    assert out.last_hidden_state.shape[1] == 1
    assert cap.cache.get_seq_length() == before + 1


def test_measure_model_row(blip):
    from vlmlab.roofline import Ceilings

    ceil = Ceilings("test", 1e11, 1e10, "bf16", "made up for the test")
    row = real.measure_model("blip-2", 224, 224, device="cpu", ceilings=ceil, scale="ci",
                             repeats=1, lm_at=(64,))
    assert row["seq"] == row["image_positions"] + row["text"] and row["image_positions"] == 32
    assert row["peak_bytes"] is None                      # no allocator counter on a CPU
    for part in real.PARTS:
        assert row[f"{part}_s"] > 0 and row[f"{part}_pred_s"] > 0
        # the released depth costs more than the built one (OPT-2.7B: 32 layers, EVA: 39)
        assert row[f"{part}_full_pred_s"] >= row[f"{part}_pred_s"]
    # 32 layers instead of 1: the extrapolated prefill is the measured one x the predicted ratio
    assert row["prefill_full_s"] == pytest.approx(row["prefill_s"] * row["prefill_full_pred_s"]
                                                  / row["prefill_pred_s"])
    assert row["lm_at"][0]["n"] == 64 and row["lm_at"][0]["full_layers"] == 32


def test_mllama_cross_layer_flops_by_hand():
    from vlmlab.models import LMConfig

    lm = LMConfig("x", 1, 4096, 32, 8, 14336, "swiglu", 512, 8192, 1)
    n, t = 7, 1601
    # q, o: 2 * 2*n*4096*4096; k, v over the image: 2 * 2*t*4096*1024;
    # scores + weighted sum: 4*n*t*4096; SwiGLU: 3 * 2*n*4096*14336
    want = 4 * n * 4096 * 4096 + 4 * t * 4096 * 1024 + 4 * n * t * 4096 + 6 * n * 4096 * 14336
    assert P.cross_layer(lm, n, t)[0] == want


def test_comparisons_from_synthetic_rows():
    def row(model, vision, connector, prefill, seq=10, lm_at=()):
        r = {"model": model, "size": "1x1", "seq": seq, "lm_at": list(lm_at)}
        for suffix in ("_s", "_pred_s", "_full_s", "_full_pred_s"):
            r.update({f"vision{suffix}": vision, f"connector{suffix}": connector,
                      f"prefill{suffix}": prefill})
        return r

    rows = [row("llava-1.5", 1, 1, 8, seq=581,
                lm_at=[{"n": 37, "measured_s": 0.5, "predicted_s": 0.5, "layers": 1, "full_layers": 32}]),
            row("llava-next", 5, 5, 40), row("blip-2", 1, 1, 3),
            row("mllama", 6, 2, 2, lm_at=[{"n": 1607, "measured_s": 4, "predicted_s": 4,
                                           "layers": 1, "full_layers": 40}])]
    df = real.comparisons(rows)
    # TTFT 50 / 10; prefill 8 / 0.5; TTFT 10 / 5; concatenated 4 x 40 / 2; (160 + 8) / 10
    assert list(df["measured"]) == pytest.approx([5.0, 16.0, 2.0, 80.0, 16.8])
    assert list(df["error"]) == pytest.approx([0.0] * 5)
    with pytest.raises(ValueError, match="no measurement of 'mllama'"):
        real.comparisons(rows[:3])
