"""Numbers that reconcile two statements of the book (vlmlab.reconcile). Expected values are hand
derivations written here, or another implementation (vlmlab.multiway's module FLOP count)."""
from __future__ import annotations

import pytest

from vlmlab import reconcile as R
from vlmlab.models import get_lm

LM = get_lm("llama-2-7b")


def test_beit3_giant_attention_share_slope_and_ratio_by_hand():
    out = R.beit3_attention()
    # 16-px patches + [CLS] + 32 caption tokens at 224, 384, 480, 768 px
    assert out["tokens"] == [14**2 + 33, 24**2 + 33, 30**2 + 33, 48**2 + 33] == [229, 609, 933, 2337]
    # per layer 4 n^2 d of 8 n d^2 + 4 n^2 d + 4 n d d_ff: share n / (2d + n + d_ff), d 1408, d_ff 6144
    assert out["share"] == pytest.approx(2337 / (2 * 1408 + 2337 + 6144))          # 20.7 %
    assert out["ratio"] == pytest.approx(2337 * (8960 + 2337) / (229 * (8960 + 229)))  # 12.5x
    assert 1.0 < out["slope"] < 1.2                                                # not the miniature's 1.6


def test_beit3_formula_matches_the_multiway_module():
    torch = pytest.importorskip("torch")
    from vlmlab.multiway import BEIT3_GIANT, MultiwayBlock

    assert (BEIT3_GIANT.d_model, BEIT3_GIANT.d_ff) == (R.BEIT3_GIANT_WIDTH, R.BEIT3_GIANT_FFN)
    with torch.device("meta"):
        block = MultiwayBlock(BEIT3_GIANT.d_model, BEIT3_GIANT.n_heads, BEIT3_GIANT.d_ff)
    f = block.flops(2305, 32)
    assert (f["scores"] + f["weighted_sum"]) / f.total == pytest.approx(R.beit3_attention()["share"])


def test_attention_bytes_four_passes_and_ten_by_hand():
    # N 16,384, 32 heads x 128, bf16: QKVO 536,870,912 B; matrix 32 x N^2 x 2 = 17,179,869,184 B;
    # fused re-reads K and V for each of 128 query blocks: 2 x N x 4096 x 2 x 128 = 34,359,738,368 B
    qkvo, matrix, rereads = 536_870_912, 17_179_869_184, 34_359_738_368
    fused = qkvo + rereads
    assert R.attention_io_ratio(16384, 32, 128, 10) == pytest.approx((qkvo + 10 * matrix) / fused)  # 4.9x
    assert R.attention_io_ratio(16384, 32, 128, R.STANDARD_ATTENTION_PASSES) == pytest.approx(
        (qkvo + 4 * matrix) / fused)                                                             # 2.0x
    assert R.STANDARD_ATTENTION_PASSES == 4


def test_decode_intensity_fp32_is_half_of_bf16():
    # a decode step does ~2 FLOPs per weight and reads each weight once: 2/4 in fp32, 2/2 in bf16
    assert R.decode_intensity(LM, 4096, "fp32") == pytest.approx(0.5, abs=0.01)
    assert R.decode_intensity(LM, 4096, "bf16") == pytest.approx(2 * R.decode_intensity(LM, 4096, "fp32"))


def test_serving_gains_on_an_a100():
    gains = R.serving_gains()
    assert gains["engine"][1] == (11, 114) and gains["upper bound"][1] == (13, 135)   # tests/test_engine.py
    assert 114 / 11 < gains["engine"][0] < 114 / 11 * 4146 / 350
    assert 1 < gains["one request"][0] < 4146 / 350


def test_flop_crossover_of_linear_attention_is_2d_plus_4():
    out = R.flop_crossovers(head_dim=64)
    assert out["linear, parallel"] == 2 * 64 + 4 == 132
    assert all(2 <= n < 1000 for n in out.values())


def test_cross_attention_latents_take_no_window():
    assert R.window_tokens("flamingo", 320, 320) == 0
    assert R.window_tokens("llava-1.5", 336, 336) == (336 // 14) ** 2
