"""Tests of vlmlab.granularity (chapter 8). Expected values are hand derivations written here,
the ToMe paper's algorithm worked by hand, or transformers' constants; never the code's own output."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vlmlab.granularity import (CLIP_MEAN, CLIP_STD, bipartite_soft_matching_step, check_budget, cosine,
                                list_images, load_image, mse, neighbour_cosine, neighbour_pairs, normalise,
                                patch_entropy_bits, patchify, pool_grid, predicted_merge_mse, prune_by_variance,
                                psnr_db, random_patch_embedding, reconstruct, reduction_error, tome_merge,
                                unpatchify)


def rng_patches(n, d=12, seed=0):
    return np.random.default_rng(seed).random((n, d))


# --- patches and similarity -------------------------------------------------------------------

def test_patchify_round_trip_and_order():
    img = np.arange(4 * 6 * 3, dtype=float).reshape(4, 6, 3)
    p = patchify(img, 2)
    assert p.shape == (6, 12)                     # (4/2)*(6/2) patches of 2*2*3 values
    assert np.array_equal(p[1], img[0:2, 2:4].ravel())   # raster order: row 0, column 1
    assert np.array_equal(p[3], img[2:4, 0:2].ravel())   # row 1, column 0
    assert np.array_equal(unpatchify(p, (2, 3), 2), img)


def test_patchify_rejects_a_patch_that_does_not_divide():
    with pytest.raises(ValueError, match="patch_px=14 must divide the image size 100x100"):
        patchify(np.zeros((100, 100, 3)), 14)


def test_clip_normalisation_matches_transformers():
    constants = pytest.importorskip("transformers.utils.constants")
    assert np.allclose(CLIP_MEAN, constants.OPENAI_CLIP_MEAN)
    assert np.allclose(CLIP_STD, constants.OPENAI_CLIP_STD)


@pytest.mark.parametrize("value", [0.0, 0.3, 1.0, "clip-mean"])
def test_neighbour_similarity_of_a_constant_image_is_one(value):
    img = np.broadcast_to(CLIP_MEAN if value == "clip-mean" else value, (28, 42, 3)).astype(float)
    sims = neighbour_cosine(normalise(patchify(img, 14)), (2, 3))
    assert len(sims) == 2 * 2 + 1 * 3             # 4 horizontal + 3 vertical pairs in a 2x3 grid
    assert np.allclose(sims, 1.0)


def test_cosine_by_hand():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    b = np.array([[0.0, 2.0], [-3.0, -3.0], [0.0, 0.0], [1.0, 0.0]])
    assert np.allclose(cosine(a, b), [0.0, -1.0, 1.0, 0.0])


def test_neighbour_pairs_of_a_2x2_grid():
    assert neighbour_pairs((2, 2)).tolist() == [[0, 1], [2, 3], [0, 2], [1, 3]]


def test_patch_entropy_by_hand():
    flat = np.full((1, 4 * 4 * 3), 0.5)
    two_levels = np.repeat([0.0, 1.0], 8 * 3).reshape(1, -1)      # half black, half white
    ramp = np.repeat(np.arange(16) / 255, 3).reshape(1, -1)       # 16 distinct grey levels
    assert patch_entropy_bits(np.vstack([flat, two_levels, ramp])) == pytest.approx([0.0, 1.0, 4.0])


def test_random_patch_embedding_is_seeded_and_keeps_duplicates_identical():
    import torch

    p = rng_patches(3, d=2 * 2 * 3)
    p[2] = p[0]
    state = torch.random.get_rng_state()
    e1, e2 = random_patch_embedding(p, width=64, seed=1), random_patch_embedding(p, width=64, seed=1)
    assert torch.equal(state, torch.random.get_rng_state())       # the global RNG is left alone
    assert np.array_equal(e1, e2) and e1.shape == (3, 64)
    assert cosine(e1[:1], e1[2:])[0] == pytest.approx(1.0)


# --- ToMe bipartite soft matching --------------------------------------------------------------

def test_tome_step_worked_by_hand():
    # A = tokens 0, 2; B = tokens 1, 3. cos(t0, t3) = 1/sqrt(1.01) = 0.995 beats cos(t2, t3) = 0.774,
    # so with r = 1 token 0 merges into token 3: (1, 0) and (1, 0.1) average to (1, 0.05), size 2.
    # Output order (tome/merge.py): kept A tokens first, then the B tokens.
    t = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.1]])
    tokens, sizes, new_index = bipartite_soft_matching_step(t, np.ones(4), t, r=1)
    assert np.allclose(tokens, [[1.0, 1.0], [0.0, 1.0], [1.0, 0.05]])
    assert sizes.tolist() == [1, 1, 2]
    assert new_index.tolist() == [2, 1, 0, 2]


def test_tome_step_weights_by_size():
    # a token of size 3 at (3, 3) merged with one of size 1 at (1, 1): (3*3 + 1*1) / 4 = 2.5
    t = np.array([[3.0, 3.0], [1.0, 1.0]])
    tokens, sizes, _ = bipartite_soft_matching_step(t, np.array([3.0, 1.0]), t, r=1)
    assert np.allclose(tokens, [[2.5, 2.5]]) and sizes.tolist() == [4.0]


def test_tome_step_refuses_more_than_half():
    with pytest.raises(ValueError, match=r"r must be between 0 and half the tokens \(2\), got 3"):
        bipartite_soft_matching_step(np.eye(5), np.ones(5), np.eye(5), r=3)


@pytest.mark.parametrize("pair", [(2, 5), (0, 7), (4, 1)])
def test_tome_merges_identical_tokens_first(pair):
    p = rng_patches(8, d=6, seed=3)
    p[pair[1]] = p[pair[0]]                        # one even (set A) and one odd (set B) index
    red = tome_merge(p, budget=7, layers=None)
    merged = [i for i in range(8) if (red.owner == red.owner[i]).sum() == 2]
    assert sorted(merged) == sorted(pair)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 80), frac=st.floats(0.01, 1.0), layers=st.sampled_from([None, 1, 4, 24]),
       seed=st.integers(0, 1000))
def test_tome_keeps_the_budget_and_conserves_the_mean(n, frac, layers, seed):
    p = rng_patches(n, seed=seed)
    budget = max(1, int(frac * n))
    red = tome_merge(p, budget, layers=layers)
    assert red.n_tokens == budget
    assert red.sizes.sum() == n
    assert np.array_equal(np.bincount(red.owner, minlength=budget), red.sizes)  # every token owns its size
    # a size-weighted mean of merged tokens equals the mean of all patches (mass is conserved) ...
    assert np.allclose((red.sizes[:, None] * red.tokens).sum(0) / n, p.mean(0))
    # ... and each token is the mean of the patches it stands for
    for j in range(budget):
        assert np.allclose(red.tokens[j], p[red.owner == j].mean(0))


def test_full_budget_is_lossless():
    img = load_image("photo", 56).pixels
    p = patchify(img, 14)
    red = tome_merge(p, p.shape[0])
    assert psnr_db(mse(reconstruct(red, (4, 4), 14), img)) == math.inf
    assert reduction_error(img, red, 14)["psnr_db"] == math.inf


@pytest.mark.parametrize("budget, err, msg", [
    (0, ValueError, "budget must be an integer >= 1, got 0"),
    (17, ValueError, r"budget must be between 1 and the number of tokens \(16\), got 17"),
    (2.5, TypeError, "budget must be an integer >= 1, got float 2.5"),
    (True, TypeError, "budget must be an integer"),
])
def test_bad_budgets_raise_clear_errors(budget, err, msg):
    p = rng_patches(16)
    for fn in (tome_merge, prune_by_variance):
        with pytest.raises(err, match=msg):
            fn(p, budget)
    with pytest.raises(err, match=msg):
        check_budget(budget, 16)


# --- pruning, pooling, errors ------------------------------------------------------------------

def test_pruning_keeps_the_k_highest_variance_patches():
    # patch i alternates +i/100 and -i/100 around 0.5: variance (i/100)^2, so the order is known.
    order = np.random.default_rng(0).permutation(10)
    signs = np.tile([1.0, -1.0], 6)
    p = np.stack([0.5 + signs * order[i] / 100 for i in range(10)])
    red = prune_by_variance(p, 3)
    kept = np.flatnonzero(red.owner >= 0)
    assert sorted(order[kept]) == [7, 8, 9]
    assert (red.owner < 0).sum() == 7 and red.n_tokens == 3


def test_pruning_with_a_summary_token_spends_one_token_on_the_dropped_mean():
    p = rng_patches(10)
    red = prune_by_variance(p, 4, summary=True)
    assert red.n_tokens == 4 and (red.owner >= 0).all()
    dropped = red.owner == 3
    assert dropped.sum() == 7 and np.allclose(red.tokens[3], p[dropped].mean(0))
    with pytest.raises(ValueError, match="at least 2 with summary=True"):
        prune_by_variance(p, 1, summary=True)


def test_reconstruct_fills_dropped_patches_with_the_clip_mean_colour():
    p = np.vstack([np.zeros(12), np.ones(12)])      # two 2x2 RGB patches: black (variance 0), white
    p[1, :3] = 0.0                                  # give the second patch some variance
    red = prune_by_variance(p, 1)
    out = reconstruct(red, (1, 2), 2)
    assert np.allclose(out[:, :2], CLIP_MEAN)       # dropped patch 0
    assert np.allclose(out[:, 2:].ravel(), p[1])


def test_pool_grid_2x2_by_hand():
    p = np.arange(16, dtype=float)[:, None]
    red = pool_grid(p, (4, 4), 2)
    assert red.owner.tolist() == [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]
    assert red.tokens.ravel().tolist() == [2.5, 4.5, 10.5, 12.5]   # e.g. (0 + 1 + 4 + 5) / 4
    with pytest.raises(ValueError, match="factor=3 must divide the token grid 4x4"):
        pool_grid(p, (4, 4), 3)


def test_psnr_by_hand_and_perfect_copy():
    assert psnr_db(0.01) == pytest.approx(20.0)      # 10 log10(1 / 0.01)
    assert psnr_db(0.0) == math.inf
    with pytest.raises(ValueError, match="mse_value must be a number >= 0"):
        psnr_db(-1.0)
    assert mse(np.zeros((2, 2, 3)), np.full((2, 2, 3), 0.5)) == pytest.approx(0.25)


def test_variance_lost_by_hand():
    # a 2x2 grey image of 1x1 patches, values 0, 0, 1, 1 (variance 0.25), pooled 2x2 into its mean
    # 0.5: every pixel is off by 0.5, MSE 0.25, so all of the variance is lost and PSNR is 6.02 dB
    pixels = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]])[:, :, None], 3, axis=2)
    err = reduction_error(pixels, pool_grid(patchify(pixels, 1), (2, 2), 2), 1)
    assert err["mse"] == pytest.approx(0.25) and err["variance_lost"] == pytest.approx(1.0)
    assert err["psnr_db"] == pytest.approx(10 * math.log10(4))
    # the same loss at half the contrast (values 0.25, 0.75): a quarter of the MSE, so 6 dB "better"
    # PSNR, yet still all of the variance lost
    err_low = reduction_error(0.25 + pixels / 2, pool_grid(patchify(0.25 + pixels / 2, 1), (2, 2), 2), 1)
    assert err_low["mse"] == pytest.approx(0.0625) and err_low["variance_lost"] == pytest.approx(1.0)


def test_predicted_merge_mse_by_hand():
    # two 1-value patches 0.2 and 0.6 side by side: merging them costs (0.4)^2 / 2 = 0.08 in total,
    # spread over 2 values -> MSE 0.04
    assert predicted_merge_mse(np.array([[0.2], [0.6]]), (1, 2), 1) == pytest.approx(0.04)
    with pytest.raises(ValueError, match="at least half the tokens"):
        predicted_merge_mse(rng_patches(16), (4, 4), 4)


# --- images -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list_images())
def test_images_load_as_square_unit_range_arrays(name):
    s = load_image(name, 112)
    assert s.pixels.shape == (112, 112, 3)
    assert 0.0 <= s.pixels.min() and s.pixels.max() <= 1.0
    assert s.kind in {"photograph", "natural", "text"} and s.source


def test_text_images_are_mostly_white_and_the_photo_is_not():
    assert load_image("page", 112).pixels.mean() > 0.85
    assert load_image("photo", 112).pixels.mean() < 0.6


def test_unknown_image_suggests_a_name():
    with pytest.raises(KeyError, match="did you mean 'photo'"):
        load_image("photos")
