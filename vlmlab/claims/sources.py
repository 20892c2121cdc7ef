"""Quotations and attributions: who wrote what the essay quotes (all chapters).

Each claim is data (:class:`.records.Claim`); ``compute`` recomputes its number with vlmlab through
:mod:`.recompute` (imported lazily, so importing this module stays cheap). Collected by :mod:`.ledger`.
"""
from __future__ import annotations

from . import recompute as r
from .records import Claim

#: attributions that credit a passage to someone who did not write it: three of Gigant's
#: sentences given to others, and the essay's own clause placed inside a quotation of Gigant
WRONG_AUTHOR: tuple[str, ...] = ("hf-compression-framing", "llava-quote-source", "fuyu-quote-source",
                                 "bitter-lesson-quote")


CLAIMS: tuple[Claim, ...] = (
    Claim("victor-quote", 1, "quotation", "Quotes arXiv 2410.14072 on quadratic cost and on "
          "LLaVA-NeXT's 2,880 tokens at 672x672.", "verbatim quote", "unsupported", "Neither "
          "sentence was found in the paper's abstract or the text searched here; the paper frames "
          "the problem as visual tokens outnumbering prompt tokens.",
          "https://arxiv.org/abs/2410.14072", "wen2024victor", value="not found in the paper"),
    Claim("victor-title", 1, "attribution", "Cites arXiv 2410.14072 under a shortened title "
          "that stops at 'Visual Tokens'.", "short title", "roughly", "The title continues "
          "'into Compact Registers' (Wen, Cao, Fu, Mehta, Najibi, 2024); the method is Victor.",
          "https://arxiv.org/abs/2410.14072", "wen2024victor",
          value="Efficient Vision-Language Models by Summarizing Visual Tokens into Compact Registers"),
    Claim("quadratic-quote", 2, "quotation", "Quotes arXiv 2410.06169: cutting visual-visual "
          "attention makes cost linear in the number of images.", "verbatim quote", "roughly",
          "The paper does prune vision-related computation so that cost grows linearly, but with "
          "the number of visual tokens; the quoted sentence is not in its abstract.",
          "https://arxiv.org/abs/2410.06169", "pham2024quadratic",
          value="linear in visual tokens after pruning (v1 abstract)"),
    Claim("stackoverflow-quote", 3, "attribution", "Uses a Stack Overflow error message as "
          "evidence that visual tokens overflow context windows.", "visual tokens", "wrong",
          "The quoted error is about retrieving top_k = 3 documents into an 8,192-token prompt "
          "(RAG); no image is involved.", r.STACK_OVERFLOW, "openai2023gpt4",
          value="a RAG prompt over GPT-4's 8,192-token limit"),
    Claim("medium-quote", 4, "quotation", "Quotes a Medium post: memory bandwidth is often a worse "
          "bottleneck than FLOPs.", "verbatim quote", "unsupported", "The post could not be "
          "retrieved; the idea itself is FlashAttention's IO argument, its primary source.",
          r.MEDIUM, "dao2022flashattention", value="not verified; see Dao et al. 2022"),
    Claim("hf-dismissed-quote", 5, "quotation", "Quotes the HF blog: cross-attention was mostly "
          "dismissed because it adds many new parameters.", "verbatim quote", "holds", "The "
          "sentence is in the Hugging Face version of Gigant's post (fusion summary); the copies "
          "on the author's own site lack it.", r.GIGANT,
          "gigant2024vlmdesign", value="present in the blog's fusion-strategy list"),
    Claim("hf-compression-framing", 5, "attribution", "Presents, inside the HF blog quote, the "
          "view that interleaved tokens win only once heavily compressed.", "after compression",
          "wrong", "The clause is the essay's; the blog's own table lists 8 of 10 models as "
          "interleaved, 5 of them with a projection that keeps every token.", r.GIGANT,
          "gigant2024vlmdesign", value="8/10 interleaved; 6/10 plain projection"),
    Claim("blip2-quote", 5, "quotation", "Quotes BLIP-2 on queries cross-attending to the frozen "
          "encoder and self-attending among themselves.", "verbatim quote", "roughly", "Right in "
          "substance (queries self-attend and cross-attend every other block), but not the paper's "
          "wording.", "https://arxiv.org/abs/2301.12597", "li2023blip2", value="paraphrase"),
    Claim("llava-quote-source", 5, "attribution", "Attributes a passage on LLaVA's projection to "
          "the LLaVA website.", "llava-vl.github.io", "wrong", "The passage is from Gigant's HF "
          "blog post, which describes LLaVA.", r.GIGANT, "gigant2024vlmdesign",
          value="Gigant (2024), HF blog"),
    Claim("wico-quote", 5, "quotation", "Quotes the WiCo abstract on sliding-window concatenation "
          "of adjacent visual tokens.", "verbatim quote", "roughly", "The first two sentences are "
          "verbatim; the closing clause about spatial structure is the essay's.",
          "https://arxiv.org/abs/2504.04024", "li2025wico", value="first two sentences verbatim"),
    Claim("access-dates", 5, "attribution", "Gives 2025-01-31 as the access date of all sources, "
          "WiCo included.", "2025-01-31", "wrong", "WiCo was posted on 5 April 2025 and DeepSeek-"
          "OCR in October 2025, after the stated access date.", "https://arxiv.org/abs/2504.04024",
          "li2025wico", value="2025-04-05"),
    Claim("fuyu-quote-source", 6, "attribution", "Attributes the sentence about handing raw patch "
          "embeddings to the LM to Adept's Fuyu blog.", "Adept blog", "wrong",
          "The sentence is Gigant's summary in the HF post; Adept's own words are 'easier to understand, scale, and deploy'.",
          r.GIGANT, "gigant2024vlmdesign", value="Gigant (2024), HF blog"),
    Claim("fuyu-cost-quote", 6, "quotation", "Quotes the HF blog: Fuyu's training data and cost "
          "were not disclosed, probably far above LLaVA's.", "verbatim quote", "holds", "The "
          "passage is in Gigant's post, explicitly as a guess.", r.GIGANT, "gigant2024vlmdesign",
          value="present, as speculation"),
    Claim("granularity-quote", 8, "attribution", "Quotes the HF blog that vision and audio are "
          "fine-grained while text is coarse (the guitar example).", "HF blog", "roughly", "The "
          "guitar sentence is Alayrac et al. (2020), which Gigant quotes; the essay merges both.",
          "https://arxiv.org/abs/2006.16228", "alayrac2020mmv", value="Alayrac et al. (2020)"),
    Claim("bitter-lesson-quote", 9, "attribution", "Attributes the sentence calling today's alignment "
          "and token-budget tricks temporary solutions to Sutton.", "Sutton",
          "wrong", "The sentence is Gigant's, in the HF post's closing section, which links to "
          "Sutton's essay.", r.GIGANT, "gigant2024vlmdesign", value="Gigant (2024), HF blog"),
    Claim("fuyu-mod-quote", 9, "quotation", "Quotes the HF blog: end-to-end models, Fuyu-MoD-style "
          "with infinite context.", "verbatim quote", "holds", "In the post's final version (the "
          "first said 'Fuyu-style').", r.GIGANT, "gigant2024vlmdesign", value="present"),
)
