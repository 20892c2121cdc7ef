"""Probe vlmlab's public API with bad and edge-case inputs and classify what happens (issue 11).

Each probe is one Python expression run in a worker process (imports done once) under a time
limit; the worker is restarted after a hang or a crash. Outcomes:

  hang      the call ran past HANG_S seconds (killed)
  slow      it finished, but took more than SLOW_S seconds
  alloc     it tried to allocate gigabytes with no check (MemoryError / allocator failure under an
            address-space limit of a few GiB above what the worker already maps)
  silent    it returned a value where it should have refused (or returned NaN/inf)
  unclear   it raised, but not ValueError/TypeError/LookupError, or the message does not name the
            argument
  clear     it raised ValueError/TypeError/LookupError whose message names the argument
  ok        a valid edge input returned a finite value

Run:  .venv/bin/python tools/probe_inputs.py [--json out.json] [--only SUBSTRING] [-v]
      [--compare before.json]   (a table of input class x outcome, before -> after)

The "before" of issue 11 was taken on the committed tree before the fix (``git archive HEAD
vlmlab | tar -x -C /tmp/orig`` and ``PYTHONPATH=/tmp/orig``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter

HANG_S, SLOW_S = 5.0, 1.0
NAN, INF = "float('nan')", "float('inf')"

SETUP = r"""
import math, warnings, numpy as np, torch
warnings.simplefilter('ignore')
torch.set_num_threads(1)
import vlmlab
from vlmlab import errors, units, tokens, models, cost, budget, roofline, serving, device, bench
from vlmlab import attention, connectors, lm, multiway, granularity, subquadratic
from vlmlab.models import LMConfig, get_lm, from_hf_config
from vlmlab.units import Breakdown
from vlmlab.roofline import Ceilings, DATASHEETS
from vlmlab.lm import DecoderLM
from vlmlab.multiway import MultiwayConfig, MultiwayTransformer, MultiwayBlock
from vlmlab.granularity import load_image, tome_merge, prune_by_variance, neighbour_cosine
from vlmlab.subquadratic import linear_attention, selective_scan
from vlmlab.subquadratic.cost import softmax_attention_cost, linear_attention_cost, selective_scan_cost, vision_attention_cost
TINY = LMConfig('tiny', 2, 64, 4, 2, 128, 'swiglu', 256, 128, 1)
H100 = DATASHEETS['H100-SXM']
def C(name, **kw):
    small = dict(mlp=dict(d_in=32, d_out=64), qformer=dict(d_in=32, d_out=64, d_model=32, n_layers=2, n_heads=4, d_ff=64),
                 perceiver=dict(d_model=64, d_in=32, n_heads=4, head_dim=16, n_kv_heads=1, depth=1),
                 xattn=dict(d_model=64, d_visual=32, n_heads=4), avgpool=dict(d_in=32, d_out=64, k=2),
                 cabstractor=dict(d_in=32, d_out=64, k=2), wico=dict(d_in=32, d_out=64), pixel_shuffle=dict(d_in=32, d_out=64),
                 fuyu=dict(d_out=64, patch=4))[name]
    small.update(kw)
    return connectors.build(name, **small)
def T(*shape, dtype=torch.float32):
    return torch.randn(*shape).to(dtype)
TLM = DecoderLM(TINY)
XLM = DecoderLM(TINY, xattn_every=1, d_visual=32)
MIXTRAL = dict(model_type='mixtral', hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=8, intermediate_size=14336, vocab_size=32000, max_position_embeddings=32768,
               num_local_experts=8, num_experts_per_tok=2, hidden_act='silu', tie_word_embeddings=False)
LLAMA = dict(model_type='llama', hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
             num_key_value_heads=32, intermediate_size=11008, vocab_size=32000, max_position_embeddings=4096)
NOWIN = {k: v for k, v in LLAMA.items() if k != 'max_position_embeddings'}
MW = MultiwayConfig('mw', 2, 32, 4, 64, n_vl_layers=1, patch=4, image_px=16)
MWT = MultiwayTransformer(MW)
"""

WORKER = r"""
import json, math, resource, sys, time, traceback
exec(compile(SETUP, '<setup>', 'exec'))
with open('/proc/self/status') as f:
    vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith('VmSize'))
resource.setrlimit(resource.RLIMIT_AS, (vm + 3 * 2**30, resource.RLIM_INFINITY))
print('READY', flush=True)
for line in sys.stdin:
    expr = json.loads(line)
    t0 = time.perf_counter()
    try:
        val = eval(expr)
        out = {'raised': None, 'value': repr(val)[:200]}
        try:
            bad = [float(x) for x in ([val] if isinstance(val, (int, float)) else [])]
            out['finite'] = all(math.isfinite(x) for x in bad)
        except Exception:
            out['finite'] = True
    except BaseException as e:
        msg = str(e)
        out = {'raised': type(e).__name__, 'mro': [c.__name__ for c in type(e).__mro__], 'msg': msg[:400],
               'memory': isinstance(e, MemoryError) or "can't allocate memory" in msg
                         or 'DefaultCPUAllocator' in msg or 'out of memory' in msg.lower()}
    out['s'] = time.perf_counter() - t0
    print(json.dumps(out), flush=True)
"""


def probes():
    """(group, expression, expect, argument): expect 'refuse' (must raise naming ``argument``) or 'ok'."""
    P = []

    def add(group, expr, expect="refuse", arg=None):
        P.append((group, expr, expect, arg))

    def numbers(group, template, arg, *, zero_ok=False, neg_ok=False, huge_ok=True, frac_ok=False,
                huge="10**12", skip=()):
        cases = {"zero": ("0", zero_ok), "negative": ("-3", neg_ok), "float": ("2.5", frac_ok),
                 "nan": (NAN, False), "inf": (INF, False), "string": ("'4'", False),
                 "none": ("None", False), "bool": ("True", False), "huge": (huge, huge_ok)}
        for cls, (val, ok) in cases.items():
            if cls in skip:
                continue
            add(cls, template.format(val), "ok" if ok else "refuse", arg)

    # tokens
    numbers("tokens", "tokens.visual_tokens('llava-1.5', {}, 448)", "height")
    numbers("tokens", "tokens.visual_tokens('qwen2-vl', 448, 448, frames={})", "frames")
    numbers("tokens", "tokens.visual_tokens('qwen2-vl', 448, 448, max_pixels={})", "max_pixels")
    add("huge", "tokens.visual_tokens('internvl-1.5', 448, 448, max_tiles=10**6)", "refuse", "max_tiles")
    add("huge", "tokens.visual_tokens('internvl-1.5', 448, 448, max_tiles=5000)", "refuse", "max_tiles")
    add("huge", "tokens.visual_tokens('deepseek-ocr-gundam', 2000, 3000, max_tiles=10**6)", "refuse", "max_tiles")
    add("ok", "tokens.visual_tokens('internvl-1.5', 448, 896, max_tiles=40)", "ok")
    add("string", "tokens.visual_tokens('idefics2', 448, 448, image_splitting='no')", "refuse", "image_splitting")
    add("unknown", "tokens.visual_tokens('llava1.6', 448, 448)", "refuse", "llava")
    add("types", "tokens.visual_tokens(None, 448, 448)", "refuse", "model")
    add("unknown", "tokens.visual_tokens('llava-1.5', 448, 448, foo=1)", "refuse", "foo")
    add("unknown", "tokens.list_models('video')", "refuse", "kind")
    add("huge", "tokens.visual_tokens('qwen2-vl', 10**9, 10**9)", "ok")
    add("huge", "tokens.visual_tokens('pixtral-12b', 10**9, 10**9)", "ok")
    # models
    add("unknown", "get_lm('llama2')", "refuse", "llama")
    add("types", "get_lm(7)", "refuse", "language model")
    numbers("models", "LMConfig('x', {}, 64, 4, 2, 128, 'swiglu', 256, 128, 1)", "n_layers")
    add("unknown", "LMConfig('x', 2, 64, 4, 2, 128, 'relu', 256, 128, 1)", "refuse", "ffn")
    add("string", "LMConfig('x', 2, 64, 4, 2, 128, 'swiglu', 256, 128, 1, qkv_bias='no')", "refuse", "qkv_bias")
    add("string", "LMConfig('x', 2, 64, 4, 2, 128, 'swiglu', 256, 128, 1, tied_embeddings='no')", "refuse", "tied_embeddings")
    add("zero", "LMConfig('x', 2, 64, 4, 2, 128, 'swiglu', 256, 128, 1, d_head=0)", "refuse", "d_head")
    add("types", "LMConfig(5, 2, 64, 4, 2, 128, 'swiglu', 256, 128, 1)", "refuse", "name")
    numbers("models", "TINY.with_context({})", "context_window")
    add("moe", "round(from_hf_config(MIXTRAL).params / 1e9, 1)", "ok")
    add("moe", "from_hf_config(MIXTRAL).params > 40e9 or (_ for _ in ()).throw(AssertionError('experts ignored'))", "ok")
    add("missing", "from_hf_config(NOWIN)", "refuse", "max_position_embeddings")
    add("missing", "from_hf_config({'hidden_size': 64})", "refuse", "num_hidden_layers")
    add("types", "from_hf_config('llama')", "refuse", "cfg")
    add("types", "from_hf_config(None)", "refuse", "cfg")
    add("zero", "from_hf_config(LLAMA, context_window=0)", "refuse", "context_window")
    add("string", "from_hf_config(LLAMA, ffn='relu')", "refuse", "ffn")
    add("zero", "from_hf_config({**LLAMA, 'num_attention_heads': 0})", "refuse", "num_attention_heads")
    add("moe", "from_hf_config({**LLAMA, 'model_type': 'mamba', 'num_local_experts': 0})", "refuse", "num_local_experts")
    # cost
    numbers("cost", "cost.layer_prefill_flops(TINY, {})", "n_tokens", huge_ok=True)
    numbers("cost", "cost.decode_step_flops(TINY, {})", "context", zero_ok=True)
    numbers("cost", "cost.kv_cache_bytes(TINY, 100, batch={})", "batch")
    numbers("cost", "cost.attention_score_flops({}, 8, 4, 16)", "n_q")
    numbers("cost", "cost.attention_matrix_bytes(8, 8, {})", "n_heads")
    add("string", "cost.layer_prefill_flops(TINY, 8, causal='no')", "refuse", "causal")
    add("string", "cost.model_prefill_flops(TINY, 8, lm_head='no')", "refuse", "lm_head")
    add("unknown", "cost.kv_cache_bytes(TINY, 8, dtype='fp64')", "refuse", "dtype")
    add("types", "cost.kv_cache_bytes(None, 8)", "refuse", "lm")
    add("unknown", "cost.kv_cache_bytes('llama-9', 8)", "refuse", "llama")
    add("types", "cost.weight_bytes(TINY, dtype=None)", "refuse", "dtype")
    add("types", "cost.weight_bytes(TINY, dtype=3)", "refuse", "dtype")
    numbers("cost", "cost.lm_head_flops(TINY, {})", "n_tokens")
    numbers("cost", "cost.prefill_bytes(TINY, {})", "n_tokens")
    numbers("cost", "cost.decode_step_bytes(TINY, 8, batch={})", "batch")
    # units
    add("types", "Breakdown({'a': 1}) + 5", "refuse", "other")
    add("types", "Breakdown({'a': 1}) + None", "refuse", "other")
    add("nan", "Breakdown({'a': float('nan')})", "refuse", "parts")
    add("types", "Breakdown({'a': 'x'})", "refuse", "parts")
    add("types", "Breakdown([1, 2])", "refuse", "parts")
    add("nan", "Breakdown({'a': 1}).scaled(float('nan'))", "refuse", "factor")
    add("string", "Breakdown({'a': 1}).scaled('2')", "refuse", "factor")
    add("unknown", "Breakdown({'a': 1})['b']", "refuse", "b")
    add("unknown", "units.dtype_bytes('fp64')", "refuse", "dtype")
    add("types", "units.dtype_bytes(None)", "refuse", "dtype")
    for f in ("fmt_bytes", "fmt_flops", "fmt_seconds", "fmt_rate", "fmt_bandwidth", "fmt_ratio", "fmt_percent"):
        add("string", f"units.{f}('12')", "refuse", "")
        add("none", f"units.{f}(None)", "refuse", "")
    add("nan", "units.fmt_count(float('nan'))", "ok")
    # budget
    numbers("budget", "budget.images_that_fit({}, 576)", "context_window")
    numbers("budget", "budget.images_that_fit(4096, {})", "tokens_per_image")
    numbers("budget", "budget.text_tokens_left(4096, {}, 576)", "images", zero_ok=True, huge_ok=False)
    numbers("budget", "budget.dialogue_turns(4096, 576, {})", "tokens_per_turn")
    # roofline
    numbers("roofline", "roofline.predict_seconds({}, 1e9, H100)", "flops", zero_ok=True, frac_ok=True)
    numbers("roofline", "roofline.predict_seconds(1e9, {}, H100)", "bytes_moved", zero_ok=True, frac_ok=True)
    add("types", "roofline.predict_seconds(1e9, 1e9, None)", "refuse", "ceilings")
    add("types", "roofline.predict_seconds(1e9, 1e9, 'H100')", "refuse", "ceilings")
    numbers("roofline", "roofline.arithmetic_intensity({}, 1e9)", "flops", zero_ok=True, frac_ok=True)
    numbers("roofline", "roofline.arithmetic_intensity(1e9, {})", "bytes_moved", frac_ok=True)
    numbers("roofline", "Ceilings('x', {}, 1e12, 'bf16', 's')", "matmul_flops_per_s", frac_ok=True)
    numbers("roofline", "Ceilings('x', 1e12, {}, 'bf16', 's')", "bandwidth_bytes_per_s", frac_ok=True)
    add("zero", "roofline.predict_seconds(1e9, 1e9, Ceilings('x', 1e12, 0, 'bf16', 's'))", "refuse", "bandwidth")
    add("zero", "roofline.ridge_point(Ceilings('x', 1e12, 0, 'bf16', 's'))", "refuse", "bandwidth")
    add("unknown", "roofline.datasheet_for('NVIDIA GH200 480GB')", "ok")
    add("unknown", "roofline.datasheet_for('NVIDIA GH200 480GB') is None or (_ for _ in ()).throw(AssertionError('GH200 -> H200 row'))", "ok")
    add("unknown", "roofline.datasheet_for('NVIDIA H200')", "ok")
    add("types", "roofline.datasheet_for(None)", "refuse", "device_name")
    add("unknown", "roofline.get_datasheet('H300')", "refuse", "H300")
    add("unknown", "roofline.fast_dtype('tpu')", "refuse", "device")
    add("types", "roofline.fast_dtype('cuda', capability=(8.0, 0))", "refuse", "capability")
    add("device", "roofline.fast_dtype('cuda')", "refuse", "cuda")
    add("nan", "roofline.measure_ceilings('cpu', seconds=float('nan'))", "refuse", "seconds")
    add("unknown", "roofline.measure_ceilings('cpu', dtype='fp64', seconds=0.1)", "refuse", "dtype")
    add("device", "roofline.measure_ceilings('mps', seconds=0.1)", "refuse", "mps")
    add("device", "roofline.measure_ceilings('cuda', seconds=0.1)", "refuse", "cuda")
    add("zero", "roofline.measure_ceilings('cpu', seconds=0.2, matmul_n=0)", "refuse", "matmul_n")
    add("huge", "roofline.measure_ceilings('cpu', seconds=0.2, copy_bytes=10**12)", "refuse", "copy_bytes")
    add("huge", "roofline.measure_ceilings('cpu', seconds=0.2, matmul_n=10**6)", "refuse", "matmul_n")
    add("types", "roofline.roofline_figure(None)", "refuse", "ceilings")
    # serving
    numbers("serving", "serving.memory_per_sequence(TINY, {})", "tokens")
    numbers("serving", "serving.memory_per_sequence(TINY, 100, new_tokens={})", "new_tokens", zero_ok=True)
    add("string", "serving.memory_per_sequence(TINY, 100, activations='no')", "refuse", "activations")
    add("unknown", "serving.memory_per_sequence(TINY, 100, attention='sparse')", "refuse", "attention")
    numbers("serving", "serving.max_batch(TINY, 100, {})", "memory_bytes", frac_ok=True, huge="1e300")
    add("nan", "serving.max_batch(TINY, 100, 1e9, reserve_bytes=float('nan'))", "refuse", "reserve_bytes")
    add("string", "serving.max_batch(TINY, 100, 1e9, reserve_bytes='1')", "refuse", "reserve_bytes")
    add("huge", "serving.serving_estimate('llama-2-7b', 576, 10**6, 8, H100, 2.0).seconds", "ok")
    add("huge", "serving.serving_estimate('llama-2-7b', 576, 10**8, 8, H100, 2.0).seconds", "ok")
    add("huge", "len(serving.batch_flops_bytes('llama-2-7b', 576, 10**7, 8)[2])", "refuse", "new_tokens")
    numbers("serving", "serving.serving_estimate(TINY, 100, 10, 4, H100, {}).seconds", "dollars_per_hour", frac_ok=True, huge="1e300")
    add("zero", "serving.serving_estimate(TINY, 100, 0, 4, H100, 2.0).generated_tokens_per_s", "ok")
    add("types", "serving.serving_estimate(TINY, 100, 10, 4, None, 2.0)", "refuse", "ceilings")
    numbers("serving", "serving.grow_batch(lambda b: None, is_oom=lambda e: False, limit={}).max_batch", "limit", huge="2**40")
    add("types", "serving.grow_batch(lambda b: None, is_oom=None)", "refuse", "is_oom")
    # device
    add("device", "device.pick_device('mps')", "refuse", "mps")
    add("device", "device.pick_device('cuda')", "refuse", "cuda")
    add("device", "device.pick_device('tpu')", "refuse", "tpu")
    add("types", "device.pick_device(3)", "refuse", "prefer")
    add("device", "device.provenance('mps').device", "refuse", "mps")
    add("device", "device.provenance('cuda')", "refuse", "cuda")
    add("device", "device.provenance('gpu')", "refuse", "gpu")
    add("unknown", "device.provenance('cpu', scale='huge').scale", "refuse", "scale")
    add("unknown", "device.pick_scale('tpu')", "refuse", "device")
    add("types", "device.pick_scale(None)", "refuse", "device")
    # bench
    add("device", "bench.time_fn(lambda: 1, device='mps')", "refuse", "mps")
    add("device", "bench.time_fn(lambda: 1, device='gpu')", "refuse", "gpu")
    add("types", "bench.time_fn(None, device='cpu')", "refuse", "fn")
    numbers("bench", "bench.time_fn(lambda: 1, device='cpu', warmup={}).repeats", "warmup", zero_ok=True, huge_ok=False, huge="10**9")
    numbers("bench", "bench.time_fn(lambda: 1, device='cpu', repeats={}).repeats", "repeats", huge_ok=False, huge="10**9", skip=("none",))
    add("nan", "bench.time_fn(lambda: 1, device='cpu', budget_s=float('nan'))", "refuse", "budget_s")
    add("types", "bench.sweep(lambda n: (lambda: n), [1, 'a'], device='cpu')", "refuse", "sizes")
    add("types", "bench.sweep(lambda n: (lambda: n), None, device='cpu')", "refuse", "sizes")
    add("device", "bench.measure(lambda: 1, device='cuda')", "refuse", "cuda")
    # attention
    numbers("attention", "attention.attention_inputs({}, 2, 8, 4)[0].shape", "batch", huge="10**6")
    numbers("attention", "attention.attention_inputs(1, 2, 8, 4, n_kv={})[1].shape", "n_kv", huge_ok=False, huge="10**9", skip=("none",))
    numbers("attention", "attention.attention_inputs(1, 2, 8, 4, kv_heads={})[1].shape", "kv_heads", huge_ok=False, huge="10**9", skip=("none",))
    add("device", "attention.attention_inputs(1, 2, 8, 4, device='cuda')", "refuse", "cuda")
    add("device", "attention.attention_inputs(1, 2, 8, 4, device='mps')", "refuse", "mps")
    add("unknown", "attention.attention_inputs(1, 2, 8, 4, dtype='fp64')", "refuse", "dtype")
    add("shape", "attention.naive_attention(T(2, 8, 4), T(2, 8, 4), T(2, 8, 4))", "refuse", "q")
    add("shape", "attention.naive_attention(T(1, 2, 8, 4), T(1, 2, 8, 5), T(1, 2, 8, 5))", "refuse", "head_dim")
    add("shape", "attention.sdpa_attention(T(1, 3, 8, 4), T(1, 2, 8, 4), T(1, 2, 8, 4))", "refuse", "heads")
    add("string", "attention.naive_attention(T(1, 2, 8, 4), T(1, 2, 8, 4), T(1, 2, 8, 4), causal='no')", "refuse", "causal")
    add("unknown", "attention.sdpa_attention(T(1, 2, 8, 4), T(1, 2, 8, 4), T(1, 2, 8, 4), backend='fast')", "refuse", "backend")
    add("types", "attention.naive_attention([1], [1], [1])", "refuse", "q")
    add("huge", "attention.kv_cache(get_lm('llama-2-7b'), 10**8)", "refuse", "GiB")
    add("huge", "attention.attention_inputs(64, 32, 10**6, 128)", "refuse", "GiB")
    add("huge", "attention.DecoderLayer(get_lm('llama-2-7b'), dtype='fp32')", "ok")
    add("types", "attention.DecoderLayer('llama-2-7b', device='meta')", "ok")
    add("types", "attention.DecoderLayer(None)", "refuse", "lm")
    add("shape", "attention.DecoderLayer(TINY)(T(8, 64))", "refuse", "x")
    add("shape", "attention.DecoderLayer(TINY)(T(1, 8, 32))", "refuse", "d_model")
    add("zero", "attention.available_backends('cpu', heads=0)", "refuse", "heads")
    add("device", "attention.available_backends('cuda')", "refuse", "cuda")
    # connectors
    for name, d_in in (("mlp", 32), ("qformer", 32), ("perceiver", 32), ("avgpool", 32), ("cabstractor", 32),
                       ("wico", 32), ("pixel_shuffle", 32)):
        add("shape", f"C('{name}')(T(16, {d_in}))", "refuse", "batch")
        add("shape", f"C('{name}')(T(1, 16, {d_in + 1}))", "refuse", "d_in")
        add("shape", f"C('{name}')(T(1, 0, {d_in}))", "refuse", "tokens")
        add("dtype", f"C('{name}')(torch.ones(1, 16, {d_in}, dtype=torch.long))", "refuse", "dtype")
        add("types", f"C('{name}')(np.zeros((1, 16, {d_in})))", "refuse", "features")
        numbers("connectors", f"C('{name}').output_tokens({{}})", "n_in", skip=("float",))
        add("zero", f"C('{name}').flops(0)", "refuse", "n_in")
    add("ok", "C('mlp')(T(1, 16, 32)).shape", "ok")
    add("zero", "C('mlp', d_in=0)", "refuse", "d_in")
    add("float", "C('mlp', d_in=32.0)", "refuse", "d_in")
    add("string", "C('mlp', bias='no')", "refuse", "bias")
    add("zero", "C('qformer', n_heads=0)", "refuse", "n_heads")
    add("zero", "C('qformer', d_out=0)", "refuse", "d_out")
    add("zero", "C('perceiver', d_in=0)", "refuse", "d_in")
    add("zero", "C('xattn', n_heads=0)", "refuse", "n_heads")
    add("zero", "C('xattn', head_dim=0)", "refuse", "head_dim")
    add("zero", "C('xattn', n_kv_heads=0)", "refuse", "n_kv_heads")
    add("zero", "C('cabstractor', d_hidden=0)", "refuse", "d_hidden")
    add("negative", "C('fuyu', patch=-1)", "refuse", "patch")
    add("zero", "C('fuyu', patch=0)", "refuse", "patch")
    add("huge", "C('avgpool', k=8)(T(1, 16, 32))", "refuse", "k")
    add("huge", "C('cabstractor', k=8)(T(1, 16, 32))", "refuse", "k")
    add("huge", "C('avgpool', k=8).output_tokens(16)", "refuse", "k")
    add("shape", "C('xattn')(T(1, 4, 64), visual=T(1, 0, 32))", "refuse", "visual")
    add("shape", "C('xattn')(T(1, 4, 64), visual=T(1, 5, 33))", "refuse", "d_visual")
    add("shape", "C('xattn')(T(1, 4, 63), visual=T(1, 5, 32))", "refuse", "d_model")
    add("shape", "C('xattn')(T(4, 64), visual=T(1, 5, 32))", "refuse", "x")
    add("shape", "C('fuyu')(T(1, 3, 10, 8))", "refuse", "pixels")
    add("shape", "C('fuyu')(T(1, 16, 47))", "refuse", "d_in")
    add("shape", "C('fuyu')(T(16, 48))", "refuse", "batch")
    add("shape", "C('fuyu')(T(1, 3, 0, 8))", "refuse", "pixels")
    add("unknown", "connectors.build('mlp2')", "refuse", "mlp")
    add("unknown", "connectors.build('mlp', d_inn=3)", "refuse", "d_inn")
    add("unknown", "C('perceiver', style='x')", "refuse", "style")
    # lm
    add("huge", "DecoderLM(get_lm('llama-2-7b'))", "refuse", "GiB")
    add("huge", "DecoderLM(get_lm('llama-3.1-8b'), n_layers=4)", "refuse", "GiB")
    add("huge", "TLM.prefill(torch.zeros(1, 4, dtype=torch.long), max_new_tokens=10**9)", "refuse", "max_new_tokens")
    add("huge", "TLM.prefill(torch.zeros(1, 4, dtype=torch.long), max_new_tokens=10**6)", "refuse", "max_new_tokens")
    add("context", "TLM(torch.zeros(1, 200, dtype=torch.long))", "refuse", "context")
    add("context", "TLM.prefill(torch.zeros(1, 100, dtype=torch.long), max_new_tokens=100)", "refuse", "context")
    add("context", "TLM.prefill(torch.zeros(1, 4, dtype=torch.long), visual=T(1, 3, 64))", "refuse", "visual")
    add("context", "TLM(torch.zeros(1, 4, dtype=torch.long), visual=T(1, 3, 64))", "refuse", "visual")
    add("shape", "TLM(torch.zeros(4, dtype=torch.long))", "refuse", "input_ids")
    add("dtype", "TLM(torch.zeros(1, 4))", "refuse", "input_ids")
    add("shape", "TLM(torch.full((1, 4), 300))", "refuse", "vocab")
    add("shape", "TLM(inputs_embeds=T(1, 4, 63))", "refuse", "inputs_embeds")
    add("shape", "TLM(inputs_embeds=T(4, 64))", "refuse", "inputs_embeds")
    add("shape", "TLM(inputs_embeds=T(1, 0, 64))", "refuse", "inputs_embeds")
    add("shape", "XLM(torch.zeros(1, 4, dtype=torch.long), visual=T(1, 0, 32))", "refuse", "visual")
    add("shape", "XLM(torch.zeros(1, 4, dtype=torch.long), visual=T(1, 3, 31))", "refuse", "visual")
    add("shape", "XLM(torch.zeros(1, 4, dtype=torch.long))", "refuse", "visual")
    add("zero", "DecoderLM(TINY, n_layers=0)", "refuse", "n_layers")
    add("string", "DecoderLM(TINY, n_layers='2')", "refuse", "n_layers")
    add("negative", "DecoderLM(TINY, xattn_every=-1)", "refuse", "xattn_every")
    add("zero", "DecoderLM(TINY, xattn_every=1, d_visual=0)", "refuse", "d_visual")
    add("nan", "DecoderLM(TINY, rope_theta=float('nan'))", "refuse", "rope_theta")
    add("zero", "DecoderLM(TINY, rope_theta=0)", "refuse", "rope_theta")
    add("types", "DecoderLM(None)", "refuse", "cfg")
    add("types", "DecoderLM('tiny')", "refuse", "tiny")
    add("shape", "TLM.decode_step(torch.zeros(2, dtype=torch.long), TLM.prefill(torch.zeros(1, 4, dtype=torch.long))[1])", "refuse", "batch")
    add("device", "lm.allocate_on('mps').__enter__()", "refuse", "mps")
    add("types", "lm.allocate_on('cpu', 'fp16').__enter__()", "refuse", "dtype")
    # multiway
    numbers("multiway", "MultiwayConfig('m', {}, 32, 4, 64)", "n_layers")
    add("shape", "MWT(vision=T(1, 4, 31))", "refuse", "d_model")
    add("shape", "MWT(vision=T(4, 32))", "refuse", "vision")
    add("shape", "MWT(vision=T(1, 0, 32))", "refuse", "vision")
    add("shape", "MWT(vision=T(1, 4, 32), text=T(2, 3, 32))", "refuse", "batch")
    add("dtype", "MWT(vision=torch.ones(1, 4, 32, dtype=torch.long))", "refuse", "dtype")
    add("negative", "MWT.blocks[0](T(1, 4, 32), n_vision=-1)", "refuse", "n_vision")
    add("huge", "MWT.blocks[0](T(1, 4, 32), n_vision=9)", "refuse", "n_vision")
    add("zero", "MWT.flops(0, 0)", "refuse", "n_vision")
    add("negative", "MWT.flops(-1, 4)", "refuse", "n_vision")
    # granularity
    add("huge", "load_image('photo', 20000)", "refuse", "size_px")
    add("huge", "load_image('photo', 10**6)", "refuse", "size_px")
    numbers("granularity", "load_image('terrain', {}).size_px", "size_px", huge_ok=False, huge="10**6")
    add("unknown", "load_image('cat')", "refuse", "cat")
    add("zero", "tome_merge(np.random.rand(16, 12), 0)", "refuse", "budget")
    add("huge", "tome_merge(np.random.rand(16, 12), 17)", "refuse", "budget")
    add("string", "tome_merge(np.random.rand(16, 12), '4')", "refuse", "budget")
    add("shape", "tome_merge(np.random.rand(16), 4)", "refuse", "patches")
    add("nan", "tome_merge(np.full((16, 12), np.nan), 4)", "refuse", "patches")
    add("zero", "tome_merge(np.random.rand(16, 12), 4, layers=0)", "refuse", "layers")
    add("shape", "prune_by_variance(np.random.rand(16), 4)", "refuse", "patches")
    add("types", "prune_by_variance([[1, 2]], 1)", "refuse", "patches")
    add("shape", "neighbour_cosine(np.random.rand(16, 4), (3, 3))", "refuse", "grid")
    add("zero", "neighbour_cosine(np.random.rand(16, 4), (0, 16))", "refuse", "grid")
    add("zero", "granularity.patchify(np.random.rand(28, 28, 3), 0)", "refuse", "patch_px")
    add("huge", "granularity.patchify(np.random.rand(28, 28, 3), 30)", "refuse", "patch_px")
    add("shape", "granularity.patchify(np.random.rand(28, 28), 14)", "refuse", "pixels")
    # subquadratic
    add("shape", "linear_attention(T(8, 4), T(8, 4), T(8, 4))", "refuse", "q")
    add("unknown", "linear_attention(T(1, 1, 8, 4), T(1, 1, 8, 4), T(1, 1, 8, 4), form='fast')", "refuse", "form")
    add("zero", "linear_attention(T(1, 1, 8, 4), T(1, 1, 8, 4), T(1, 1, 8, 4), form='chunked', chunk=0)", "refuse", "chunk")
    add("nan", "linear_attention(T(1, 1, 8, 4), T(1, 1, 8, 4), T(1, 1, 8, 4), eps=float('nan'))", "refuse", "eps")
    numbers("subquadratic", "softmax_attention_cost({}, 64).flops.total", "n")
    numbers("subquadratic", "linear_attention_cost(64, {}).flops.total", "head_dim")
    numbers("subquadratic", "selective_scan_cost({}, 64).flops.total", "seq_len")
    add("negative", "vision_attention_cost(-5, 2, 10, 3, 64)", "refuse", "text_before")
    add("string", "vision_attention_cost(5, 2, 10, 3, 64, kernel='sparse')", "refuse", "kernel")
    add("string", "softmax_attention_cost(8, 64, causal='no')", "refuse", "causal")
    add("zero", "vision_attention_cost(0, 0, 10, 0, 64)", "refuse", "")
    add("shape", "selective_scan(T(1, 8, 4), T(1, 8, 4), -torch.ones(4, 2), T(1, 8, 2), T(1, 8, 3))", "refuse", "C")
    add("shape", "selective_scan(T(8, 4), T(8, 4), -torch.ones(4, 2), T(8, 2), T(8, 2))", "refuse", "x")
    # errors helpers themselves
    add("types", "errors.positive_int('n', '3')", "refuse", "n")
    add("nan", "errors.positive_number('x', float('nan'))", "refuse", "x")
    return P


def classify(expect, arg, res) -> str:
    if res is None:
        return "hang"
    if res.get("crash"):
        return "unclear"
    if res["raised"] is None:
        if res["s"] > SLOW_S:
            return "slow"
        if expect == "refuse" or not res.get("finite", True):
            return "silent"
        return "ok"
    if res.get("memory") and "GiB free" not in res["msg"]:  # refused before allocating: checked
        return "alloc"
    if res["s"] > SLOW_S:
        return "slow"
    good_type = any(c in res["mro"] for c in ("ValueError", "TypeError", "LookupError"))
    if expect == "ok":
        return "unclear" if not good_type else "refused-valid"
    names = not arg or arg.lower() in res["msg"].lower()
    return "clear" if good_type and names else "unclear"


class Worker:
    def __init__(self):
        self.start()

    def start(self):
        code = f"SETUP = {SETUP!r}\n" + WORKER
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "VLMLAB_SCALE": "", "VLMLAB_DEVICE": ""}
        env.pop("VLMLAB_SCALE"), env.pop("VLMLAB_DEVICE")
        self.p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, bufsize=1, env=env)
        line = self.p.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError("probe worker failed to start")

    def run(self, expr):
        import select

        self.p.stdin.write(json.dumps(expr) + "\n")
        self.p.stdin.flush()
        ready, _, _ = select.select([self.p.stdout], [], [], HANG_S)
        if not ready:
            self.p.kill()
            self.p.wait()
            self.start()
            return None
        line = self.p.stdout.readline()
        if not line:  # the worker died (segfault, abort)
            self.p.wait()
            self.start()
            return {"crash": True, "raised": "crash", "msg": "", "s": 0}
        return json.loads(line)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="write every probe and its outcome here")
    ap.add_argument("--only", help="run only probes whose expression contains this")
    ap.add_argument("-v", action="store_true", help="print every non-ok/clear outcome")
    ap.add_argument("--compare", metavar="BEFORE_JSON", help="print a table of input class x outcome: "
                    "before (from this file) -> after (this run)")
    args = ap.parse_args(argv)
    ps = [p for p in probes() if not args.only or args.only in p[1]]
    w = Worker()
    rows, counts = [], Counter()
    t0 = time.time()
    for group, expr, expect, arg in ps:
        res = w.run(expr)
        outcome = classify(expect, arg, res)
        counts[outcome] += 1
        rows.append({"group": group, "expr": expr, "expect": expect, "arg": arg, "outcome": outcome, "result": res})
        if args.v and outcome not in ("ok", "clear"):
            detail = "" if res is None else (res.get("value") if res.get("raised") is None
                                             else f"{res['raised']}: {res.get('msg', '')[:150]}")
            print(f"{outcome:8} {expr}\n         -> {detail}")
    w.p.kill()
    print(f"\n{len(ps)} probes in {time.time() - t0:.0f} s")
    for k in ("hang", "slow", "alloc", "silent", "unclear", "refused-valid", "clear", "ok"):
        print(f"  {k:14} {counts[k]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"counts": counts, "rows": rows}, f, indent=1)
    if args.compare:
        with open(args.compare) as f:
            print(table(json.load(f)["rows"], rows))
    return counts


OUTCOMES = ("hang", "slow", "alloc", "silent", "unclear", "refused-valid", "clear", "ok")


def table(before, after) -> str:
    """Markdown table: one row per input class, 'before -> after' counts per outcome."""
    def tally(rows):
        t = {}
        for r in rows:
            t.setdefault(r["group"], Counter())[r["outcome"]] += 1
        return t

    b, a = tally(before), tally(after)
    lines = ["| input class | probes | " + " | ".join(OUTCOMES) + " |",
             "|---|---|" + "---|" * len(OUTCOMES)]
    for g in sorted(set(b) | set(a)):
        nb, na = sum(b.get(g, Counter()).values()), sum(a.get(g, Counter()).values())
        cells = [f"{b.get(g, Counter())[o]} → {a.get(g, Counter())[o]}" for o in OUTCOMES]
        lines.append(f"| {g} | {nb} → {na} | " + " | ".join(cells) + " |")
    tb, ta = Counter(r["outcome"] for r in before), Counter(r["outcome"] for r in after)
    lines.append(f"| **all** | {len(before)} → {len(after)} | "
                 + " | ".join(f"{tb[o]} → {ta[o]}" for o in OUTCOMES) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
