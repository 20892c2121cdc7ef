"""Property (hypothesis): any value for any argument of the analytic API either gives a finite,
sensible answer or raises ValueError/TypeError/LookupError whose message names the argument,
within a second (issue 11). Values range over what a user might pass: ints from -10 to 10**12,
floats with NaN and inf, short strings, None and booleans.
"""
from __future__ import annotations

import math
import time
from numbers import Real

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlmlab import budget, cost, roofline, serving, tokens
from vlmlab.models import LMConfig
from vlmlab.roofline import DATASHEETS, Ceilings
from vlmlab.subquadratic.cost import (linear_attention_cost, selective_scan_cost, softmax_attention_cost,
                                      vision_attention_cost)
from vlmlab.units import Breakdown

TINY = LMConfig("tiny", 2, 64, 4, 2, 128, "swiglu", 256, 128, 1)
H100 = DATASHEETS["H100-SXM"]
ANY = st.one_of(st.integers(-10, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                st.text(max_size=3), st.none(), st.booleans())
FAST = settings(max_examples=25, deadline=1000, suppress_health_check=[HealthCheck.too_slow])

#: (label, call taking the one varied argument, the argument's name as messages spell it, what may
#: be accepted: 'int' integers, 'num' finite real numbers, 'flag' booleans, 'name' strings,
#: 'optint' an integer or None)
CALLS = [
    ("visual_tokens height", lambda v: tokens.visual_tokens("llava-next", v, 448), "height", "int"),
    ("visual_tokens frames", lambda v: tokens.visual_tokens("qwen2-vl", 448, 448, frames=v), "frames", "int"),
    ("visual_tokens max_tiles", lambda v: tokens.visual_tokens("internvl-1.5", 448, 896, max_tiles=v), "max_tiles", "int"),
    ("layer_prefill_flops", lambda v: cost.layer_prefill_flops(TINY, v), "n_tokens", "int"),
    ("layer_prefill_flops causal", lambda v: cost.layer_prefill_flops(TINY, 8, causal=v), "causal", "flag"),
    ("decode_step_flops", lambda v: cost.decode_step_flops(TINY, v), "context", "int"),
    ("decode_step_flops batch", lambda v: cost.decode_step_flops(TINY, 8, v), "batch", "int"),
    ("kv_cache_bytes", lambda v: cost.kv_cache_bytes(TINY, v), "tokens", "int"),
    ("kv_cache_bytes dtype", lambda v: cost.kv_cache_bytes(TINY, 8, dtype=v), "dtype", "name"),
    ("attention_score_flops", lambda v: cost.attention_score_flops(8, 8, v, 16), "n_heads", "int"),
    ("attention_matrix_bytes", lambda v: cost.attention_matrix_bytes(8, v, 4), "n_kv", "int"),
    ("prefill_bytes", lambda v: cost.prefill_bytes(TINY, v), "n_tokens", "int"),
    ("decode_step_bytes", lambda v: cost.decode_step_bytes(TINY, 8, batch=v), "batch", "int"),
    ("images_that_fit", lambda v: budget.images_that_fit(4096, v), "tokens_per_image", "int"),
    ("text_tokens_left", lambda v: budget.text_tokens_left(v, 2, 576), "context_window", "int"),
    ("dialogue_turns", lambda v: budget.dialogue_turns(4096, v, 50), "image_tokens", "int"),
    ("predict_seconds flops", lambda v: roofline.predict_seconds(v, 1e9, H100), "flops", "num"),
    ("predict_seconds bytes", lambda v: roofline.predict_seconds(1e9, v, H100), "bytes_moved", "num"),
    ("arithmetic_intensity", lambda v: roofline.arithmetic_intensity(1e9, v), "bytes_moved", "num"),
    ("Ceilings bandwidth", lambda v: Ceilings("x", 1e12, v, "bf16", "s").ridge_flops_per_byte,
     "bandwidth_bytes_per_s", "num"),
    ("memory_per_sequence", lambda v: serving.memory_per_sequence(TINY, v), "tokens", "int"),
    ("memory_per_sequence new", lambda v: serving.memory_per_sequence(TINY, 8, new_tokens=v), "new_tokens", "int"),
    ("max_batch memory", lambda v: serving.max_batch(TINY, 8, v), "memory_bytes", "num"),
    ("max_batch reserve", lambda v: serving.max_batch(TINY, 8, 1e9, reserve_bytes=v), "reserve_bytes", "num"),
    ("serving_estimate new_tokens", lambda v: serving.serving_estimate(TINY, 8, v, 2, H100, 2.0).seconds,
     "new_tokens", "int"),
    ("serving_estimate batch", lambda v: serving.serving_estimate(TINY, 8, 4, v, H100, 2.0).seconds, "batch", "int"),
    ("serving_estimate dollars", lambda v: serving.serving_estimate(TINY, 8, 4, 2, H100, v).seconds,
     "dollars_per_hour", "num"),
    ("Breakdown part", lambda v: Breakdown({"a": v}).total, "parts", "num"),
    ("Breakdown scaled", lambda v: Breakdown({"a": 1}).scaled(v).total, "factor", "num"),
    ("LMConfig n_heads", lambda v: LMConfig("x", 2, 64, v, 1, 128, "swiglu", 256, 128, 1).param_count(), "n_heads", "int"),
    ("LMConfig d_head", lambda v: LMConfig("x", 2, 64, 4, 2, 128, "swiglu", 256, 128, 1, d_head=v).head_dim,
     "d_head", "optint"),
    ("with_context", lambda v: TINY.with_context(v).context_window, "context_window", "int"),
    ("softmax_attention_cost", lambda v: softmax_attention_cost(v, 64).flops.total, "n", "int"),
    ("linear_attention_cost", lambda v: linear_attention_cost(64, v).flops.total, "head_dim", "int"),
    ("selective_scan_cost", lambda v: selective_scan_cost(v, 64).flops.total, "seq_len", "int"),
    ("vision_attention_cost", lambda v: vision_attention_cost(4, v, 16, 4, 64).flops.total, "n_images", "int"),
]


def _finite(value) -> bool:
    if isinstance(value, Breakdown):
        value = value.total
    if isinstance(value, (tuple, list)):
        return all(_finite(v) for v in value)
    return not isinstance(value, Real) or math.isfinite(value)


ACCEPTS = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
           "num": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
           "flag": lambda v: isinstance(v, bool), "name": lambda v: isinstance(v, str),
           "optint": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool))}


@pytest.mark.parametrize("label, call, arg, kind", CALLS, ids=[c[0] for c in CALLS])
@FAST
@given(value=ANY)
def test_any_input_gives_a_finite_answer_or_a_named_error(label, call, arg, kind, value):
    t0 = time.perf_counter()
    try:
        out = call(value)
    except (ValueError, TypeError, LookupError) as e:
        assert arg in str(e), f"{label}({value!r}): {type(e).__name__}: {e}"
    else:
        assert _finite(out), f"{label}({value!r}) returned {out!r}"
        assert ACCEPTS[kind](value), f"{label} accepted {type(value).__name__} {value!r}"
    assert time.perf_counter() - t0 < 1.0


@FAST
@given(n=st.integers(1, 5000), t=st.integers(0, 5000), b=st.integers(1, 512),
       peak=st.floats(1e10, 1e16), bw=st.floats(1e9, 1e14))
def test_closed_form_decode_time_equals_the_sum_over_tokens(n, t, b, peak, bw):
    # independent reference: the per-token roofline sum (what serving_estimate looped over before)
    c = Ceilings("random", peak, bw, "bf16", "hypothesis")
    lm = cost.get_lm("mistral-7b")
    f = lambda k: cost.decode_step_flops(lm, k, b).total  # noqa: E731
    by = lambda k: cost.decode_step_bytes(lm, k, b).total  # noqa: E731
    loop = sum(max(f(n + i) / peak, by(n + i) / bw) for i in range(min(t, 300)))
    got = serving.decode_seconds(lm, n, min(t, 300), b, c)
    assert got == pytest.approx(loop, rel=1e-9)
