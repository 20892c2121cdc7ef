"""Sub-quadratic sequence mixers against softmax attention (chapter 9, "Future").

Layout (one concept per module; ``cost`` imports no torch, the others do):
  cost              FLOPs, bytes and sequential steps on paper, a three-term time model and the
                    predicted crossover length                                   (chapter 9)
  linear            causal linear attention with the elu+1 feature map (Katharopoulos et al. 2020):
                    parallel cumulative-sum, recurrent and chunked forms          (chapter 9)
  scan              a Mamba-like selective state-space scan (Gu and Dao 2023): input-dependent
                    Δ, B, C, diagonal A; sequential and parallel scans            (chapter 9)
  attention         the softmax baseline (``scaled_dot_product_attention``) and attention with the
                    vision-to-vision connections cut, dense-masked and block-skipping (chapter 9)
  calibrate         the three constants of the time model, measured by micro-benchmarks, and the
                    one-thread setting for CPU timings                            (chapter 9)
  workloads         the chapter's mixers at a given length, their costs, their measurement and
                    the measured crossover                                        (chapter 9)
  figures           measured-against-predicted scaling panels with one slope pair per series

Only ``cost`` is imported eagerly, so ``import vlmlab.subquadratic`` stays torch-free; the torch
functions load on first use (``vlmlab.subquadratic.linear_attention(...)`` works as well).
"""
from __future__ import annotations

from .cost import (OpCost, TimeModel, attention_pairs, crossover_tokens,
                   linear_attention_cost, predicted_seconds, predicted_terms,
                   selective_scan_cost, softmax_attention_cost, vision_attention_cost)

_LAZY = {
    "elu_feature_map": "linear",
    "linear_attention": "linear",
    "discretize": "scan",
    "selective_scan": "scan",
    "SelectiveSSM": "scan",
    "softmax_attention": "attention",
    "vision_cut_mask": "attention",
    "masked_attention": "attention",
    "vision_cut_attention": "attention",
    "measure_time_model": "calibrate",
    "measure_op_overhead": "calibrate",
    "timing_threads": "calibrate",
    "MIXERS": "workloads",
    "mixer_cost": "workloads",
    "mixer_workload": "workloads",
    "vision_workload": "workloads",
    "measured_crossover": "workloads",
    "measure_mixers": "workloads",
    "measure_vision": "workloads",
    "tail_slopes": "figures",
    "scaling_panel": "figures",
    "slope_sentence": "figures",
}


def __getattr__(name):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'vlmlab.subquadratic' has no attribute {name!r}")


__all__ = ["OpCost", "TimeModel", "attention_pairs", "crossover_tokens",
           "linear_attention_cost", "predicted_seconds", "predicted_terms", "selective_scan_cost",
           "softmax_attention_cost", "vision_attention_cost", *_LAZY]
