"""What :func:`vlmlab.profile.profile` is asked about, resolved: the LM, the front-end, the GPU.

An LM is a preset name (:func:`vlmlab.models.get_lm`), an :class:`~vlmlab.models.LMConfig`, or a
transformers ``config.json`` as a dict, of an LM or of a whole VLM (its ``text_config`` is the LM;
its ``model_type`` names the front-end when one is not given). A GPU is a datasheet row of
:mod:`vlmlab.roofline` (``'H100'`` finds ``'H100-SXM'``) with its memory. Pure Python.
"""
from __future__ import annotations

from typing import Mapping

from .. import errors
from ..models import LMConfig, from_hf_config, get_lm
from ..roofline import DATASHEETS, Ceilings, datasheet_for, get_datasheet
from ..units import GiB

#: A VLM config's ``model_type`` -> the token preset of its front-end (transformers' names).
FRONTEND_OF_MODEL_TYPE = {
    "llava": "llava-1.5", "llava_next": "llava-next", "llava_next_video": "llava-next-video",
    "qwen2_vl": "qwen2-vl", "idefics2": "idefics2", "pixtral": "pixtral-12b",
    "fuyu": "fuyu-8b", "blip-2": "blip-2", "internvl": "internvl-1.5",
    "internvl_chat": "internvl-1.5",
}

#: Keys that mark a mixture-of-experts config (transformers' Mixtral, Qwen-MoE, DeepSeek names).
MOE_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")

#: Device memory of the datasheet rows that :mod:`vlmlab.roofline` gives no ``memory_bytes``:
#: the datasheet's "GB" read as GiB, as roofline reads the A100-40GB (HBM stacks are binary
#: sizes; a framework sees a few percent less). Pass ``gpu_memory_bytes`` to use your own.
GPU_MEMORY_BYTES = {
    "T4": 16 * GiB,            # T4 datasheet: 16 GB GDDR6
    "L4": 24 * GiB,            # L4 datasheet: 24 GB GDDR6
    "A100-80GB": 80 * GiB, "A100-80GB-PCIe": 80 * GiB,   # A100 datasheet: 80GB HBM2e
    "H100-SXM": 80 * GiB, "H100-PCIe": 80 * GiB,         # H100 datasheet: 80GB
    "H200": 141 * GiB,         # H200 datasheet: 141GB HBM3e
}


def _get(cfg, key, default=None):
    return cfg.get(key, default) if isinstance(cfg, Mapping) else getattr(cfg, key, default)


def is_moe(cfg) -> bool:
    """True when a transformers config (or its ``text_config``) has experts."""
    text = _get(cfg, "text_config") or cfg
    return any((_get(text, k) or 0) > 1 for k in MOE_KEYS)


def resolve_lm(lm) -> LMConfig:
    """An LMConfig from a preset name, an LMConfig or a transformers config dict.

    A mixture-of-experts config is priced by its active experts when
    :func:`vlmlab.models.from_hf_config` reads them (the LMConfig ``is_moe``); otherwise it is
    refused rather than priced as a dense model.
    """
    if isinstance(lm, LMConfig):
        return lm
    if isinstance(lm, str):
        return get_lm(lm)
    if isinstance(lm, Mapping):
        cfg = from_hf_config(lm)
        if is_moe(lm) and not getattr(cfg, "is_moe", False):
            raise ValueError("lm: a mixture-of-experts config (it has "
                             f"{', '.join(k for k in MOE_KEYS if _get(_get(lm, 'text_config') or lm, k))})"
                             " cannot be priced: this vlmlab's from_hf_config reads no experts")
        return cfg
    raise TypeError(f"lm must be a preset name, an LMConfig or a config dict, "
                    f"got {type(lm).__name__} {lm!r}")


def frontend_from_config(cfg) -> str:
    """The token preset of a VLM config's front-end, from its ``model_type``."""
    model_type = str(_get(cfg, "model_type", "") or "")
    if _get(cfg, "vision_config") is None or not model_type:
        raise ValueError("frontend: not given, and the config is not a VLM's (no vision_config "
                         "and model_type); pass a front-end name")
    if model_type not in FRONTEND_OF_MODEL_TYPE:
        raise ValueError(f"frontend: the VLM config's model_type {model_type!r} has no counting "
                         f"rule here; known: {', '.join(sorted(FRONTEND_OF_MODEL_TYPE))}")
    return FRONTEND_OF_MODEL_TYPE[model_type]


def resolve_gpu(gpu) -> Ceilings:
    """A datasheet row: an exact row name, a device name (``'H100'``, ``'NVIDIA A100-SXM4-80GB'``)
    or a :class:`~vlmlab.roofline.Ceilings`; unknown names suggest close ones."""
    if isinstance(gpu, Ceilings):
        return gpu
    if not isinstance(gpu, str):
        raise TypeError(f"gpu must be a GPU name, got {type(gpu).__name__} {gpu!r}")
    return datasheet_for(gpu) if datasheet_for(gpu) is not None else get_datasheet(gpu)


def gpu_memory(ceilings: Ceilings, override=None) -> float:
    """Bytes of device memory: ``override``, else the datasheet row's, else the table above."""
    if override is not None:
        return errors.positive_number("gpu_memory_bytes", override)
    if ceilings.memory_bytes:
        return float(ceilings.memory_bytes)
    if ceilings.name in GPU_MEMORY_BYTES:
        return float(GPU_MEMORY_BYTES[ceilings.name])
    raise ValueError(f"gpu_memory_bytes: the memory of {ceilings.name!r} is not known; pass it")


def list_gpus() -> list[str]:
    """The GPU names the profile knows (the datasheet rows)."""
    return list(DATASHEETS)
