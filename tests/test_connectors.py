"""Tests of vlmlab.connectors against transformers' modules, hand derivations and FlopCounterMode."""
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from vlmlab import connectors as C
from vlmlab.errors import UnknownNameError

D_IN, D_OUT = 32, 48
GRID = 64  # an 8 x 8 token grid

SMALL = {
    "mlp": dict(d_in=D_IN, d_out=D_OUT),
    "qformer": dict(d_in=D_IN, d_out=D_OUT, n_queries=5, d_model=24, n_layers=3, n_heads=4, d_ff=40),
    "perceiver": dict(d_in=D_IN, d_model=D_OUT, n_latents=6, depth=2, n_heads=4, head_dim=8, n_kv_heads=2),
    "xattn": dict(d_model=D_OUT, d_visual=D_IN, n_heads=4, n_kv_heads=2),
    "avgpool": dict(d_in=D_IN, d_out=D_OUT, k=3),
    "cabstractor": dict(d_in=D_IN, d_out=D_OUT, k=3, d_hidden=16),
    "wico": dict(d_in=D_IN, d_out=D_OUT, w=4),
    "pixel_shuffle": dict(d_in=D_IN, d_out=D_OUT),
    "fuyu": dict(d_out=D_OUT),
}
# Tokens handed to the LM for an 8 x 8 grid (Fuyu: a 240 x 240 image = 8 x 8 patches of 30 px).
EXPECTED_TOKENS = {"mlp": 64, "qformer": 5, "perceiver": 6, "xattn": 0, "avgpool": 9, "cabstractor": 9,
                   "wico": 4, "pixel_shuffle": 16, "fuyu": 64}


def _run(name, m, batch=2):
    torch.manual_seed(0)
    if name == "fuyu":
        return m(torch.randn(batch, 3, 240, 240))
    feats = torch.randn(batch, GRID, D_IN)
    if name == "xattn":
        return m(torch.randn(batch, 7, D_OUT), feats)
    return m(feats)


def test_registry_lists_every_family_and_suggests_names():
    assert set(C.list_connectors()) == set(SMALL)
    with pytest.raises(UnknownNameError, match="did you mean 'qformer'"):
        C.build("qformr")


@pytest.mark.parametrize("name", list(SMALL))
def test_output_shape_matches_output_tokens(name):
    m = C.build(name, **SMALL[name]).eval()
    y = _run(name, m)
    assert m.output_tokens(GRID) == EXPECTED_TOKENS[name]
    if name == "xattn":
        assert y.shape == (2, 7, D_OUT)  # the text keeps its length: nothing is concatenated
        assert m.fusion == "cross-attention"
    else:
        assert y.shape == (2, EXPECTED_TOKENS[name], D_OUT)
        assert m.fusion == "sequence"


@pytest.mark.parametrize("name", list(SMALL))
def test_flops_equal_flop_counter_mode(name):
    m = C.build(name, **SMALL[name]).eval()
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        _run(name, m, batch=2)
    kwargs = {"n_text": 7} if name == "xattn" else {}
    assert m.flops(GRID, batch=2, **kwargs).total == counter.get_total_flops()


# Parameter counts derived by hand from the layer shapes (weights + biases).
def test_parameter_counts_by_hand():
    mlp = (D_IN * D_OUT + D_OUT) + (D_OUT * D_OUT + D_OUT)
    assert C.build("mlp", **SMALL["mlp"]).num_parameters() == mlp
    assert C.build("avgpool", **SMALL["avgpool"]).num_parameters() == mlp
    assert C.build("wico", **SMALL["wico"]).num_parameters() == 16 * D_IN * D_OUT + D_OUT
    assert C.build("fuyu", **SMALL["fuyu"]).num_parameters() == 30 * 30 * 3 * D_OUT + D_OUT
    ps = 2 * 4 * D_IN + (4 * D_IN * D_OUT + D_OUT) + (D_OUT * D_OUT + D_OUT)  # LayerNorm(4d) + MLP
    assert C.build("pixel_shuffle", **SMALL["pixel_shuffle"]).num_parameters() == ps
    cab = (9 * D_IN * 16 + 16) + (9 * 16 * 16 + 16) + (16 * D_OUT + D_OUT) + (D_OUT * D_OUT + D_OUT)
    assert C.build("cabstractor", **SMALL["cabstractor"]).num_parameters() == cab
    # gated cross-attention, head_dim = 48 / 4 heads = 12: q, o (48 x 48 each), k, v (32 -> 2 KV heads x 12),
    # two LayerNorms (weight + bias), bias-free GELU FFN 48 -> 192 -> 48, two scalar gates
    xattn = 2 * D_OUT * D_OUT + 2 * D_IN * 24 + 2 * 2 * D_OUT + 2 * 4 * D_OUT * D_OUT + 2
    assert C.build("xattn", **SMALL["xattn"]).num_parameters() == xattn
    # Flamingo-style perceiver: in-projection, latents, per layer 3 LayerNorms + q,k,v,o + GELU FFN, final LN
    d, hd = D_OUT, 8
    layer = 3 * 2 * d + 4 * d * 4 * hd + 2 * 4 * d * d
    fl = C.build("perceiver", d_in=D_IN, d_model=d, n_latents=6, depth=2, n_heads=4, head_dim=hd, style="flamingo")
    assert fl.num_parameters() == (D_IN * d + d) + 6 * d + 2 * layer + 2 * d


def test_llava15_projector_has_21m_parameters():
    # LLaVA-1.5-7B: CLIP ViT-L/14-336 width 1024 -> Vicuna-7B width 4096, two layers with biases.
    assert C.build("mlp", d_in=1024, d_out=4096).num_parameters() == 1024 * 4096 + 4096 + 4096 * 4096 + 4096


def test_gated_cross_attention_is_identity_at_init_and_not_after():
    m = C.build("xattn", **SMALL["xattn"]).eval()
    x, visual = torch.randn(2, 7, D_OUT), torch.randn(2, 10, D_IN)
    assert torch.equal(m(x, visual), x)
    with torch.no_grad():
        m.attn_gate.fill_(0.5)
    assert not torch.allclose(m(x, visual), x)


# ---- cross-checks against transformers (random init, no downloads) ----

def _copy_in_order(src, dst):
    """Copy parameters pairwise in definition order (shapes must agree one to one)."""
    a, b = list(src.parameters()), list(dst.parameters())
    assert [p.shape for p in a] == [p.shape for p in b]
    with torch.no_grad():
        for p, q in zip(a, b):
            q.copy_(p)


def test_mlp_matches_llava_multimodal_projector():
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig
    from transformers.models.llava.modeling_llava import LlavaMultiModalProjector

    cfg = LlavaConfig(vision_config=CLIPVisionConfig(hidden_size=D_IN, num_attention_heads=4),
                      text_config=LlamaConfig(hidden_size=D_OUT, num_attention_heads=4),
                      projector_hidden_act="gelu")
    ref, ours = LlavaMultiModalProjector(cfg).eval(), C.build("mlp", d_in=D_IN, d_out=D_OUT).eval()
    assert ours.num_parameters() == sum(p.numel() for p in ref.parameters())
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 9, D_IN)
    torch.testing.assert_close(ours(x), ref(x))


def test_qformer_matches_blip2_qformer_with_query_tokens_and_projection():
    from transformers import Blip2QFormerConfig
    from transformers.models.blip_2.modeling_blip_2 import Blip2QFormerModel

    cfg = Blip2QFormerConfig(hidden_size=24, num_hidden_layers=3, num_attention_heads=4, intermediate_size=40,
                             encoder_hidden_size=D_IN, cross_attention_frequency=2)
    qformer = Blip2QFormerModel(cfg).eval()
    query_tokens = torch.nn.Parameter(torch.randn(1, 5, 24))
    projection = torch.nn.Linear(24, D_OUT)  # Blip2Model.language_projection
    ours = C.build("qformer", **SMALL["qformer"]).eval()
    ref_count = sum(p.numel() for p in qformer.parameters()) + query_tokens.numel() + sum(
        p.numel() for p in projection.parameters())
    assert ours.num_parameters() == ref_count
    # same numbers out when the weights are copied (both are post-LayerNorm BERT blocks)
    with torch.no_grad():
        for p in qformer.parameters():
            p.normal_(0, 0.3)
        ours.query_tokens.copy_(query_tokens)
        ours.language_projection.load_state_dict(projection.state_dict())
    _copy_in_order(qformer, torch.nn.ModuleList([ours.layernorm, ours.layers]))
    image = torch.randn(2, 11, D_IN)
    ref = projection(qformer(query_embeds=query_tokens.expand(2, -1, -1), encoder_hidden_states=image)
                     .last_hidden_state)
    torch.testing.assert_close(ours(image), ref, rtol=1e-4, atol=1e-5)


def test_blip2_default_qformer_size():
    """BLIP-2's own config (768 wide, 12 layers, 32 queries, EVA width 1408) in both implementations."""
    from transformers import Blip2QFormerConfig
    from transformers.models.blip_2.modeling_blip_2 import Blip2QFormerModel

    with torch.device("meta"):
        ref = sum(p.numel() for p in Blip2QFormerModel(Blip2QFormerConfig()).parameters())
        ours = C.build("qformer", d_out=None).num_parameters()
    assert ours == ref + 32 * 768


def test_perceiver_matches_idefics2_resampler():
    from transformers.models.idefics2.configuration_idefics2 import Idefics2PerceiverConfig
    from transformers.models.idefics2.modeling_idefics2 import Idefics2PerceiverResampler

    cfg = Idefics2PerceiverConfig(hidden_size=D_OUT, resampler_n_latents=6, resampler_depth=2,
                                  resampler_n_heads=4, resampler_head_dim=8, num_key_value_heads=2)
    ref = Idefics2PerceiverResampler(cfg).eval()
    ours = C.build("perceiver", d_model=D_OUT, n_latents=6, depth=2, n_heads=4, head_dim=8, n_kv_heads=2).eval()
    assert ours.num_parameters() == sum(p.numel() for p in ref.parameters())
    with torch.no_grad():
        for p in ref.parameters():
            p.normal_(0, 0.3)
    _copy_in_order(ref, ours)
    context = torch.randn(2, 13, D_OUT)
    out = ref(context=context, attention_mask=torch.ones(2, 13, dtype=torch.long))
    assert out.shape == ours(context).shape == (2, 6, D_OUT)
    torch.testing.assert_close(ours(context), out, rtol=1e-4, atol=1e-5)


def test_fuyu_patch_embedding_matches_fuyu_vision_embed_tokens():
    from transformers import FuyuConfig, PersimmonConfig
    from transformers.models.fuyu.modeling_fuyu import FuyuModel

    cfg = FuyuConfig(text_config=PersimmonConfig(hidden_size=D_OUT, num_hidden_layers=1, num_attention_heads=4,
                                                 intermediate_size=64, vocab_size=100).to_dict())
    with torch.device("meta"):
        ref = FuyuModel(cfg).vision_embed_tokens
    ours = C.build("fuyu", d_out=D_OUT)
    assert (ref.in_features, ref.out_features) == (30 * 30 * 3, D_OUT)
    assert ours.num_parameters() == sum(p.numel() for p in ref.parameters())


def test_pixel_shuffle_matches_internvl_projector_size():
    from transformers import InternVLConfig

    from transformers.models.internvl.modeling_internvl import InternVLMultiModalProjector

    cfg = InternVLConfig(vision_config={"hidden_size": D_IN}, text_config={"model_type": "qwen2", "hidden_size": D_OUT},
                         downsample_ratio=0.5)
    ref = InternVLMultiModalProjector(cfg)
    ours = C.build("pixel_shuffle", d_in=D_IN, d_out=D_OUT)
    assert ours.num_parameters() == sum(p.numel() for p in ref.parameters())
    ours.load_state_dict(ref.state_dict())


# ---- properties ----

@settings(max_examples=20, deadline=None)
@given(side=st.integers(1, 12), w=st.sampled_from([1, 2, 3]))
def test_window_concat_divides_tokens_by_window_area(side, w):
    m = C.WindowConcat(d_in=4, d_out=4, w=w)
    n = (side * w) ** 2
    assert m.output_tokens(n) == side * side
    assert m.flops(n).total == 2 * side * side * (w * w * 4) * 4


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5000))
def test_compressors_hand_a_fixed_count_and_projectors_keep_it(n):
    assert C.QFormer(d_in=8, d_out=8, d_model=8, n_layers=1, n_heads=2, d_ff=8).output_tokens(n) == 32
    assert C.MLPProjector(8, 8).output_tokens(n) == n
    # doubling the image tokens doubles the projector's FLOPs
    assert C.MLPProjector(8, 8).flops(2 * n).total == 2 * C.MLPProjector(8, 8).flops(n).total


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="n_in must be a square number"):
        C.AvgPoolProjector(4, 4, k=2).output_tokens(10)
    with pytest.raises(ValueError, match="multiple of the window w=3"):
        C.WindowConcat(4, 4, w=3).output_tokens(16)
    with pytest.raises(ValueError, match="style must be one of"):
        C.PerceiverResampler(d_model=8, style="llava")
    with pytest.raises(ValueError, match="d_in must be an integer >= 1"):
        C.MLPProjector(0, 4)
    with pytest.raises(ValueError, match="pixels must be"):
        C.FuyuPatchEmbedding(d_out=4)(torch.randn(1, 3, 31, 30))
