"""Real VLMs, measured: transformers' own models at their released widths, offline (chapter 12).

    >>> row = measure_model("llava-1.5", 336, 336, device="cpu", ceilings=ceil, scale="ci")

Modules: :mod:`.configs` (the five models' released configs, each with its source URL),
:mod:`.offline` (a tiny tokenizer and the real processors, no network), :mod:`.construct` (random
weights, real width, depth by scale; the image-token count checked against vlmlab),
:mod:`.measure` (each part timed on the model's own code path), :mod:`.predict` (vlmlab's
roofline prediction for each part). At ``ci`` scale the decoder has one layer (Mllama: one
self- and one cross-attention layer), the encoder one (Mllama: one local and one global), the
vocabulary 512 rows and Mllama one tile; ``full`` builds the released model.
"""
from __future__ import annotations

from ..errors import one_of, positive_int
from ..roofline import predict_seconds
from .. import cost
from .construct import PARTS as PARTS_OF
from .construct import (Built, build, expected_image_positions, image_positions, prepare,  # noqa: F401
                    sequence_counts)
from .compare import comparisons, fast_dtype, ttft  # noqa: F401
from .configs import MODELS, full_depths, get_model  # noqa: F401
from .measure import capture, lm_sequence_length, time_lm_at, time_parts
from .predict import lm_config, predict as _predict

PARTS = ("vision", "connector", "prefill", "decode")
#: the LM sequence lengths chapter 12 also times: LLaVA-1.5's LM at BLIP-2's length (set by
#: the processor), Mllama's LM with the image's tokens concatenated (tiles x 1,601 + text)
SCALES = ("ci", "full")
#: native image sizes measured per scale (Mllama at ci: one 560-px tile, see ``settings``)
SIZES = {"ci": {"llava-1.5": [(336, 336)], "llava-next": [(672, 672)], "blip-2": [(224, 224)],
                "qwen2-vl": [(672, 672)], "mllama": [(560, 560)]},
         "full": {"llava-1.5": [(336, 336)], "llava-next": [(672, 672), (336, 672)],
                  "blip-2": [(224, 224)], "qwen2-vl": [(672, 672), (448, 448), (1344, 1344)],
                  "mllama": [(1120, 1120)]}}


def settings(name: str, scale: str) -> dict:
    """Build options of ``name`` at ``scale``: depth, vision_depth, vocab, max_tiles."""
    one_of("scale", scale, SCALES)
    if scale == "full":
        return {"depth": None, "vision_depth": None, "vocab": None, "max_tiles": None}
    mllama = get_model(name).name == "mllama"
    return {"depth": 2 if mllama else 1, "vision_depth": 1, "vocab": 512,
            "max_tiles": 1 if mllama else None}


def _lm_at(built, cap, ceilings, n: int, repeats: int) -> dict:
    """Measured and predicted prefill of the built LM (self-attention layers) over ``n`` tokens."""
    lm = lm_config(built)
    flops = cost.model_prefill_flops(lm, n, causal=True, lm_head=False).total
    pred = predict_seconds(flops, cost.prefill_bytes(lm, n, built.dtype, lm_head=False).total, ceilings)
    return {"n": n, "measured_s": time_lm_at(built, n, repeats=repeats), "predicted_s": pred,
            "layers": lm.n_layers, "full_layers": full_depths(built.spec)["text"]}


def measure_model(name: str, height: int, width: int, *, device: str, ceilings, scale: str,
                  dtype: str = "bf16", repeats: int | None = None, lm_at: tuple = ()) -> dict:
    """Build ``name`` at ``scale``, feed one ``height`` x ``width`` image through its processor,
    check the LM's sequence against vlmlab's count, time each part, and predict it (chapter 12).

    Returns a flat dict: ``seq`` (the LM's sequence length), ``image_positions``, ``text``;
    ``<part>_s`` measured at the built depth, ``<part>_pred_s`` predicted for it,
    ``<part>_full_pred_s`` predicted at the released depth, and ``<part>_full_s`` the
    measurement extrapolated to it (measured x predicted full / predicted built: per layer for
    a stack of identical layers); ``peak_bytes`` (CUDA) or None; ``lm_at``: the LM's prefill at
    other sequence lengths (``lm_at`` tokens), measured and predicted.
    """
    import gc

    positive_int("height", height)
    positive_int("width", width)
    opts = settings(name, scale)
    repeats = repeats or (1 if scale == "ci" else 3)
    built = build(name, device=device, dtype=dtype, **opts)
    inputs = prepare(built, height, width)
    cap = capture(built, inputs)
    seq = lm_sequence_length(built, cap)
    if seq != int(inputs["input_ids"].shape[1]):
        raise AssertionError(f"{name}: the LM saw {seq} positions, the processor made "
                             f"{int(inputs['input_ids'].shape[1])}")
    n_img = image_positions(built.name, built.ids, inputs["input_ids"])
    row = {"model": built.name, "size": f"{height}x{width}", "seq": seq, "image_positions": n_img,
           "vlmlab_count": expected_image_positions(built.name, height, width), "text": seq - n_img,
           "depth": built.depth, "vision_depth": built.vision_depth, "first_pass_s": cap.seconds}
    row.update(time_parts(built, cap, repeats=repeats, warmup=0 if scale == "ci" else 1))
    pred, full = _predict(built, cap, ceilings, seq), _predict(built, cap, ceilings, seq, full=True)
    for part in PARTS:
        row[f"{part}_pred_s"] = pred[f"{part}_s"]
        row[f"{part}_full_pred_s"] = full[f"{part}_s"]
        row[f"{part}_full_s"] = row[f"{part}_s"] * full[f"{part}_s"] / pred[f"{part}_s"]
        row[f"{part}_flops"], row[f"{part}_full_flops"] = pred[f"{part}_flops"], full[f"{part}_flops"]
    if built.name == "mllama":
        lm_kwargs = cap.calls[PARTS_OF[built.name][2]][1]
        row["cross_states"] = int(lm_kwargs["cross_attention_states"].shape[0:2].numel())
    row["lm_at"] = [_lm_at(built, cap, ceilings, positive_int("lm_at[i]", n), repeats) for n in lm_at]
    del built, cap, inputs
    gc.collect()
    from ..bench import free_memory

    free_memory(device)
    return row
