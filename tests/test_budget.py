"""vlmlab.budget: whole images, text and turns that fit a context window; overflow is an error."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vlmlab.budget import (ContextOverflowError, dialogue_turns, images_that_fit, overflow_tokens,
                           text_tokens_left)


def test_worked_examples_by_hand():
    # LLaVA-1.5's 576 tokens in LLaMA-2's 4,096: 7 images use 4,032, leaving 64 tokens
    assert images_that_fit(4096, 576) == 7
    assert text_tokens_left(4096, 7, 576) == 64
    # the essay's option A and B in an 8,192 window: 4,096 and 256 image tokens
    assert text_tokens_left(8192, 1, 4096) == 4096
    assert text_tokens_left(8192, 1, 256) == 7936
    assert dialogue_turns(8192, 4096, 500) == 8 and dialogue_turns(8192, 256, 500) == 15
    assert images_that_fit(8192, 4096, text_tokens=500) == 1
    assert images_that_fit(4096, 4096) == 1 and images_that_fit(4095, 4096) == 0


def test_overflow_raises_with_the_overflow_in_tokens():
    with pytest.raises(ContextOverflowError, match=r"10 images x 4,096 tokens \(40,960 tokens\) exceed "
                       r"the context window \(8,192 tokens\) by 32,768 tokens") as info:
        text_tokens_left(8192, 10, 4096)
    assert info.value.overflow_tokens == 32768 and isinstance(info.value, ValueError)
    with pytest.raises(ContextOverflowError, match="text_tokens"):
        images_that_fit(4096, 576, text_tokens=5000)
    with pytest.raises(ContextOverflowError, match="by 1 tokens"):
        dialogue_turns(4096, 4097, 100)
    # the essay's "10 images + 500 text tokens = 41,460" against LLaMA-3's 8,192
    assert overflow_tokens(8192, 10 * 4096, 500) == 41460 - 8192
    assert overflow_tokens(8192, 4096, 500) == 0


@pytest.mark.parametrize("call, kind, pattern", [
    (lambda: images_that_fit(0, 576), ValueError, "context_window must be an integer >= 1, got 0"),
    (lambda: images_that_fit(4096, 0), ValueError, "tokens_per_image must be an integer >= 1, got 0"),
    (lambda: images_that_fit(4096, 576.0), TypeError, "tokens_per_image must be an integer"),
    (lambda: text_tokens_left(4096, -1, 576), ValueError, "n_images must be an integer >= 0, got -1"),
    (lambda: dialogue_turns(4096, 100, 0), ValueError, "tokens_per_turn must be an integer >= 1"),
    (lambda: overflow_tokens(4096, "12"), TypeError, "token_counts must be an integer"),
])
def test_bad_inputs_raise_clear_errors(call, kind, pattern):
    with pytest.raises(kind, match=pattern):
        call()


@given(st.integers(1, 2_000_000), st.integers(1, 20_000), st.integers(0, 2_000_000))
def test_images_fit_exactly(window, per_image, text):
    if text > window:
        with pytest.raises(ContextOverflowError):
            images_that_fit(window, per_image, text)
        return
    k = images_that_fit(window, per_image, text)
    assert k * per_image + text <= window < (k + 1) * per_image + text
    assert overflow_tokens(window, k * per_image, text) == 0
    assert overflow_tokens(window, (k + 1) * per_image, text) > 0


@given(st.integers(1, 2_000_000), st.integers(0, 2_000_000), st.integers(1, 5_000))
def test_turns_are_monotone_in_image_tokens(window, images, per_turn):
    if images + per_turn > window:
        return
    assert dialogue_turns(window, images, per_turn) >= dialogue_turns(window, images + per_turn, per_turn)
    assert dialogue_turns(window, images, per_turn) == dialogue_turns(window, images + per_turn, per_turn) + 1


# --- brute force over every small case, exact fits (remainder 0) included ---------------------
def _most(window, used, per):
    """The largest k with used + k * per <= window, by counting up one at a time."""
    k = 0
    while used + (k + 1) * per <= window:
        k += 1
    return k


def test_budgets_equal_brute_force_on_every_small_case():
    for window in range(1, 41):
        for per in range(1, 13):
            for used in range(0, window + 1):
                assert images_that_fit(window, per, used) == _most(window, used, per)
                assert dialogue_turns(window, used, per) == _most(window, used, per)
            for n in range(0, window // per + 1):
                assert text_tokens_left(window, n, per) == window - sum([per] * n)
            with pytest.raises(ContextOverflowError):
                text_tokens_left(window, window // per + 1, per)
        for used in range(window + 1, window + 3):
            assert overflow_tokens(window, used) == used - window
            assert overflow_tokens(window, used - window, window) == used - window
            with pytest.raises(ContextOverflowError):
                dialogue_turns(window, used, 1)
            with pytest.raises(ContextOverflowError):
                images_that_fit(window, 1, used)


@pytest.mark.parametrize("window, images, per_turn, turns", [
    (8192, 4096, 512, 8),      # 4,096 left: exactly 8 turns of 512, no token to spare
    (8192, 4096, 513, 7),      # one more token per turn: 7 (3,591 used)
    (4096, 4096, 100, 0),      # the image fills the window exactly: no turn, but no overflow
    (4096, 0, 4096, 1),        # one turn fills an empty window exactly
    (576 * 7 + 64, 576 * 7, 64, 1),
])
def test_dialogue_turns_exact_fits(window, images, per_turn, turns):
    assert dialogue_turns(window, images, per_turn) == turns


def test_overflow_messages_name_what_overflowed():
    with pytest.raises(ContextOverflowError, match=r"^image_tokens \(4,097 tokens\) exceed"):
        dialogue_turns(4096, 4097, 1)
    with pytest.raises(ContextOverflowError, match=r"^text_tokens \(5,000 tokens\) exceed"):
        images_that_fit(4096, 576, text_tokens=5000)
