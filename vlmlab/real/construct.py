"""Build a real VLM offline (random weights, released widths) and feed it through its processor.

:func:`build` makes the transformers model from :mod:`.configs` without initialising weights the
slow way (``no_init_weights``, then every matrix is filled from one shared random pool: the
values do not matter for timing, only that they are ordinary numbers, never NaN or denormal).
:func:`prepare` runs the model's own processor on a random image and checks that the sequence
the language model will see has exactly ``vlmlab.visual_tokens`` image positions. Chapter 12.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import tokens as vtokens
from ..errors import one_of, positive_int
from . import configs, offline

#: where each model keeps its parts: vision encoder, connector (in call order), LM decoder stack
PARTS = {
    "llava-1.5": ("model.vision_tower", ("model.multi_modal_projector",), "model.language_model"),
    "llava-next": ("model.vision_tower", ("model.multi_modal_projector",), "model.language_model"),
    "blip-2": ("vision_model", ("qformer", "language_projection"), "language_model.model.decoder"),
    "qwen2-vl": ("model.visual", ("model.visual.merger",), "model.language_model"),
    "mllama": ("model.vision_model", ("model.multi_modal_projector",), "model.language_model"),
}
DTYPES = ("bf16", "fp16", "fp32")
#: Mllama: one tile is (560/14)^2 = 1,600 patches + 1 CLS = 1,601 tokens (MllamaVisionModel)
MLLAMA_TOKENS_PER_TILE = (560 // 14) ** 2 + 1


@dataclass
class Built:
    """A built model with what is needed to feed it: processor, tokenizer ids, depths, dtype."""

    name: str
    model: object
    processor: object
    ids: dict
    depth: int
    vision_depth: int
    dtype: str
    device: str

    @property
    def spec(self) -> configs.RealModel:
        return configs.get_model(self.name)

    def part(self, path: str):
        """The submodule at dotted ``path`` (see :data:`PARTS`)."""
        module = self.model
        for attr in path.split("."):
            module = getattr(module, attr)
        return module


def torch_dtype(dtype: str):
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[one_of("dtype", dtype, DTYPES)]


def _fill_random(model, seed: int) -> None:
    """Matrices from one random pool (std 0.02); 1-D weights 1, biases 0 (as after init)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    pool, pools = torch.randn(1 << 22, generator=gen) * 0.02, {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.device not in pools:                              # one copy per device
                pools[p.device] = pool.to(p.device)
            src = pools[p.device]
            if p.dim() <= 1:
                p.fill_(0.0 if name.endswith("bias") else 1.0)
                continue
            flat, start = p.view(-1), int(torch.randint(0, 1 << 20, (1,), generator=gen))
            for i in range(0, flat.numel(), 1 << 21):
                n = min(1 << 21, flat.numel() - i)
                flat[i:i + n].copy_(src[start:start + n])


def build(name: str, *, depth: int | None = None, vision_depth: int | None = None,
          vocab: int | None = offline.SMALL_VOCAB, device: str = "cpu", dtype: str = "bf16",
          max_tiles: int | None = None, seed: int = 0) -> Built:
    """Model ``name`` at its released widths with random weights (chapter 12).

    ``depth``/``vision_depth``: decoder/encoder layers (None: the released depths); ``vocab``:
    vocabulary rows (None: released; the offline tokenizer's ids all fit in the default).
    ``max_tiles``: Mllama's tile budget (released: 4; the encoder runs every tile, padding
    included, so at ``ci`` scale one tile keeps the chapter inside its time budget).
    """
    import torch
    import transformers
    from transformers.initialization import no_init_weights

    spec = configs.get_model(name)
    tok = offline.tokenizer(spec.name)
    ids = offline.special_ids(tok)
    cfg = configs.hf_config(spec, ids, depth=depth, vision_depth=vision_depth, vocab=vocab,
                            max_tiles=max_tiles)
    with no_init_weights(), torch.device(device):
        model = getattr(transformers, spec.hf_class)._from_config(cfg, dtype=torch_dtype(dtype))
    _fill_random(model, seed)
    model.requires_grad_(False)            # inference only: no autograd bookkeeping
    full = configs.full_depths(spec)
    return Built(spec.name, model.eval(), offline.processor(spec.name, tok, max_tiles), ids,
                 depth or full["text"], vision_depth or full["vision"], dtype, device)


def image_positions(name: str, ids: dict, input_ids) -> int:
    """Positions of the LM sequence that belong to the image (placeholders and layout tokens);
    ``ids``: the offline tokenizer's special-token ids."""
    keys = {"qwen2-vl": ("image_pad", "vision_start", "vision_end"), "mllama": ("mllama_image",)}
    wanted = [ids[k] for k in keys.get(configs.get_model(name).name, ("image",))]
    return int(sum(int((input_ids == i).sum()) for i in wanted))


def sequence_counts(name: str, height: int, width: int, max_tiles: int | None = None) -> dict:
    """What ``name``'s processor makes of a ``height`` x ``width`` image and the prompt, beside
    vlmlab's count (no model is built). Chapter 12's table of sequence lengths."""
    spec = configs.get_model(name)
    tok = offline.tokenizer(spec.name)
    ids = offline.special_ids(tok)
    enc = offline.processor(spec.name, tok, max_tiles)(
        images=offline.image(positive_int("height", height), positive_int("width", width)),
        text=offline.prompt(spec.name), return_tensors="pt")
    seq = int(enc["input_ids"].shape[1])
    n_img = image_positions(spec.name, ids, enc["input_ids"])
    row = {"model": spec.name, "image": f"{height}x{width}", "processor": n_img,
           "vlmlab": expected_image_positions(spec.name, height, width), "text": seq - n_img,
           "sequence": seq}
    if spec.name == "mllama":   # tiles the encoder runs; cross-attention states = tiles x 1,601
        row["tiles"] = int(enc["pixel_values"].shape[2])
    return row


def expected_image_positions(name: str, height: int, width: int) -> int:
    """What vlmlab counts: ``visual_tokens`` of the model's preset; Mllama (cross-attention)
    puts a single ``<|image|>`` token in the sequence."""
    spec = configs.get_model(name)
    if spec.tokens_preset is None:
        return 1
    return vtokens.visual_tokens(spec.tokens_preset, height, width)


def prepare(built: Built, height: int, width: int) -> dict:
    """Processor outputs for a random ``height`` x ``width`` image and the prompt, on the device,
    pixels in the model's dtype; asserts the image positions equal vlmlab's count."""
    positive_int("height", height)
    positive_int("width", width)
    enc = built.processor(images=offline.image(height, width), text=offline.prompt(built.name),
                          return_tensors="pt")
    got, want = image_positions(built.name, built.ids, enc["input_ids"]), expected_image_positions(built.name, height, width)
    if got != want:
        raise AssertionError(f"{built.name} at {height}x{width}: the processor made {got} image "
                             f"positions, vlmlab counts {want}")
    out = {}
    for k, v in enc.items():
        v = v.to(built.device)
        out[k] = v.to(torch_dtype(built.dtype)) if v.is_floating_point() else v
    return out
