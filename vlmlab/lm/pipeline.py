"""Every fusion strategy on the same image: connector + LM, priced on paper and measured (chapter 5).

A :class:`Strategy` names a connector and its options; :func:`build_vlm` joins it to a
:class:`~vlmlab.lm.DecoderLM`; :func:`predict` gives tokens, parameters, FLOPs, bytes and KV-cache
size from :mod:`vlmlab.cost` and the connector's own counts; :func:`measure_vlm` times prefill and
one decode step and reads the KV cache that prefill really filled. Fuyu's strategy hands the LM
its patches *and* one newline token per patch row, as Fuyu's processor does, so its token count
agrees with :func:`vlmlab.tokens.visual_tokens` ('fuyu-8b').
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from .. import connectors as C
from .. import cost
from ..serving import memory_per_sequence
from ..errors import non_negative_int, positive_int
from ..units import dtype_bytes
from .model import DecoderLM, allocate_on


@dataclass(frozen=True)
class Strategy:
    """A fusion strategy: label, connector name, its options, the bibtex key of its source."""

    label: str
    connector: str
    options: dict = field(default_factory=dict)
    cite: str = ""


#: The strategies chapter 5 compares, in the order of its table.
STRATEGIES = (
    Strategy("LLaVA-1.5 MLP", "mlp", {}, "liu2024llava15"),
    Strategy("InternVL pixel shuffle", "pixel_shuffle", {}, "chen2024internvl15"),
    # WiCo's released projector: WiCo(in_size=(24, 24), out_size=(12, 12)), i.e. 2 x 2 windows
    Strategy("WiCo 2x2 windows", "wico", {"w": 2}, "li2025wico"),
    Strategy("C-Abstractor 12x12 (compact)", "cabstractor", {"k": 12}, "cha2024honeybee"),
    Strategy("Avg-pool 12x12", "avgpool", {"k": 12}, "cha2024honeybee"),
    Strategy("Q-Former 32 queries", "qformer", {"n_queries": 32}, "li2023blip2"),
    Strategy("Perceiver 64 latents", "perceiver", {"n_latents": 64}, "laurencon2024idefics2"),
    Strategy("Flamingo cross-attn", "xattn", {"every": 4}, "alayrac2022flamingo"),
    Strategy("Fuyu patches + newlines", "fuyu", {}, "bavishi2023fuyu"),
)

#: Token id the Fuyu strategy appends after each row of patches. Fuyu uses its tokenizer's
#: ``|NEWLINE|`` token; any id of the vocabulary costs the same.
NEWLINE_ID = 3

#: Internal widths for a CPU-sized run (the real ones: BLIP-2's 768-wide 12-layer Q-Former,
#: Idefics2's 16 heads of 96 with 4 KV heads).
COMPACT = {"qformer": dict(d_model=128, n_layers=4, n_heads=4, d_ff=512),
           "perceiver": dict(n_heads=4, n_kv_heads=1)}


class VLM(nn.Module):
    """A connector joined to a decoder LM; ``prefill(image, input_ids)`` runs them end to end."""

    def __init__(self, strategy: Strategy, connector: nn.Module | None, lm: DecoderLM):
        super().__init__()
        self.strategy, self.connector, self.lm = strategy, connector, lm

    @property
    def cross_attention(self) -> bool:
        return self.connector is None

    def n_in(self, grid: int, image_px: int) -> int:
        """Inputs the connector reads: grid² features, or Fuyu's 30-px patches of the padded image."""
        if self.strategy.connector == "fuyu":
            return math.ceil(image_px / self.connector.patch) ** 2
        return grid * grid

    def visual_tokens(self, n_in: int) -> int:
        """Visual tokens concatenated into the LM's sequence (0 for cross-attention).

        Fuyu: one token per patch of the (square) padded image plus one newline per patch row.
        """
        if self.cross_attention:
            return 0
        rows = math.isqrt(n_in) if self.strategy.connector == "fuyu" else 0
        return self.connector.output_tokens(n_in) + rows

    def visual_sequence(self, image):
        """What the connector hands the LM (batch, visual_tokens, d_model); Fuyu: patches in raster
        order with the embedding of :data:`NEWLINE_ID` after each row of patches (chapter 5)."""
        x = self.connector(image)
        if self.strategy.connector != "fuyu":
            return x
        b, _, d = x.shape
        rows, cols = image.shape[-2] // self.connector.patch, image.shape[-1] // self.connector.patch
        newline = self.lm.embed(torch.full((b, rows, 1), NEWLINE_ID, device=x.device))
        return torch.cat([x.view(b, rows, cols, d), newline], dim=2).reshape(b, rows * (cols + 1), d)

    def params_added(self) -> int:
        """Parameters the strategy adds to the LM (connector, or the cross-attention blocks)."""
        if self.cross_attention:
            return self.lm.num_parameters() - self.lm.num_parameters(cross_attention=False)
        return self.connector.num_parameters()

    @torch.no_grad()
    def prefill(self, image, input_ids, max_new_tokens: int = 8):
        """(logits of the last position, KVCache) for one image (features or pixels) and a prompt."""
        if self.cross_attention:
            return self.lm.prefill(input_ids, visual=image, max_new_tokens=max_new_tokens)
        embeds = torch.cat([self.visual_sequence(image), self.lm.embed(input_ids)], dim=1)
        return self.lm.prefill(inputs_embeds=embeds, max_new_tokens=max_new_tokens)


def build_vlm(strategy: Strategy, lm_cfg, d_vision: int, n_layers: int | None = None, compact: bool = False,
              device="cpu", dtype=torch.float32) -> VLM:
    """Connector + LM for ``strategy``, reading vision features of width ``d_vision`` (chapter 5).

    The weights are created on ``device`` in ``dtype`` directly (:func:`~vlmlab.lm.allocate_on`),
    never as an fp32 copy first.
    """
    opts = dict(strategy.options)
    name = strategy.connector
    if compact:
        opts.update(COMPACT.get(name, {}))
    with allocate_on(device, dtype):
        if name == "xattn":
            lm = DecoderLM(lm_cfg, n_layers=n_layers, xattn_every=opts["every"], d_visual=d_vision)
            conn = None
        else:
            lm = DecoderLM(lm_cfg, n_layers=n_layers)
            width = {"fuyu": {}, "perceiver": {"d_in": d_vision, "d_model": lm_cfg.d_model}}.get(
                name, {"d_in": d_vision, "d_out": lm_cfg.d_model})
            if name == "perceiver" and compact:
                opts["head_dim"] = lm_cfg.d_model // opts["n_heads"]
            conn = C.build(name, **width, **({"d_out": lm_cfg.d_model} if name == "fuyu" else {}), **opts)
    return VLM(strategy, conn, lm).to(dtype).eval()


def predict(vlm: VLM, grid: int, image_px: int, n_text: int, dtype="fp32", max_new_tokens: int = 8) -> dict:
    """Paper numbers for one image: tokens, parameters, FLOPs, bytes, KV cache (chapter 5).

    LM parts come from :mod:`vlmlab.cost`: prefill counts the causal half of the score matrices
    (``causal=True``, what the LM's causal SDPA kernel computes), decode the full row of one query,
    lm_head on the last position only, as :meth:`DecoderLM.prefill` does. Connector parts come from
    the connector's ``flops``; Flamingo's cross-attention reads every visual token (no mask). The peak
    memory of prefill is modelled as the KV cache it allocates plus one layer's widest activations
    (``mlp_workspace`` of :func:`vlmlab.serving.memory_per_sequence`, chapter 7's measured model).
    """
    for arg, v in (("grid", grid), ("image_px", image_px), ("n_text", n_text)):
        positive_int(arg, v)
    non_negative_int("max_new_tokens", max_new_tokens)
    cfg = replace(vlm.lm.cfg, n_layers=vlm.lm.n_layers)
    b = dtype_bytes(dtype)
    n_in = vlm.n_in(grid, image_px)
    n_lm = vlm.visual_tokens(n_in) + n_text
    pf = cost.model_prefill_flops(cfg, n_lm, causal=True, lm_head=False).total + cost.lm_head_flops(cfg, 1)
    pb = cost.prefill_bytes(cfg, n_lm, dtype, lm_head=False).total + vlm.params_added() * b
    dfl = cost.decode_step_flops(cfg, n_lm).total
    dby = cost.decode_step_bytes(cfg, n_lm, dtype=dtype).total
    kv = cost.kv_cache_bytes(cfg, n_lm, dtype=dtype)
    if vlm.cross_attention:
        blocks = list(vlm.lm.cross_blocks)
        pf += sum(blk.flops(n_in, n_text=n_text).total for blk in blocks)
        dfl += sum(blk.flops(n_in, n_text=1, visual_kv=False).total for blk in blocks)
        xkv = sum(2 * n_in * blk.n_kv_heads * blk.head_dim * b for blk in blocks)
        kv += xkv
        dby += xkv + sum(blk.num_parameters() - blk.k_proj.weight.numel() - blk.v_proj.weight.numel()
                         for blk in blocks) * b
    else:
        pf += vlm.connector.flops(n_in).total
    kv_alloc = cost.kv_cache_bytes(cfg, n_lm + max_new_tokens, dtype=dtype) + (kv - cost.kv_cache_bytes(cfg, n_lm, dtype=dtype))
    peak = kv_alloc + memory_per_sequence(cfg, n_lm, dtype)["mlp_workspace"]
    return {"strategy": vlm.strategy.label, "fusion": "cross-attention" if vlm.cross_attention else "concatenation",
            "n_in": n_in, "visual_tokens": vlm.visual_tokens(n_in), "lm_tokens": n_lm,
            "params_added": vlm.params_added(), "prefill_flops": pf, "prefill_bytes": pb,
            "peak_bytes": peak, "kv_bytes": kv, "decode_flops": dfl, "decode_bytes": dby}


def make_inputs(vlm: VLM, grid: int, image_px: int, d_vision: int, n_text: int, device="cpu",
                dtype=torch.float32, seed: int = 0):
    """Random vision features (batch 1, grid², d_vision) or padded pixels for Fuyu, and a prompt."""
    for arg, v in (("grid", grid), ("image_px", image_px), ("d_vision", d_vision), ("n_text", n_text)):
        positive_int(arg, v)
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vlm.lm.cfg.vocab_size, (1, n_text), generator=g).to(device)
    if vlm.strategy.connector == "fuyu":
        side = math.ceil(image_px / vlm.connector.patch) * vlm.connector.patch
        return torch.randn(1, 3, side, side, generator=g).to(device, dtype), ids
    return torch.randn(1, grid * grid, d_vision, generator=g).to(device, dtype), ids


def measure_vlm(vlm: VLM, image, input_ids, device: str, budget_s: float = 0.3, max_new_tokens: int = 8) -> dict:
    """Measured prefill seconds and peak bytes, filled KV-cache bytes and decode-step seconds.

    ``peak_bytes_measured`` is ``None`` off CUDA (see :func:`vlmlab.bench.measure`). Chapter 5.
    """
    from .. import bench

    pre = bench.measure(lambda: vlm.prefill(image, input_ids, max_new_tokens), device=device, warmup=1,
                        budget_s=budget_s)
    logits, cache = vlm.prefill(image, input_ids, max_new_tokens)
    start, token, kv = cache.length, logits.argmax(-1), cache.nbytes

    def step():
        cache.length = start  # decode the same position again: constant context
        return vlm.lm.decode_step(token, cache)

    dec = bench.time_fn(step, device=device, warmup=2, budget_s=budget_s)
    return {"prefill_s": pre.seconds, "peak_bytes_measured": pre.peak_bytes, "kv_bytes_measured": kv,
            "decode_s": dec.median_s}
