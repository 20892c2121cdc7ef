"""Input checks that speak to the reader.

Every public vlmlab function validates its arguments with these helpers, so a bad value always
produces the same kind of message: the argument's name, the bad value, and what is allowed
(for names: the closest matches). Used by every chapter.
"""
from __future__ import annotations

import difflib
from numbers import Integral, Real
from typing import Iterable, Mapping, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """An unknown preset name; the message suggests close matches.

    Subclasses both KeyError (it is a failed lookup) and ValueError (it is a bad argument).
    """

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def lookup(name: str, table: Mapping[str, T], what: str = "model") -> T:
    """Return ``table[name]``; case, '-', '_' and '.' do not matter.

    An unknown name raises :class:`UnknownNameError` that suggests the closest names, e.g.
    ``unknown model 'llava1.6'; did you mean 'llava-next-7b'? Known: ...``.
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be a str, got {type(name).__name__} {name!r}")
    if name in table:
        return table[name]
    by_norm = {_normalise(k): k for k in table}
    key = by_norm.get(_normalise(name))
    if key is not None:
        return table[key]
    close = difflib.get_close_matches(name.lower(), [k.lower() for k in table], n=3, cutoff=0.5)
    close += [k for k in difflib.get_close_matches(_normalise(name), list(by_norm), n=3, cutoff=0.5)
              if by_norm[k].lower() not in close]
    names = [next(k for k in table if k.lower() == c) if c in {k.lower() for k in table} else by_norm[c]
             for c in close][:3]
    hint = f"; did you mean {' or '.join(repr(n) for n in names)}?" if names else ""
    raise UnknownNameError(f"unknown {what} {name!r}{hint} Known {what}s: {', '.join(sorted(table))}")


def positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Check that ``value`` is an integer >= ``minimum`` (bools are refused) and return it."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def non_negative_int(name: str, value) -> int:
    """Check that ``value`` is an integer >= 0 and return it."""
    return positive_int(name, value, minimum=0)


def positive_number(name: str, value) -> float:
    """Check that ``value`` is a finite real number > 0 and return it as float."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number > 0, got {type(value).__name__} {value!r}")
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def one_of(name: str, value, allowed: Iterable):
    """Check that ``value`` is one of ``allowed`` and return it."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")
    return value
