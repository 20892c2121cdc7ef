"""Tests of vlmlab.multiway: routing, parameter counts (BEiT-3's Table 2), equivalence with a plain
transformer block (torch.nn.TransformerEncoderLayer) and FLOPs (FlopCounterMode)."""
import pytest
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from vlmlab.multiway import (BEIT3_GIANT, EXPERTS, MultiwayBlock, MultiwayConfig, MultiwayTransformer,
                             route)

D, H, FF = 32, 4, 64


def _block(vl=False, seed=0):
    torch.manual_seed(seed)
    return MultiwayBlock(D, H, FF, vl_expert=vl).eval()


def _inputs(n_v=5, n_t=3, batch=2):
    torch.manual_seed(1)
    x = torch.randn(batch, n_v + n_t, D)
    modality = torch.tensor([0] * n_v + [1] * n_t)
    return x, modality


def _copy_expert_everywhere(block, source):
    clone = MultiwayBlock(D, H, FF, vl_expert=block.has_vl).eval()
    clone.load_state_dict(block.state_dict())
    for name in clone.experts:
        clone.experts[name].load_state_dict(block.experts[source].state_dict())
    return clone


def test_route_follows_modality_and_fuses_only_mixed_inputs_in_vl_blocks():
    mixed = torch.tensor([[0, 0, 1], [1, 1, 1]])
    assert route(mixed, has_vl=False).tolist() == [[0, 0, 1], [1, 1, 1]]
    # second sequence is text-only: it keeps the language expert even in a VL block
    assert route(mixed, has_vl=True).tolist() == [[2, 2, 2], [1, 1, 1]]
    with pytest.raises(ValueError, match="only 0 .vision. and 1 .language."):
        route(torch.tensor([[0, 2]]), has_vl=False)
    with pytest.raises(TypeError, match="integer tensor"):
        route(torch.tensor([[0.0, 1.0]]), has_vl=False)


def test_each_token_reaches_exactly_its_modalitys_expert():
    block = _block()
    seen = {}
    for name, expert in block.experts.items():
        expert.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, i[0].shape[0]))
    x, modality = _inputs(n_v=5, n_t=3, batch=2)
    block(x, modality)
    assert seen == {"vision": 2 * 5, "language": 2 * 3}


@pytest.mark.parametrize("source,mod", [("vision", 0), ("language", 1)])
def test_tokens_of_a_modality_depend_only_on_that_expert(source, mod):
    block = _block()
    x, modality = _inputs()
    same = _copy_expert_everywhere(block, source)  # every expert now holds `source`'s weights
    keep = modality == mod
    torch.testing.assert_close(block(x, modality)[:, keep], same(x, modality)[:, keep])
    other = ~keep
    assert not torch.allclose(block(x, modality)[:, other], same(x, modality)[:, other])


def test_vl_block_sends_mixed_input_to_vl_expert_and_single_modality_to_its_own():
    block = _block(vl=True)
    x, modality = _inputs()
    via_vl = _copy_expert_everywhere(block, "vl")
    torch.testing.assert_close(block(x, modality), via_vl(x, modality))
    images = x[:, :5]
    torch.testing.assert_close(block(images, modality[:5]), _copy_expert_everywhere(block, "vision")(images, modality[:5]))


def test_equals_plain_transformer_block_when_experts_share_weights():
    block = _copy_expert_everywhere(_block(vl=True), "vision")
    plain = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation="gelu", batch_first=True,
                                       norm_first=True).eval()
    a, e = block.attn, block.experts["vision"]
    with torch.no_grad():
        plain.self_attn.in_proj_weight.copy_(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]))
        plain.self_attn.in_proj_bias.copy_(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias]))
        plain.self_attn.out_proj.load_state_dict(a.out_proj.state_dict())
        plain.norm1.load_state_dict(a.norm.state_dict())
        plain.norm2.load_state_dict(e.norm.state_dict())
        plain.linear1.load_state_dict(e.fc1.state_dict())
        plain.linear2.load_state_dict(e.fc2.state_dict())
    x, modality = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(block(x, modality), plain(x), rtol=1e-5, atol=1e-5)


def test_parameters_are_shared_attention_plus_experts_by_hand():
    attn = 4 * (D * D + D) + 2 * D  # q, k, v, out with biases + LayerNorm
    expert = D * FF + FF + FF * D + D + 2 * D
    for vl, n_experts in ((False, 2), (True, 3)):
        p = _block(vl).num_parameters()
        assert p["shared_attention"] == attn and p["vision_expert"] == expert
        assert p.total == attn + n_experts * expert == sum(t.numel() for t in _block(vl).parameters())


def test_beit3_giant_parameters_match_the_papers_table_2():
    # BEiT-3 paper, Table 2: shared self-attention 317M, V-FFN 692M, L-FFN 692M, VL-FFN 52M
    # (hand check: 40 x 4 x 1408^2 = 317.2M; 40 x 2 x 1408 x 6144 = 692.1M; 3 x 17.3M = 51.9M).
    with torch.device("meta"):
        model = MultiwayTransformer(BEIT3_GIANT)
    p = model.num_parameters()
    for part, millions in (("shared_attention", 317), ("vision_expert", 692), ("language_expert", 692),
                           ("vl_expert", 52)):
        # within the paper's rounding (its counts are to the million; biases and norms add 0.5M)
        assert abs(p[part] / 1e6 - millions) < 0.6, (part, p[part])
    assert BEIT3_GIANT.image_tokens == 256  # 224 px in 14-px patches


@pytest.mark.parametrize("n_v,n_t,vl", [(6, 4, False), (6, 4, True), (6, 0, True), (0, 5, True)])
def test_flops_equal_flop_counter_mode_and_do_not_depend_on_routing(n_v, n_t, vl):
    block = _block(vl)
    x = torch.randn(2, n_v + n_t, D)
    modality = torch.tensor([0] * n_v + [1] * n_t)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        block(x, modality)
    assert 2 * block.flops(n_v, n_t).total == counter.get_total_flops()
    n = n_v + n_t
    assert block.flops(n_v, n_t).total == 8 * n * D * D + 4 * n * n * D + 4 * n * D * FF


def test_transformer_concatenates_and_routes_per_layer():
    cfg = MultiwayConfig("tiny", n_layers=3, d_model=D, n_heads=H, d_ff=FF, n_vl_layers=1)
    model = MultiwayTransformer(cfg).eval()
    assert [b.has_vl for b in model.blocks] == [False, False, True]
    y = model(vision=torch.randn(2, 5, D), text=torch.randn(2, 3, D))
    assert y.shape == (2, 8, D)
    assert set(model.num_parameters().parts) == {f"{e}_expert" for e in EXPERTS} | {"shared_attention"}
    with pytest.raises(ValueError, match="pass vision"):
        model()
    with pytest.raises(ValueError, match="n_vl_layers must be <= n_layers"):
        MultiwayConfig("bad", n_layers=2, d_model=D, n_heads=H, d_ff=FF, n_vl_layers=3)


@pytest.mark.parametrize("vl", [False, True])
@pytest.mark.parametrize("n_v", [0, 3, 7])
def test_sliced_routing_equals_routing_by_modality(vl, n_v):
    # the timed path (vision tokens first, routed by slicing) must give what routing by mask gives
    torch.manual_seed(0)
    block = MultiwayBlock(D, H, FF, vl_expert=vl).eval()
    x = torch.randn(2, 7, D)
    modality = torch.tensor([0] * n_v + [1] * (7 - n_v))
    with torch.no_grad():
        torch.testing.assert_close(block(x, n_vision=n_v), block(x, modality))
    with pytest.raises(ValueError, match="exactly one"):
        block(x)
    with pytest.raises(ValueError, match="n_vision"):
        block(x, n_vision=8)


def test_transformer_forward_equals_blocks_routed_by_modality():
    torch.manual_seed(0)
    cfg = MultiwayConfig("tiny", n_layers=3, d_model=D, n_heads=H, d_ff=FF, n_vl_layers=1)
    model = MultiwayTransformer(cfg).eval()
    v, t = torch.randn(1, 5, D), torch.randn(1, 3, D)
    x, modality = torch.cat([v, t], dim=1), torch.tensor([0] * 5 + [1] * 3)
    with torch.no_grad():
        for block in model.blocks:
            x = block(x, modality)
        torch.testing.assert_close(model(vision=v, text=t), x)
