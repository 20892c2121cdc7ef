"""vlmlab.attention: naive vs SDPA numerics, FLOPs against FlopCounterMode, the decoder layer."""
from dataclasses import replace

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from vlmlab import attention as A
from vlmlab import cost
from vlmlab.models import get_lm

TINY = replace(get_lm("llama-2-7b"), name="tiny", d_model=64, n_heads=4, n_kv_heads=4, d_ff=172)
TINY_GQA = replace(TINY, name="tiny-gqa", n_heads=8, n_kv_heads=2)


def test_uniform_attention_by_hand():
    # All-zero queries: every score is 0, the softmax is uniform, so each output row is the
    # mean of the values.
    q = torch.zeros(1, 1, 3, 2)
    k = torch.randn(1, 1, 3, 2)
    v = torch.tensor([[[[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]]]])
    out = A.naive_attention(q, k, v)
    assert torch.allclose(out, torch.tensor([3.0, 5.0]).expand(1, 1, 3, 2))
    # causal: row i averages the first i+1 values
    causal = A.naive_attention(q, k, v, causal=True)
    assert torch.allclose(causal[0, 0], torch.tensor([[1.0, 2.0], [2.0, 3.0], [3.0, 5.0]]))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kv_heads", [8, 2])
def test_every_path_agrees_on_cpu(causal, kv_heads):
    q, k, v = A.attention_inputs(2, 8, 96, 32, kv_heads=kv_heads)
    rep = 8 // kv_heads
    ref = torch.nn.functional.scaled_dot_product_attention(
        q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), is_causal=causal)
    paths = ["naive", "sdpa", *A.available_backends("cpu", "fp32", heads=8, head_dim=32, n=96, batch=2,
                                                     causal=causal, kv_heads=kv_heads)]
    for name in paths:
        out = A.attention_fn(name)(q, k, v, causal)
        assert torch.allclose(out, ref, atol=1e-5), name


def test_bf16_paths_agree_within_bf16_precision():
    q, k, v = A.attention_inputs(1, 4, 128, 64, dtype="bf16")
    ref = A.naive_attention(q.float(), k.float(), v.float())
    for name in ["naive", *A.available_backends("cpu", "bf16")]:
        out = A.attention_fn(name)(q, k, v).float()
        assert (out - ref).abs().max() < 2e-2, name


def test_cpu_backends():
    names = A.available_backends("cpu", "fp32")
    assert "math" in names and "cudnn" not in names and "efficient" not in names


def test_best_attention_picks_a_fused_backend_on_cpu():
    best = A.best_attention("cpu", "fp32", heads=2, head_dim=32, n=128, repeats=2)
    assert best.name != "math" and best.name in best.seconds
    q, k, v = A.attention_inputs(1, 2, 64, 32)
    assert torch.allclose(best(q, k, v), A.naive_attention(q, k, v), atol=1e-5)


def test_backends_for_a_decode_shape():
    # one query against 300 cached keys: causal needs equal lengths, so no backend serves it
    assert "math" in A.available_backends("cpu", "fp32", heads=2, head_dim=32, n=300, n_q=1)
    assert A.available_backends("cpu", "fp32", heads=2, head_dim=32, n=300, n_q=1, causal=True) == []
    best = A.best_attention("cpu", "fp32", heads=2, head_dim=32, n=300, n_q=1, repeats=2)
    q, k, v = A.attention_inputs(1, 2, 1, 32)[0], *A.attention_inputs(1, 2, 300, 32)[1:]
    assert best.name in best.seconds
    assert torch.allclose(best(q, k, v), A.naive_attention(q, k, v), atol=1e-5)


def test_best_attention_falls_back_to_torchs_choice_when_no_backend_runs():
    best = A.best_attention("cpu", "fp32", heads=2, head_dim=32, n=300, n_q=1, causal=True, repeats=1)
    assert best.name == "sdpa" and best.seconds == {}


def test_bad_arguments():
    q, k, v = A.attention_inputs(1, 4, 8, 16)
    with pytest.raises(ValueError, match="backend"):
        A.sdpa_attention(q, k, v, backend="xformers")
    with pytest.raises(ValueError, match="causal"):
        A.naive_attention(q[:, :, :1], k, v, causal=True)
    with pytest.raises(ValueError, match="multiple"):
        A.naive_attention(q, k[:, :3], v[:, :3])


def test_naive_flops_match_the_hand_formula():
    # Q·Kᵀ and P·V are each 2·n²·d multiply-adds per head: 4·B·H·n²·d FLOPs in all.
    b, h, n, d = 2, 4, 64, 16
    q, k, v = A.attention_inputs(b, h, n, d)
    with FlopCounterMode(display=False) as counter:
        A.naive_attention(q, k, v)
    assert counter.get_total_flops() == 4 * b * h * n * n * d == b * cost.attention_score_flops(n, n, h, d)


@pytest.mark.parametrize("lm", [TINY, TINY_GQA], ids=lambda m: m.name)
def test_decoder_layer_matches_cost_and_parameter_count(lm):
    layer = A.DecoderLayer(lm, attention="naive")
    assert sum(p.numel() for p in layer.parameters()) == lm.layer_param_count()
    n = 48
    with FlopCounterMode(display=False) as counter:
        layer(torch.randn(1, n, lm.d_model), causal=False)
    assert counter.get_total_flops() == cost.layer_prefill_flops(lm, n).total


def test_decode_step_equals_the_last_row_of_a_causal_prefill():
    layer = A.DecoderLayer(TINY_GQA, attention="naive")
    n = 17
    x = torch.randn(1, n, TINY_GQA.d_model)
    full = layer(x, causal=True)
    k_cache, v_cache = A.kv_cache(TINY_GQA, 32, dtype="fp32")
    h = layer.norm1(x[:, :-1])
    k_cache[:, :, :n - 1] = layer._heads(layer.k_proj(h), TINY_GQA.n_kv_heads)
    v_cache[:, :, :n - 1] = layer._heads(layer.v_proj(h), TINY_GQA.n_kv_heads)
    for name in ["naive", "sdpa"]:
        layer.attn = A.attention_fn(name)
        step = layer.decode(x[:, -1:], k_cache, v_cache, pos=n - 1)
        assert torch.allclose(step[:, 0], full[:, -1], atol=1e-5), name
    with pytest.raises(ValueError, match="pos"):
        layer.decode(x[:, -1:], k_cache, v_cache, pos=32)


def test_kv_cache_bytes_match_the_hand_formula():
    lm = get_lm("llama-3-8b")  # 8 KV heads of 128
    k, v = A.kv_cache(lm, 1000, batch=2, dtype="bf16")
    # K and V: 2 x batch 2 x 8 heads x 1000 tokens x 128 x 2 bytes, for one layer
    assert k.nbytes + v.nbytes == 2 * 2 * 8 * 1000 * 128 * 2
    assert (k.nbytes + v.nbytes) * lm.n_layers == cost.kv_cache_bytes(lm, 1000, batch=2, dtype="bf16")


def _matrix_passes(fn, q, k, v, causal=False):
    """Count reads and writes of score-matrix-sized tensors by the aten ops that ``fn`` runs
    (intercepted with TorchDispatchMode; views move no data and are skipped)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    size = q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2]
    passes = []

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            ptrs = {t.untyped_storage().data_ptr() for t in tree_leaves(args) if isinstance(t, torch.Tensor)}
            outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
            if not func._schema.is_mutable and all(t.untyped_storage().data_ptr() in ptrs for t in outs):
                return out  # a view of an input (view, expand, transpose, _unsafe_view...)
            big = lambda t: isinstance(t, torch.Tensor) and t.numel() == size and t.dtype != torch.bool
            n = sum(map(big, tree_leaves((args, kwargs)))) + sum(map(big, tree_leaves(out)))
            if n:
                passes.append((func.__name__, n))
            return out

    with Count():
        fn(q, k, v, causal)
    return passes


def test_naive_passes_over_the_score_matrix_match_the_operations_torch_runs():
    # independent of the table: the aten ops of naive_attention are intercepted and every read
    # or write of an n x n tensor is counted (an in-place op reads and writes: 2)
    q, k, v = A.attention_inputs(1, 2, 48, 16)
    ops = _matrix_passes(A.naive_attention, q, k, v)
    assert sum(n for _, n in ops) == sum(A.NAIVE_PASSES.values()) == 10
    assert len(ops) == len(A.NAIVE_PASSES)  # one aten op per entry, in the table's order
    assert set(A.NAIVE_SOFTMAX_PASSES) <= set(A.NAIVE_PASSES)
    # the causal mask adds one in-place pass (read and write)
    q, k, v = A.attention_inputs(1, 2, 48, 16)
    assert sum(n for _, n in _matrix_passes(A.naive_attention, q, k, v, True)) == 12
