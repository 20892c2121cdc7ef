"""The end-to-end ratios chapter 12 argues about, from measured rows and their predictions.

Time to first token (TTFT) is vision encoder + connector + LM prefill: what a design costs before
it can answer. Each comparison is given twice, measured (extrapolated to the released depth) and
predicted by vlmlab on the same device's ceilings. Used by chapter 12.
"""
from __future__ import annotations

from ..roofline import fast_dtype as _gpu_dtype


def fast_dtype(device: str) -> str:
    """The dtype chapter 12 runs in: the GPU's fast one (bf16 from Ampere, fp16 before); on a CPU
    bf16 where it has bf16 matrix instructions (oneDNN reports them), else fp32."""
    kind = device.split(":")[0]
    if kind == "cuda":
        return _gpu_dtype(device)
    if kind == "cpu":
        import torch

        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
    return "fp32"


def ttft(row: dict, which: str = "full") -> float:
    """Vision + connector + prefill seconds of a row of :func:`vlmlab.real.measure_model`;
    ``which``: 'full' (measured, extrapolated to the released depth), 'full_pred', '' (built
    depth, measured) or 'pred' (built depth, predicted)."""
    suffix = f"_{which}_s" if which else "_s"
    return sum(row[f"{p}{suffix}"] for p in ("vision", "connector", "prefill"))


def _row(rows, model: str) -> dict:
    found = [r for r in rows if r["model"] == model]
    if not found:
        raise ValueError(f"rows hold no measurement of {model!r}; models: {sorted({r['model'] for r in rows})}")
    return found[0]


def _at_full(at: dict, key: str) -> float:
    return at[key] * at["full_layers"] / at["layers"]


def comparisons(rows) -> "pd.DataFrame":
    """Measured and predicted ratios (bigger / smaller design), at the released depth:

    * LLaVA-NeXT against LLaVA-1.5 (TTFT);
    * all patch tokens against a resampler: Vicuna-7B's prefill over LLaVA-1.5's sequence and
      over BLIP-2's (same LM, ``lm_at``), and the two whole designs (TTFT);
    * concatenation against cross-attention: Mllama's LM prefill with the image's states
      concatenated into the sequence (all layers self-attention) against its own cross-attention
      path, and the same with the shared vision encoder added (TTFT).
    """
    import pandas as pd

    l15, nxt, blip, ml = (_row(rows, m) for m in ("llava-1.5", "llava-next", "blip-2", "mllama"))
    at, cat = l15["lm_at"][0], ml["lm_at"][0]
    enc_m = ml["vision_full_s"] + ml["connector_full_s"]
    enc_p = ml["vision_full_pred_s"] + ml["connector_full_pred_s"]
    table = {
        f"LLaVA-NeXT {nxt['size']} / LLaVA-1.5, TTFT":
            (ttft(nxt) / ttft(l15), ttft(nxt, "full_pred") / ttft(l15, "full_pred")),
        f"Vicuna-7B prefill, {l15['seq']:,} / {at['n']:,} tokens":
            (l15["prefill_s"] / at["measured_s"], l15["prefill_pred_s"] / at["predicted_s"]),
        "LLaVA-1.5 / BLIP-2, TTFT": (ttft(l15) / ttft(blip), ttft(l15, "full_pred") / ttft(blip, "full_pred")),
        "Mllama LM prefill, concatenated / cross-attention":
            (_at_full(cat, "measured_s") / ml["prefill_full_s"],
             _at_full(cat, "predicted_s") / ml["prefill_full_pred_s"]),
        "Mllama, concatenated / cross-attention, TTFT":
            ((_at_full(cat, "measured_s") + enc_m) / ttft(ml),
             (_at_full(cat, "predicted_s") + enc_p) / ttft(ml, "full_pred")),
    }
    df = pd.DataFrame(table, index=["measured", "predicted"]).T
    df["error"] = df["predicted"] / df["measured"] - 1
    return df
