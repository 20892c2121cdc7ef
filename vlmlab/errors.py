"""Input checks that speak to the reader.

Every public vlmlab function validates its arguments with these helpers, so a bad value always
produces the same kind of message: the argument's name, the bad value, and what is allowed
(for names: the closest matches). Used by every chapter.
"""
from __future__ import annotations

import difflib
import math
from numbers import Integral, Real
from typing import Iterable, Mapping, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """An unknown preset name; the message suggests close matches.

    Subclasses both KeyError (a LookupError: it is a failed lookup) and ValueError (it is a bad
    argument), so ``except LookupError`` and ``except ValueError`` both catch it.
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
    return number(name, value, minimum=0, strict=True)


def one_of(name: str, value, allowed: Iterable):
    """Check that ``value`` is one of ``allowed`` and return it."""
    allowed = list(allowed)
    try:
        ok = value in allowed
    except TypeError:  # e.g. an unhashable or incomparable value
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")
    return value


def flag(name: str, value) -> bool:
    """Check that ``value`` is True or False and return it (a string such as 'no', or 1, is refused:
    ``bool('no')`` is True)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def number(name: str, value, *, minimum: float | None = None, strict: bool = False) -> float:
    """Check that ``value`` is a finite real number (not a bool, NaN or inf), at least ``minimum``
    (more than it when ``strict``), and return it as float."""
    bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a finite number{bound}, got {type(value).__name__} {value!r}")
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return value


def non_negative_number(name: str, value) -> float:
    """Check that ``value`` is a finite real number >= 0 and return it as float."""
    return number(name, value, minimum=0)


def optional_positive_int(name: str, value, *, minimum: int = 1) -> int | None:
    """``None`` (meaning: the default) or an integer >= ``minimum``. 0 is not a synonym for None."""
    return None if value is None else positive_int(name, value, minimum=minimum)


def at_most(name: str, value, limit, why: str = ""):
    """Refuse ``value > limit`` with the limit (and ``why``) in the message; return ``value``."""
    if value > limit:
        raise ValueError(f"{name} must be at most {limit:,}{' (' + why + ')' if why else ''}, got {value:,}")
    return value


DEVICE_KINDS = ("cpu", "cuda", "mps")


def device_kind(name: str, device, *, available: bool = True, allow_meta: bool = False) -> str:
    """'cpu', 'cuda' or 'mps' for a device string ('cuda:1' too) or ``torch.device``.

    With ``available=True`` a CUDA or MPS device that this machine lacks is refused with a message
    that says what is available (instead of torch's 'not compiled with CUDA' deep inside a call).
    """
    if type(device).__name__ == "device" and hasattr(device, "type"):  # torch.device, no torch import
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"{name} must be a str such as 'cpu' or 'cuda', got {type(device).__name__} {device!r}")
    kind = device.split(":")[0]
    if allow_meta and kind == "meta":  # shapes only, no memory: building a model to count it
        return kind
    if kind not in DEVICE_KINDS:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, DEVICE_KINDS))} (optionally "
                         f"'cuda:N'); got {device!r}")
    if available and kind != "cpu":
        here = available_devices()
        if kind not in here:
            raise ValueError(f"{name} {device!r} is not available on this machine; available: "
                             f"{', '.join(here)}")
    return kind


def available_devices() -> list[str]:
    """Device kinds this machine can run: 'cuda' and/or 'mps' where present, and 'cpu'."""
    try:
        import torch
    except ImportError:
        return ["cpu"]
    out = ["cuda"] if torch.cuda.is_available() else []
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out + ["cpu"]


def free_bytes(device="cpu") -> int | None:
    """Bytes that can still be allocated on ``device``: free GPU memory on CUDA; on CPU the
    system's available memory, lowered to what the process's address-space limit (``ulimit -v``)
    still allows. ``None`` where it cannot be told (MPS)."""
    kind = device_kind("device", device, available=False, allow_meta=True)
    if kind == "meta":
        return None
    if kind == "cuda":
        import torch

        dev = torch.device(str(device)) if ":" in str(device) else torch.device("cuda", torch.cuda.current_device())
        cached = torch.cuda.memory_reserved(dev) - torch.cuda.memory_allocated(dev)  # reusable
        return int(torch.cuda.mem_get_info(dev)[0] + cached)
    if kind == "mps":
        return None
    free = None
    try:
        import psutil

        free = int(psutil.virtual_memory().available)
    except ImportError:
        try:
            with open("/proc/meminfo") as f:
                free = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable"))
        except (OSError, StopIteration, ValueError):
            free = None
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/status") as f:
                used = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
            free = max(0, soft - used) if free is None else min(free, max(0, soft - used))
    except (ImportError, OSError, StopIteration, ValueError):
        pass
    return free


class InsufficientMemoryError(MemoryError, ValueError):
    """A call would allocate more than the device has free; raised before anything is allocated.

    Subclasses ValueError (the arguments are too large) and MemoryError, so
    :func:`vlmlab.bench.is_oom` and a sweep treat it as an out-of-memory data point."""


def check_fits(what: str, nbytes: float, device="cpu", *, hint: str = "") -> None:
    """Refuse, before torch tries, an allocation of ``nbytes`` that exceeds the free memory of
    ``device``: ``"<what> needs 26.9 GiB, 20.1 GiB free on cpu"``."""
    free = free_bytes(device)
    if free is not None and nbytes > free:
        raise InsufficientMemoryError(
            f"out of memory: {what} needs {nbytes / 2**30:,.1f} GiB, {free / 2**30:,.1f} GiB free on "
            f"{device}{'; ' + hint if hint else ''}")


def tensor(name: str, x, expected: str, *, rank: int | tuple[int, ...] | None = None,
           sizes: Mapping[int, tuple[str, int]] | None = None, nonempty: Iterable[int] = (),
           floating: bool | None = None):
    """Check a tensor argument at a module's entry; return it.

    ``expected`` is the shape in words, e.g. ``'(batch, tokens, d_in=1024)'``, and appears in every
    message. ``rank``: allowed numbers of dimensions; ``sizes``: {axis: (label, size)} that must
    match; ``nonempty``: axes that must hold at least one element; ``floating``: True for
    float tensors (features), False for integer tensors (token ids).
    """
    if not (hasattr(x, "dim") and hasattr(x, "dtype") and hasattr(x, "shape")):
        raise TypeError(f"{name} must be a torch.Tensor of shape {expected}, got {type(x).__name__}")
    shape = tuple(x.shape)
    ranks = (rank,) if isinstance(rank, int) else rank
    if ranks is not None and x.dim() not in ranks:
        raise ValueError(f"{name} must have shape {expected} ({' or '.join(map(str, ranks))} dimensions), "
                         f"got shape {shape}")
    for axis, (label, size) in (sizes or {}).items():
        if shape[axis] != size:
            raise ValueError(f"{name} must have shape {expected}: {label} must be {size}, got shape {shape}")
    for axis in nonempty:
        if shape[axis] == 0:
            raise ValueError(f"{name} must have shape {expected} with at least one element along "
                             f"axis {axis % len(shape)}, got shape {shape} (an empty input)")
    if floating is not None and bool(x.dtype.is_floating_point) != floating:
        kind = "a floating-point" if floating else "an integer"
        raise TypeError(f"{name} must be {kind} tensor of shape {expected}, got dtype {x.dtype}")
    return x
