"""Context-window budgets: how many images, how much text, how many dialogue turns fit.

All counts are whole tokens and whole items (floor division: half an image does not fit).
Overflow policy: a function that is asked what is *left* after a fixed spend raises
:class:`ContextOverflowError` (a ``ValueError``) when the spend alone exceeds the window, with
the overflow in tokens in the message and in ``.overflow_tokens``; nothing is silently clipped
to 0. Use :func:`overflow_tokens` to ask "by how much does this not fit?" without an exception
(chapter 3's calculator does). Used by chapters 1 and 3. Pure Python.
"""
from __future__ import annotations

from .errors import non_negative_int, positive_int


class ContextOverflowError(ValueError):
    """The tokens already committed exceed the context window; ``.overflow_tokens`` says by how much."""

    def __init__(self, what: str, tokens: int, window: int):
        self.overflow_tokens = tokens - window
        super().__init__(f"{what} ({tokens:,} tokens) exceed the context window ({window:,} tokens) "
                         f"by {self.overflow_tokens:,} tokens; spend fewer or raise context_window")


def overflow_tokens(context_window: int, *token_counts: int) -> int:
    """Tokens by which ``sum(token_counts)`` exceeds ``context_window`` (0 when it fits). Ch. 3."""
    window = positive_int("context_window", context_window)
    total = sum(non_negative_int("token_counts", t) for t in token_counts)
    return max(0, total - window)


def images_that_fit(context_window: int, tokens_per_image: int, text_tokens: int = 0) -> int:
    """Whole images of ``tokens_per_image`` tokens that fit beside ``text_tokens`` (chapters 1, 3).

    ``(context_window - text_tokens) // tokens_per_image``; raises ContextOverflowError when the
    text alone is longer than the window.
    """
    window = positive_int("context_window", context_window)
    per_image = positive_int("tokens_per_image", tokens_per_image)
    text = non_negative_int("text_tokens", text_tokens)
    if text > window:
        raise ContextOverflowError("text_tokens", text, window)
    return (window - text) // per_image


def text_tokens_left(context_window: int, n_images: int, tokens_per_image: int) -> int:
    """Tokens left for text after ``n_images`` images (chapter 3).

    ``context_window - n_images * tokens_per_image``; raises ContextOverflowError when the
    images alone do not fit.
    """
    window = positive_int("context_window", context_window)
    images = non_negative_int("n_images", n_images) * positive_int("tokens_per_image", tokens_per_image)
    if images > window:
        raise ContextOverflowError(f"{n_images:,} images x {tokens_per_image:,} tokens", images, window)
    return window - images


def dialogue_turns(context_window: int, image_tokens: int, tokens_per_turn: int) -> int:
    """Whole dialogue turns of ``tokens_per_turn`` tokens that fit after ``image_tokens`` (ch. 3).

    A turn is whatever the reader counts as one (a question plus its answer, say).
    ``(context_window - image_tokens) // tokens_per_turn``; raises ContextOverflowError when the
    image tokens alone exceed the window.
    """
    window = positive_int("context_window", context_window)
    images = non_negative_int("image_tokens", image_tokens)
    per_turn = positive_int("tokens_per_turn", tokens_per_turn)
    if images > window:
        raise ContextOverflowError("image_tokens", images, window)
    return (window - images) // per_turn
