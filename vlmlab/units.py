"""Units and formatting in one place, and the breakdown result that analytic functions return.

Numbers inside vlmlab are plain SI quantities whose unit is in the name (``kv_cache_bytes``,
``prefill_flops``, ``seconds``). Only the functions here turn them into text (GiB, ms, TFLOP/s);
notebooks glue these strings into prose. Used by every chapter.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

KiB, MiB, GiB, TiB = 2**10, 2**20, 2**30, 2**40

#: Bytes per element of the dtypes the book uses (torch names and short names both work).
DTYPE_BYTES = {
    "fp32": 4, "float32": 4, "tf32": 4,
    "fp16": 2, "float16": 2, "half": 2,
    "bf16": 2, "bfloat16": 2,
    "fp8": 1, "float8": 1, "int8": 1,
    "int4": 0.5, "fp4": 0.5,
}


def dtype_bytes(dtype) -> float:
    """Bytes per element of ``dtype`` (a name such as 'bf16', or a torch.dtype)."""
    from .errors import lookup

    name = str(dtype).removeprefix("torch.")
    return lookup(name, DTYPE_BYTES, what="dtype")


def _scaled(value: float, steps: list[tuple[float, str]], digits: int) -> str:
    from numbers import Integral, Real

    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"value to format must be a number, got {type(value).__name__} {value!r}")
    if isinstance(digits, bool) or not isinstance(digits, Integral) or digits < 0:
        raise TypeError(f"digits must be an integer >= 0, got {type(digits).__name__} {digits!r}")
    for factor, unit in steps:
        if abs(value) >= factor:
            return f"{value / factor:,.{digits}f} {unit}"
    factor, unit = steps[-1]
    return f"{value / factor:,.{digits}f} {unit}"


def fmt_bytes(n: float, digits: int = 1) -> str:
    """Binary units: ``fmt_bytes(2**31) == '2.0 GiB'``."""
    return _scaled(n, [(TiB, "TiB"), (GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB"), (1, "B")], digits)


def fmt_flops(n: float, digits: int = 1) -> str:
    """Decimal units of floating-point operations: ``fmt_flops(3.2e12) == '3.2 TFLOP'``."""
    steps = [(1e18, "EFLOP"), (1e15, "PFLOP"), (1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP"),
             (1e3, "kFLOP"), (1, "FLOP")]
    return _scaled(n, steps, digits)


def fmt_rate(flops_per_second: float, digits: int = 1) -> str:
    """``fmt_rate(9.9e14) == '990.0 TFLOP/s'``."""
    return fmt_flops(flops_per_second, digits) + "/s"


def fmt_bandwidth(bytes_per_second: float, digits: int = 1) -> str:
    """Decimal bandwidth as datasheets print it: ``fmt_bandwidth(3.35e12) == '3.4 TB/s'``."""
    steps = [(1e12, "TB/s"), (1e9, "GB/s"), (1e6, "MB/s"), (1e3, "kB/s"), (1, "B/s")]
    return _scaled(bytes_per_second, steps, digits)


def fmt_seconds(s: float, digits: int = 2) -> str:
    """``fmt_seconds(0.0123) == '12.30 ms'``."""
    return _scaled(s, [(1, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")], digits)


def fmt_count(n: float) -> str:
    """Thousands separators for integers, three significant digits otherwise."""
    _scaled(n, [(1, "")], 0)  # checks the type
    if n != n or n in (float("inf"), float("-inf")):
        return str(n)
    return f"{n:,}" if float(n).is_integer() else f"{n:,.3g}"


def fmt_ratio(x: float, digits: int = 1) -> str:
    """``fmt_ratio(6876.2) == '6,876.2×'``."""
    _scaled(x, [(1, "")], digits)  # checks the types
    return f"{x:,.{digits}f}×"


def fmt_percent(share: float, digits: int = 0) -> str:
    """A share as a percentage: ``fmt_percent(0.137) == '14%'``."""
    _scaled(share, [(1, "")], digits)  # checks the types
    return f"{share:.{digits}%}"


@dataclass(frozen=True)
class Breakdown:
    """A total with the named parts that add up to it, e.g. FLOPs of qkv, scores, mlp.

    ``.total`` is always the sum of ``.parts``; ``unit`` says what is counted.
    """

    parts: Mapping[str, float]
    unit: str = ""
    label: str = ""
    meta: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self):
        from numbers import Real

        from .errors import number

        if not isinstance(self.parts, Mapping):
            raise TypeError(f"parts must be a mapping of part name -> number, got "
                            f"{type(self.parts).__name__} {self.parts!r}")
        for k, v in self.parts.items():
            if isinstance(v, bool) or not isinstance(v, Real):
                raise TypeError(f"parts[{k!r}] must be a number, got {type(v).__name__} {v!r}")
            number(f"parts[{k!r}]", v)

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def __getitem__(self, part: str) -> float:
        from .errors import lookup

        return lookup(part, self.parts, what="part")

    def share(self, part: str) -> float:
        """Fraction of the total that ``part`` contributes."""
        return self[part] / self.total if self.total else 0.0

    def scaled(self, factor: float, label: str | None = None) -> "Breakdown":
        """Every part multiplied by ``factor`` (e.g. one layer times the number of layers)."""
        from .errors import number

        number("factor", factor)
        return Breakdown({k: v * factor for k, v in self.parts.items()}, self.unit,
                         self.label if label is None else label, self.meta)

    def __add__(self, other: "Breakdown") -> "Breakdown":
        if not isinstance(other, Breakdown):
            raise TypeError(f"other must be a Breakdown to add part by part, got {type(other).__name__} "
                            f"{other!r}; to add a number, add it to .total")
        if other.unit and self.unit and other.unit != self.unit:
            raise ValueError(f"other must count the same unit ({self.unit!r}), got {other.unit!r}")
        keys = list(dict.fromkeys([*self.parts, *other.parts]))
        return Breakdown({k: self.parts.get(k, 0) + other.parts.get(k, 0) for k in keys},
                         self.unit, self.label, self.meta)

    def to_frame(self):
        """A pandas DataFrame with one row per part and a total row (pandas imported lazily)."""
        import pandas as pd

        rows = [(k, v, v / self.total if self.total else 0.0) for k, v in self.parts.items()]
        rows.append(("total", self.total, 1.0))
        return pd.DataFrame(rows, columns=["part", self.unit or "value", "share"]).set_index("part")

    def _fmt(self, v: float) -> str:
        return {"FLOP": fmt_flops, "bytes": fmt_bytes, "s": fmt_seconds}.get(self.unit, fmt_count)(v)

    def __str__(self) -> str:
        head = f"{self.label}: " if self.label else ""
        body = ", ".join(f"{k} {self._fmt(v)}" for k, v in self.parts.items())
        return f"{head}{self._fmt(self.total)} ({body})"
