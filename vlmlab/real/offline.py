"""Inputs without the network: a tiny word-level tokenizer and each model's real processor.

The tokenizer (``tokenizers`` WordLevel, wrapped in transformers' fast tokenizer) knows a few
hundred plain words plus the special tokens the five processors look for (``<image>``,
``<|image|>``, ``<|image_pad|>``, ...). Its ids are small, so the models can be built with a
reduced vocabulary; the processors are transformers' own classes with the released
preprocessing settings (PIL back end: torchvision is not needed). Used by chapter 12.
"""
from __future__ import annotations

from .configs import get_model

WORDS = ("describe the image in detail what is shown here a photo of cat dog on sofa with "
         "two people and street at night".split())
SPECIAL = {"pad": "<pad>", "bos": "<s>", "eos": "</s>", "unk": "<unk>", "image": "<image>",
           "mllama_image": "<|image|>", "python": "<|python_tag|>", "image_pad": "<|image_pad|>",
           "video": "<|video_pad|>", "vision_start": "<|vision_start|>", "vision_end": "<|vision_end|>"}
QUESTION = "describe the image in detail"
#: vocabulary rows of the reduced-vocabulary build (all offline tokenizer ids fit below it)
SMALL_VOCAB = 512


def tokenizer(model: str):
    """A fast tokenizer whose image token is the one ``model``'s processor expects."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = list(SPECIAL.values())
    vocab = {tok: i for i, tok in enumerate(specials + list(dict.fromkeys(WORDS)))}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    m = get_model(model)
    image = {"mllama": "<|image|>", "qwen2-vl": "<|image_pad|>"}.get(m.name, "<image>")
    extra = {"image_token": image} if m.name != "blip-2" else {}
    tok = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>",
                                  unk_token="<unk>", pad_token="<pad>", extra_special_tokens=extra)
    tok.add_special_tokens({"additional_special_tokens": [t for t in specials[4:]]})
    return tok


def special_ids(tok) -> dict[str, int]:
    """Ids of the special tokens (what the model config must agree on)."""
    return {k: tok.convert_tokens_to_ids(v) for k, v in SPECIAL.items()}


def processor(model: str, tok=None, max_tiles: int | None = None):
    """``model``'s transformers processor with its released preprocessing, offline.

    ``max_tiles`` lowers Mllama's tile budget (released: 4; every tile is encoded, even padding)."""
    import transformers as tf

    m = get_model(model)
    tok = tok or tokenizer(m.name)
    if m.name == "llava-1.5":
        ip = tf.CLIPImageProcessorPil(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336})
        return tf.LlavaProcessor(ip, tok, patch_size=14, vision_feature_select_strategy="default",
                                 num_additional_image_tokens=1)
    if m.name == "llava-next":
        ip = tf.LlavaNextImageProcessorPil(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336},
                                           image_grid_pinpoints=m.extra["image_grid_pinpoints"])
        return tf.LlavaNextProcessor(ip, tok, patch_size=14, vision_feature_select_strategy="default",
                                     num_additional_image_tokens=1)
    if m.name == "blip-2":
        ip = tf.BlipImageProcessorPil(size={"height": 224, "width": 224})
        return tf.Blip2Processor(ip, tok, num_query_tokens=m.extra["num_query_tokens"])
    if m.name == "qwen2-vl":   # released preprocessor_config.json: min_pixels 3,136, max 12,845,056
        ip = tf.Qwen2VLImageProcessorPil(min_pixels=3136, max_pixels=12845056)
        return _qwen2_vl_images_only()(image_processor=ip, tokenizer=tok)
    ip = tf.MllamaImageProcessorPil(size={"height": 560, "width": 560}, max_image_tiles=max_tiles or 4)
    return tf.MllamaProcessor(ip, tok)


def _qwen2_vl_images_only():
    """Qwen2VLProcessor without its video processor (which needs torchvision): images only."""
    import transformers as tf

    class Qwen2VLImageProcessor(tf.Qwen2VLProcessor):
        @classmethod
        def get_attributes(cls):
            return ["image_processor", "tokenizer"]

    return Qwen2VLImageProcessor


def prompt(model: str) -> str:
    """The text with the image marker where ``model``'s chat format puts it."""
    name = get_model(model).name
    marker = {"llava-1.5": "<image>", "llava-next": "<image>", "blip-2": "",
              "qwen2-vl": "<|vision_start|><|image_pad|><|vision_end|>", "mllama": "<|image|>"}[name]
    return f"{marker} {QUESTION}".strip()


def image(height: int, width: int, seed: int = 0):
    """A deterministic random RGB PIL image of ``height`` x ``width`` pixels."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
