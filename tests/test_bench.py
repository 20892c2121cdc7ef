"""vlmlab.bench: the timer, peak memory, and the out-of-memory-safe sweep (OOM simulated on CPU)."""
import gc
import time
import weakref

import pytest
import torch

from vlmlab import bench


def test_reexports_device_helpers():
    from vlmlab import device

    assert bench.pick_device is device.pick_device
    assert bench.pick_scale is device.pick_scale
    assert bench.provenance is device.provenance


def test_quantiles_from_a_fake_clock(monkeypatch):
    # Five timed calls lasting 5, 1, 4, 2, 3 ticks of a fake clock: sorted 1..5, so the
    # median is 3, the quartiles (inclusive method) 2 and 4, and the fastest 1.
    durations = iter([5, 1, 4, 2, 3])
    now = [0.0]
    ticks = []

    def fake_clock():
        return now[0]

    def fn():
        now[0] += next(durations)
        ticks.append(1)

    monkeypatch.setattr(bench.time, "perf_counter", fake_clock)
    t = bench.time_fn(fn, device="cpu", warmup=0, repeats=5)
    assert (t.median_s, t.p25_s, t.p75_s, t.min_s, t.repeats) == (3, 2, 4, 1, 5)
    assert t.spread == pytest.approx((4 - 2) / 3)
    assert len(ticks) == 5


def test_time_fn_runs_warmup_then_repeats_and_measures_a_sleep():
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.002)

    t = bench.time_fn(fn, device="cpu", warmup=2, repeats=4)
    assert len(calls) == 6 and t.repeats == 4
    assert 0.002 <= t.min_s <= t.median_s < 0.05


def test_time_fn_adaptive_repeats_fill_the_budget():
    t = bench.time_fn(lambda: time.sleep(0.01), device="cpu", warmup=0, budget_s=0.1, max_repeats=50)
    # 0.1 s of 10 ms calls: about 10 repeats (never fewer than 3, never more than max_repeats)
    assert 3 <= t.repeats <= 12


@pytest.mark.parametrize("kwargs, match", [
    ({"device": "tpu"}, "device"), ({"device": "cpu", "repeats": 0}, "repeats"),
    ({"device": "cpu", "warmup": -1}, "warmup")])
def test_time_fn_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bench.time_fn(lambda: None, **kwargs)


def test_time_fn_rejects_non_callable():
    with pytest.raises(TypeError, match="fn must be a callable"):
        bench.time_fn(3, device="cpu")


def test_measure_on_cpu_reports_no_peak_and_attaches_provenance():
    m = bench.measure(lambda: torch.ones(100), device="cpu", warmup=0, repeats=3)
    assert m.peak_bytes is None  # CPU: no allocator counter isolates one call
    assert m.seconds == m.timing.median_s > 0
    assert m.provenance.device == "cpu"


@pytest.mark.parametrize("exc, expected", [
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
    (RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 15.78 GiB total capacity)"), True),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:114] . DefaultCPUAllocator: can't allocate memory: "
                  "you tried to allocate 68719476736 bytes."), True),
    (RuntimeError("MPS backend out of memory (MPS allocated: 1.00 GB)"), True),
    (RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"), True),
    (MemoryError(), True),
    (RuntimeError("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"), False),
    (ValueError("n must be positive"), False),
])
def test_is_oom(exc, expected):
    assert bench.is_oom(exc) is expected


def test_torch_out_of_memory_error_alias_is_recognised():
    oom = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    assert bench.is_oom(oom("out of memory"))


class _Big:
    """Stands for a large tensor held by a failing workload."""


@pytest.mark.parametrize("error", [
    lambda n: torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {n} GiB"),
    lambda n: RuntimeError(f"CUDA out of memory. Tried to allocate {n}.00 GiB"),
])
@pytest.mark.parametrize("where", ["build", "call"])
@pytest.mark.slow
def test_sweep_records_oom_as_a_row_frees_memory_and_skips_larger(error, where):
    held = []

    def make(n):
        big = _Big()
        held.append(weakref.ref(big))
        if n >= 3 and where == "build":
            raise error(n)

        def work():
            if n >= 3:
                local = big  # noqa: F841 -- a frame holding memory when the OOM is raised
                raise error(n)
            return n

        return work

    df = bench.sweep(make, [1, 2, 3, 4], device="cpu", desc="fake", warmup=0, repeats=2, progress=False)
    assert list(df["status"]) == ["ok", "ok", "OOM", "skipped"]
    assert df.loc[2, "note"].startswith("OOM at n=3")
    assert df.loc[3, "note"] == "skipped: OOM at n=3"
    assert df["seconds"].iloc[:2].gt(0).all() and df["seconds"].iloc[2:].isna().all()
    assert list(df.columns[:2]) == ["n", "seconds"] and "peak_bytes" in df
    assert df.attrs["provenance"]["device"] == "cpu"
    gc.collect()
    assert all(ref() is None for ref in held)  # nothing from a failed size is kept alive


def test_sweep_goes_on_after_oom_when_asked():
    def make(n):
        def work():
            if n == 2:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return work

    df = bench.sweep(make, [1, 2, 3], device="cpu", warmup=0, repeats=1, skip_after_oom=False, progress=False)
    assert list(df["status"]) == ["ok", "OOM", "ok"]


def test_sweep_propagates_other_errors():
    def make(n):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes"):
        bench.sweep(make, [1], device="cpu", progress=False)


def test_sweep_records_other_errors_when_asked_and_goes_on():
    # e.g. an attention backend that refuses one shape ("No available kernel"): a row, not a crash
    def make(n):
        def work():
            if n == 2:
                raise RuntimeError("No available kernel. Aborting execution.")
        return work

    df = bench.sweep(make, [1, 2, 3], device="cpu", warmup=0, repeats=1, errors="record", progress=False)
    assert list(df["status"]) == ["ok", "error", "ok"]  # not an OOM: larger sizes are still tried
    assert df.loc[1, "note"] == "error at n=2 (RuntimeError: No available kernel. Aborting execution.)"
    with pytest.raises(ValueError, match="errors.*'ignore'"):
        bench.sweep(make, [1], device="cpu", errors="ignore", progress=False)


def test_sweep_needs_a_factory_of_callables_and_sizes():
    with pytest.raises(TypeError, match="zero-argument callable"):
        bench.sweep(lambda n: 3, [1], device="cpu", progress=False)
    with pytest.raises(ValueError, match="sizes"):
        bench.sweep(lambda n: (lambda: None), [], device="cpu", progress=False)
    with pytest.raises(ValueError, match="sizes"):
        bench.sweep(lambda n: (lambda: None), [0], device="cpu", progress=False)


def test_sweep_timings_grow_with_the_work():
    # 2 ms vs 16 ms of sleep: the fastest calls (robust on a busy machine) are about 8x apart.
    df = bench.sweep(lambda n: (lambda: time.sleep(n / 1000)), [2, 16], device="cpu",
                     warmup=0, repeats=3, progress=False)
    ratio = df["min_s"].iloc[1] / df["min_s"].iloc[0]
    assert 3 < ratio < 9
