"""Tests for vlmlab.claims (chapter 10). Expected values come from papers, official configs,
transformers' reference processors, or hand derivations written here, never from the code under
test."""
from __future__ import annotations

import functools
import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from vlmlab.claims import (CHAPTERS, CLAIMS, DESIGNS, KINDS, VERDICTS, WRONG_AUTHOR, Claim, get_claim,
                            ledger, summary)
from vlmlab.errors import UnknownNameError

ROOT = Path(__file__).resolve().parents[1]
ESSAY = Path("/work/shared/source/why-token-concatenation-is-rare.md")


def _bib_keys() -> set[str]:
    text = (ROOT / "book" / "references.bib").read_text()
    return set(re.findall(r"^@\w+\{([^,]+),", text, re.M))


# ---- every claim is well formed -------------------------------------------------------------
def test_every_claim_has_allowed_verdict_kind_chapter_and_source():
    keys = _bib_keys()
    for c in CLAIMS:
        assert c.verdict in VERDICTS, c.id
        assert c.kind in KINDS, c.id
        assert 1 <= c.chapter <= 9 and c.chapter in CHAPTERS, c.id
        assert c.url.startswith("https://") or c.url.startswith("http://"), c.id
        assert c.cite in keys, f"{c.id}: bibtex key {c.cite!r} not in references.bib"
        assert c.essay and c.reason.endswith("."), c.id
        assert len(c.reason) <= 200, f"{c.id}: reason should be one short sentence"


def test_ids_unique_and_every_chapter_covered():
    ids = [c.id for c in CLAIMS]
    assert len(ids) == len(set(ids))
    assert {c.chapter for c in CLAIMS} == set(range(1, 10))


def test_every_kind_is_used():
    assert {c.kind for c in CLAIMS} == set(KINDS)


def test_paraphrases_do_not_copy_the_essay():
    """No essay or reason field shares a run of 7 words with the source essay."""
    if not ESSAY.exists():
        pytest.skip("source essay not available")
    words = re.sub(r"[^a-z0-9 ]", " ", ESSAY.read_text().lower()).split()
    grams = {tuple(words[i:i + 7]) for i in range(len(words) - 6)}
    for c in CLAIMS:
        for field in ("essay", "reason"):
            t = re.sub(r"[^a-z0-9 ]", " ", getattr(c, field).lower()).split()
            copied = [" ".join(t[i:i + 7]) for i in range(len(t) - 6) if tuple(t[i:i + 7]) in grams]
            assert not copied, f"{c.id}.{field} copies the essay: {copied[0]!r}"


# ---- the ledger table -----------------------------------------------------------------------
def test_ledger_one_row_per_claim_with_columns():
    df = ledger()
    assert len(df) == len(CLAIMS)
    assert list(df.columns) == ["id", "chapter", "kind", "essay", "claimed", "found", "verdict",
                                "reason", "cite", "url"]
    assert list(df["id"]) == [c.id for c in CLAIMS]
    assert (df["found"].str.len() > 0).all()


def test_ledger_filters_a_chapter_and_rejects_unknown_chapter():
    assert set(ledger(chapter=7)["chapter"]) == {7}
    with pytest.raises(ValueError, match="chapter"):
        ledger(chapter=12)


def test_summary_counts_add_up():
    table = summary()
    assert table.loc["total", "total"] == len(CLAIMS)
    for v in VERDICTS:
        assert table.loc[v, "total"] == sum(c.verdict == v for c in CLAIMS)


def test_bytes_are_shown_in_decimal_and_binary_units():
    row = ledger().set_index("id").loc["kv-2.1gb"]
    assert "2.17 GB" in row["found"] and "GiB" in row["found"]


# ---- validation speaks to the reader --------------------------------------------------------
def test_bad_verdict_is_rejected_with_its_name():
    with pytest.raises(ValueError, match="verdict"):
        Claim("x", 1, "number", "e", 1, "true", "r.", "https://a.b", "k", value=1)


def test_bad_chapter_and_missing_decider_are_rejected():
    with pytest.raises(ValueError, match="chapter"):
        Claim("x", 10, "number", "e", 1, "holds", "r.", "https://a.b", "k", value=1)
    with pytest.raises(ValueError, match="value= or compute="):
        Claim("x", 1, "number", "e", 1, "holds", "r.", "https://a.b", "k")


def test_unknown_claim_suggests_close_ids():
    with pytest.raises(UnknownNameError, match="kv-2.1gb"):
        get_claim("kv-2.2gb")


# ---- numbers: decide() reproduces the sourced value -----------------------------------------
def _d(claim_id):
    return get_claim(claim_id).decide()


def test_token_counts_from_papers_and_configs():
    assert _d("vit-l-336-tokens") == (336 // 14) ** 2 == 576          # LLaVA-1.5: 24x24 CLIP patches
    assert _d("highres-1024-tokens") == (1024 // 16) ** 2 == 4096     # SAM ViT-B/16 at 1024 px
    assert _d("flamingo-64") == 64                                    # Flamingo: 64 latents
    assert _d("ten-images-sequence") == 10 * 4096 + 500
    assert _d("video-40960") == 40960


def test_llava_next_672_against_transformers_processor():
    """transformers' LlavaNextProcessor counts 2,928 tokens for a 672x672 image, not 2,880."""
    from transformers.models.llava_next.processing_llava_next import LlavaNextProcessor

    pinpoints = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]  # llava-v1.6 config
    ns = SimpleNamespace(image_processor=SimpleNamespace(image_grid_pinpoints=pinpoints),
                         patch_size=14, num_additional_image_tokens=1)
    ns._get_unpadded_features = functools.partial(LlavaNextProcessor._get_unpadded_features, ns)
    expected = LlavaNextProcessor._get_number_of_features(ns, 672, 672, 336, 336) - 1  # 'default' drops CLS
    assert expected == 576 + 48 * 48 + 48 == 2928
    assert _d("llava-next-672-tokens") == expected


def test_blip2_compression_from_transformers_config():
    from transformers import Blip2Config

    cfg = Blip2Config()
    patches = (cfg.vision_config.image_size // cfg.vision_config.patch_size) ** 2 + 1  # + CLS
    assert _d("qformer-32") == cfg.num_query_tokens == 32
    assert _d("blip2-128x") == pytest.approx(patches / cfg.num_query_tokens)  # 257 / 32
    assert _d("blip2-128x") < 10 < 128


def test_pixtral_keeps_one_token_per_patch():
    from transformers import PixtralVisionConfig

    cfg = PixtralVisionConfig()
    side = cfg.image_size // cfg.patch_size                     # 64 patches per side at 1024 px
    assert _d("thesis-none-pure") == side * side + side         # one break/end token per row


def test_attention_arithmetic_by_hand():
    assert _d("attention-6876x") == pytest.approx(4146 ** 2 / 50 ** 2)
    assert round(_d("attention-6876x")) == 6876
    assert _d("video-1.68e9") == 41000 ** 2
    assert _d("ops-17.2m") == 4146 ** 2 == 17_189_316
    assert _d("ops-206m") == 12 * 4146 ** 2
    assert _d("ops-122k") == 122_500
    assert _d("ops-1.5m") == 1_470_000
    assert _d("attention-137x") == pytest.approx((4146 / 350) ** 2)   # 140.3, not 137
    assert _d("crossattn-40x") == pytest.approx(4196 ** 2 / (100 * 4096))


def test_whole_model_speedup_is_near_the_token_ratio():
    """Hand count for Llama-2-7B (32 layers, d 4096, d_ff 11008, vocab 32000), full score matrix."""
    L, d, f, V = 32, 4096, 11008, 32000

    def flops(n):
        return L * (n * 2 * (4 * d * d + 3 * d * f) + 4 * n * n * d) + 2 * n * d * V

    assert _d("speedup-137x-total") == pytest.approx(flops(4146) / flops(350), rel=1e-9)
    assert _d("speedup-137x-total") < 15


def test_kv_cache_and_batch_for_llama2_7b():
    per_token = 2 * 32 * 4096 * 2                      # K and V, 32 layers, d 4096, fp16
    assert _d("kv-2.1gb") == 4146 * per_token == 2_173_698_048
    assert _d("kv-180mb") == 350 * per_token == 183_500_800
    assert _d("kv-12x") == pytest.approx(4146 / 350)
    weights = 6_738_415_616 * 2                        # Llama-2-7B parameter count, fp16
    assert _d("weights-14gb") == weights
    memory = 5 * 8 * 2**30                             # A100-40GB: five 8 GiB HBM2 stacks
    new = 64                                           # chapter 7's generated tokens per request
    from vlmlab.claims import recompute
    # upper bound: all memory beside the weights holds KV cache (chapter 7's max_batch)
    assert recompute.batch_a100_40gb(4146) == (memory - weights) // ((4146 + new) * per_token) == 13
    assert recompute.batch_a100_40gb(350) == (memory - weights) // ((350 + new) * per_token) == 135
    # what a vLLM-style engine admits: 0.9 of memory, less weights and the profiled peak of a
    # 2,048-token chunk (2048 x (3 x 11008 + 4 x 4096) x 2 B + 32,000 fp32 logits), in 16-token blocks
    blocks = (int(0.9 * memory) - weights - (2048 * 49408 * 2 + 32000 * 4)) // (16 * per_token)
    assert _d("batch-8") == blocks // -(-(4146 + new) // 16) == 11
    assert _d("batch-96") == blocks // -(-(350 + new) // 16) == 114
    # Throughput at those batches: more than the batch ratio (each compressed request also
    # prefills 12x fewer tokens), less than the batch ratio times the token ratio (decode steps
    # read the same weights whatever the prompt).
    assert 114 / 11 < _d("throughput-12x") < 114 / 11 * 4146 / 350


def test_context_windows_from_vendor_sources():
    assert _d("window-llama2") == 4096          # Llama 2 paper
    assert _d("window-llama3") == 131072        # Llama-3.1-8B config.json max_position_embeddings
    assert _d("window-gpt4") == 128_000         # GPT-4 Turbo, OpenAI DevDay
    assert _d("window-gpt35") == 16385          # gpt-3.5-turbo-1106, OpenAI model list
    assert _d("window-claude") == 200_000       # Anthropic, Claude 2.1 announcement
    assert _d("option-a-left") == 8192 - 4096
    assert _d("option-b-left") == 8192 - 256
    assert _d("option-a-turns") == (8192 - 4096) // 200


# Every numeric verdict is the rubric's (vlmlab.claims.rubric): tests/test_rubric.py checks all of them.


# ---- the essay's errors are marked wrong, with their reason ---------------------------------
WRONG = ["window-gpt35", "context-range", "exceeds-most-windows", "option-a-turns", "thesis-rare", "thesis-none-pure", "consensus-64-576", "llava-mlp-compresses",
         "blip2-128x", "deepseek-16x", "ovis-dynamic", "bitter-lesson-quote", "fuyu-quote-source",
         "llava-quote-source", "stackoverflow-quote", "hf-compression-framing",
         "speedup-137x-total", "access-dates", "crossattn-weights", "wico-pooling"]


@pytest.mark.parametrize("claim_id", WRONG)
def test_known_errors_are_marked_wrong(claim_id):
    c = get_claim(claim_id)
    assert c.verdict == "wrong" and len(c.reason) > 20


def test_wrong_author_lists_wrong_attributions_only():
    """Chapter 11 counts these: each is an attribution marked wrong whose reason names the writer."""
    assert len(set(WRONG_AUTHOR)) == len(WRONG_AUTHOR) == 4
    for cid in WRONG_AUTHOR:
        c = get_claim(cid)
        assert c.kind == "attribution" and c.verdict == "wrong", cid
        assert "Gigant" in c.reason or "essay's" in c.reason, cid
    # the two other wrong attributions are a date and misused evidence, not a wrong author
    others = {c.id for c in CLAIMS if c.kind == "attribution" and c.verdict == "wrong"} - set(WRONG_AUTHOR)
    assert others == {"access-dates", "stackoverflow-quote"}


def test_deepseek_vl_shrinks_its_sam_features_like_transformers():
    """transformers' DeepSeek-VL hybrid projector: SAM's 64x64 map -> 96x96 -> two stride-2 convs."""
    import torch
    from transformers.models.deepseek_vl_hybrid.modeling_deepseek_vl_hybrid import DeepseekVLSamVisionProj

    proj = DeepseekVLSamVisionProj(SimpleNamespace(output_channels=2), output_size=24)
    out = proj(torch.zeros(1, 2, 1024 // 16, 1024 // 16))           # SAM ViT-B/16 at 1024 px
    assert out.shape[-2:] == (24, 24)                                # 576 tokens, from 4,096
    row = {d.model: d for d in DESIGNS}["DeepSeek-VL"]
    assert row.in_sequence and row.reduces
    assert "DeepSeek-VL" not in get_claim("thesis-none-pure").reason
    # the ledger's `found` names whose 16x it is: DeepSeek-OCR's 4,096 -> 256 (wei2025deepseekocr)
    found = _d("deepseek-16x")
    assert "DeepSeek-OCR" in found and "16×" in found and "4,096 → 256" in found
    assert "4,096 → 576" in found                                     # DeepSeek-VL, as above


def test_misattributed_quotes_name_their_real_source():
    for cid in ("bitter-lesson-quote", "fuyu-quote-source", "llava-quote-source"):
        c = get_claim(cid)
        assert c.cite == "gigant2024vlmdesign" and "Gigant" in c.decide()
    assert get_claim("granularity-quote").cite == "alayrac2020mmv"


def test_central_thesis_decided_by_real_designs():
    """Only the cross-attention designs keep visual tokens out of the LM sequence."""
    outside = {d.model for d in DESIGNS if not d.in_sequence}
    assert outside == {"Flamingo", "Llama 3.2 Vision"}
    assert all("cross-attention" in d.how for d in DESIGNS if not d.in_sequence)
    # the three designs, counted from the papers' descriptions (tests/test_rubric.py checks each row)
    assert _d("thesis-rare") == "5 every patch, 6 compressed, 2 cross-attention (of 13)"
    keys = _bib_keys()
    assert all(d.cite in keys for d in DESIGNS)


def test_beit3_keeps_one_token_per_14px_patch():
    # BEiT-3 giant: 224 px input, 14 px patches (Wang et al. 2023, Table 2) -> 16 x 16 tokens
    assert get_claim("beit3-tokens").decide() == 16 * 16
    # the released 768-px VQAv2 checkpoint (beit3_large_patch16_768_vqav2): 48 x 48 patches + CLS
    assert f"{(768 // 16) ** 2 + 1:,} image tokens" in get_claim("beit3-tokens").reason
