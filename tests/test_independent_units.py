"""vlmlab.units: every formatter at and around each unit boundary, with the expected text
written out by hand (issue 12), and the Breakdown's arithmetic on small hand-made parts."""
import pytest

from vlmlab.units import (Breakdown, dtype_bytes, fmt_bandwidth, fmt_bytes, fmt_count, fmt_flops,
                          fmt_percent, fmt_ratio, fmt_rate, fmt_seconds)


@pytest.mark.parametrize("n, digits, text", [
    (0, 1, "0.0 B"), (1023, 1, "1,023.0 B"), (1024, 1, "1.0 KiB"), (1536, 2, "1.50 KiB"),
    (2**20 - 1, 0, "1,024 KiB"), (2**20, 1, "1.0 MiB"), (2**30, 1, "1.0 GiB"),
    (2**31, 1, "2.0 GiB"), (2**40, 1, "1.0 TiB"), (5 * 2**40, 0, "5 TiB"), (-2048, 1, "-2.0 KiB"),
    (0.5, 1, "0.5 B"),
])
def test_fmt_bytes_binary_units(n, digits, text):
    assert fmt_bytes(n, digits) == text


def test_fmt_bytes_default_digits():
    assert fmt_bytes(3 * 2**29) == "1.5 GiB"


@pytest.mark.parametrize("n, text", [
    (0, "0.0 FLOP"), (999, "999.0 FLOP"), (1e3, "1.0 kFLOP"), (1e6, "1.0 MFLOP"),
    (2.5e9, "2.5 GFLOP"), (3.2e12, "3.2 TFLOP"), (1e15, "1.0 PFLOP"), (4e18, "4.0 EFLOP"),
    (999_999, "1,000.0 kFLOP"),
])
def test_fmt_flops_decimal_units(n, text):
    assert fmt_flops(n) == text


def test_fmt_rate_and_bandwidth():
    assert fmt_rate(9.9e14) == "990.0 TFLOP/s"
    assert fmt_rate(1.5e9, 2) == "1.50 GFLOP/s"
    assert fmt_bandwidth(3.35e12) == "3.4 TB/s"       # H100-SXM datasheet: 3.35 TB/s
    assert fmt_bandwidth(1.555e12, 3) == "1.555 TB/s"
    assert fmt_bandwidth(2e9) == "2.0 GB/s" and fmt_bandwidth(5e6) == "5.0 MB/s"
    assert fmt_bandwidth(7e3) == "7.0 kB/s" and fmt_bandwidth(12) == "12.0 B/s"


@pytest.mark.parametrize("s, text", [
    (2, "2.00 s"), (1, "1.00 s"), (0.0123, "12.30 ms"), (1e-3, "1.00 ms"), (5e-6, "5.00 µs"),
    (5e-10, "0.50 ns"), (3e-9, "3.00 ns"), (0, "0.00 ns"), (90, "90.00 s"),
])
def test_fmt_seconds(s, text):
    assert fmt_seconds(s) == text


def test_fmt_seconds_digits():
    assert fmt_seconds(0.0123, 1) == "12.3 ms"


def test_fmt_count_ratio_percent():
    assert fmt_count(1_234_567) == "1,234,567" and fmt_count(2.0) == "2.0"
    assert fmt_count(0.012345) == "0.0123" and fmt_count(12345.6) == "1.23e+04"
    assert fmt_ratio(6876.25) == "6,876.2×" and fmt_ratio(2, 0) == "2×"
    assert fmt_percent(0.137) == "14%" and fmt_percent(0.137, 1) == "13.7%"


@pytest.mark.parametrize("fmt", [fmt_bytes, fmt_flops, fmt_rate, fmt_bandwidth, fmt_seconds,
                                 fmt_count, fmt_ratio, fmt_percent])
def test_formatters_refuse_non_numbers(fmt):
    with pytest.raises(TypeError, match="value to format must be a number, got str '5'"):
        fmt("5")


@pytest.mark.parametrize("dtype, nbytes", [("fp32", 4), ("float32", 4), ("bf16", 2), ("half", 2),
                                           ("torch.bfloat16", 2), ("int8", 1), ("int4", 0.5)])
def test_dtype_bytes(dtype, nbytes):
    assert dtype_bytes(dtype) == nbytes


# --- Breakdown ---------------------------------------------------------------------------------
def test_breakdown_total_share_scaled():
    b = Breakdown({"a": 3, "b": 1}, unit="FLOP", label="x", meta={"n": 1})
    assert b.total == 4 and b["a"] == 3
    assert b.share("a") == 0.75 and b.share("b") == 0.25
    assert Breakdown({"a": 0}).share("a") == 0.0          # an empty total has no shares
    s = b.scaled(2.5)
    assert s.parts == {"a": 7.5, "b": 2.5} and (s.unit, s.label, s.meta) == ("FLOP", "x", {"n": 1})
    assert b.scaled(2, label="y").label == "y"
    with pytest.raises(KeyError, match="unknown part 'c'"):
        b["c"]


def test_breakdown_addition_part_by_part():
    a = Breakdown({"x": 1, "y": 2}, unit="bytes", label="first", meta={"k": 1})
    b = Breakdown({"y": 10, "z": 5}, unit="bytes", label="second")
    c = a + b
    assert c.parts == {"x": 1, "y": 12, "z": 5} and list(c.parts) == ["x", "y", "z"]
    assert (c.unit, c.label, c.meta) == ("bytes", "first", {"k": 1})
    assert (Breakdown({"x": 1}) + a).parts == {"x": 2, "y": 2}     # a unit-less side adds too
    with pytest.raises(ValueError, match=r"other must count the same unit \('bytes'\), got 'FLOP'"):
        a + Breakdown({"x": 1}, unit="FLOP")
    with pytest.raises(TypeError, match="other must be a Breakdown"):
        a + 1


def test_breakdown_text_and_frame():
    assert str(Breakdown({"a": 1536, "b": 512}, unit="bytes", label="L")) == "L: 2.0 KiB (a 1.5 KiB, b 512.0 B)"
    assert str(Breakdown({"a": 3.0, "b": 1.0}, unit="FLOP", label="x")) == "x: 4.0 FLOP (a 3.0 FLOP, b 1.0 FLOP)"
    assert str(Breakdown({"a": 0.5}, unit="s")) == "500.00 ms (a 500.00 ms)"
    assert str(Breakdown({"a": 3, "b": 1})) == "4 (a 3, b 1)"
    df = Breakdown({"a": 3, "b": 1}, unit="FLOP").to_frame()
    assert list(df.index) == ["a", "b", "total"] and list(df.columns) == ["FLOP", "share"]
    assert list(df["FLOP"]) == [3, 1, 4] and list(df["share"]) == [0.75, 0.25, 1.0]
    empty = Breakdown({"a": 0}).to_frame()
    assert list(empty.columns) == ["value", "share"] and list(empty["share"]) == [0.0, 1.0]


def test_breakdown_refuses_non_numbers():
    with pytest.raises(TypeError, match=r"parts\['a'\] must be a number, got str '1'"):
        Breakdown({"a": "1"})
    with pytest.raises(TypeError, match="parts must be a mapping"):
        Breakdown([("a", 1)])


@pytest.mark.parametrize("fmt, n, text", [
    (fmt_flops, 1e12, "1.0 TFLOP"), (fmt_flops, 1e9, "1.0 GFLOP"), (fmt_flops, 1e18, "1.0 EFLOP"),
    (fmt_bandwidth, 1e12, "1.0 TB/s"), (fmt_bandwidth, 1e9, "1.0 GB/s"),
    (fmt_bandwidth, 1e6, "1.0 MB/s"), (fmt_bandwidth, 1e3, "1.0 kB/s"),
    (fmt_seconds, 1e-6, "1.00 µs"), (fmt_seconds, 1e-9, "1.00 ns"),
])
def test_exact_unit_boundaries(fmt, n, text):
    assert fmt(n) == text


@pytest.mark.parametrize("digits, shown", [(-1, "int -1"), (1.5, "float 1.5"), (True, "bool True")])
def test_digits_must_be_a_non_negative_integer(digits, shown):
    with pytest.raises(TypeError, match=f"digits must be an integer >= 0, got {shown}"):
        fmt_bytes(1, digits)
    assert fmt_bytes(1, 0) == "1 B"


def test_fmt_count_non_finite():
    assert fmt_count(float("inf")) == "inf" and fmt_count(float("-inf")) == "-inf"
    assert fmt_count(float("nan")) == "nan"


def test_breakdown_error_messages():
    with pytest.raises(TypeError, match=r"parts must be a mapping of part name -> number, got list"):
        Breakdown([("a", 1)])
    with pytest.raises(ValueError, match=r"parts\['a'\] must be"):
        Breakdown({"a": float("nan")})
    with pytest.raises(TypeError, match="other must be a Breakdown to add part by part, got int 1"):
        Breakdown({"a": 1}) + 1
