"""vlmlab.roofline: datasheet ceilings, the roofline prediction, measured ceilings on CPU, the figure."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vlmlab import roofline
from vlmlab.roofline import DATASHEETS, Ceilings, datasheet_for, predict_seconds

TOY = Ceilings("toy", matmul_flops_per_s=100.0, bandwidth_bytes_per_s=10.0, dtype="fp32", source="hand")


def test_predict_seconds_by_hand():
    # 1000 FLOP at 100 FLOP/s = 10 s; 50 B at 10 B/s = 5 s -> compute-bound, 10 s
    assert predict_seconds(1000, 50, TOY) == 10
    # 500 B at 10 B/s = 50 s -> memory-bound
    assert predict_seconds(1000, 500, TOY) == 50
    assert roofline.ridge_point(TOY) == 10  # 100 FLOP/s / 10 B/s
    assert roofline.arithmetic_intensity(1000, 50) == 20


def test_predict_seconds_rejects_negative():
    with pytest.raises(ValueError, match="flops"):
        predict_seconds(-1, 1, TOY)


@given(flops=st.floats(1, 1e18), nbytes=st.floats(1, 1e15))
def test_roofline_is_a_bound_on_both_roofs(flops, nbytes):
    # The roofline time is the least time in which the toy device (100 FLOP/s, 10 B/s) can both
    # compute and move the data: within t both fit, and 0.1 % less time leaves one undone.
    t = predict_seconds(flops, nbytes, TOY)
    assert flops <= 100.0 * t * (1 + 1e-12) and nbytes <= 10.0 * t * (1 + 1e-12)
    shorter = t * (1 - 1e-3)
    assert flops > 100.0 * shorter or nbytes > 10.0 * shorter
    # doubling both the work and the traffic doubles the time
    assert predict_seconds(2 * flops, 2 * nbytes, TOY) == pytest.approx(2 * t)


# Dense (no sparsity) tensor-core peaks and memory bandwidth from NVIDIA's datasheets.
@pytest.mark.parametrize("name, tflops, gbps, dtype", [
    ("T4", 65, 320, "fp16"),          # 65 TFLOPS mixed precision; 320+ GB/s GDDR6
    ("L4", 242 / 2, 300, "bf16"),     # 242 TFLOPS BF16 "with sparsity"
    ("A100-40GB", 312, 1555, "bf16"),
    ("A100-80GB", 312, 2039, "bf16"),
    ("H100-SXM", 989, 3350, "bf16"),  # 1,979 TFLOPS BF16 with sparsity
    ("H100-PCIe", 756, 2000, "bf16"), # 1,513 TFLOPS BF16 with sparsity
    ("H200", 989, 4800, "bf16"),
])
def test_datasheets(name, tflops, gbps, dtype):
    c = DATASHEETS[name]
    assert c.matmul_flops_per_s == pytest.approx(tflops * 1e12, rel=1e-3)
    assert c.bandwidth_bytes_per_s == pytest.approx(gbps * 1e9, rel=1e-3)
    assert c.dtype == dtype and "http" in c.source


def test_h100_ridge_point():
    # 989 TFLOP/s / 3.35 TB/s = 295 FLOP per byte
    assert DATASHEETS["H100-SXM"].ridge_flops_per_byte == pytest.approx(295.2, abs=0.1)


@pytest.mark.parametrize("device_name, row", [
    ("Tesla T4", "T4"), ("NVIDIA L4", "L4"), ("NVIDIA A100-SXM4-40GB", "A100-40GB"),
    ("NVIDIA A100-PCIE-40GB", "A100-40GB"), ("NVIDIA A100-SXM4-80GB", "A100-80GB"),
    ("NVIDIA A100 80GB PCIe", "A100-80GB-PCIe"), ("NVIDIA H100 80GB HBM3", "H100-SXM"),
    ("NVIDIA H100 PCIe", "H100-PCIe"), ("NVIDIA H200", "H200"), ("H200", "H200"),
    ("NVIDIA H100 NVL", None), ("NVIDIA L40S", None), ("NVIDIA A10", None),
    ("NVIDIA GeForce RTX 4090", None), ("CPU (x86_64, 2 cores)", None),
])
def test_datasheet_for_torch_device_names(device_name, row):
    got = datasheet_for(device_name)
    assert (got.name if got else None) == row


def test_get_datasheet_suggests_close_names():
    with pytest.raises(KeyError, match="H100-SXM"):
        roofline.get_datasheet("H100 SMX")


def test_measure_ceilings_on_cpu():
    c = roofline.measure_ceilings("cpu", seconds=0.2, matmul_n=128, copy_bytes=16 * 2**20)
    assert c.dtype == "fp32" and c.source.startswith("measured")
    # A smoke test of the real measurement (the arithmetic is checked exactly with a stand-in
    # timer in test_independent_serving.py). A CPU core does at most a few hundred GFLOP/s of
    # fp32 (AVX-512: 2 FMA units x 16 lanes x 2 FLOP x ~4 GHz = 256 GFLOP/s per core) and reads
    # DRAM at tens of GB/s; even a 128-matrix loop on a busy core exceeds 10 MFLOP/s.
    assert 1e7 < c.matmul_flops_per_s < 2e12
    assert 1e7 < c.bandwidth_bytes_per_s < 1e12


def test_measure_ceilings_rejects_unknown_dtype():
    with pytest.raises(ValueError, match="dtype"):
        roofline.measure_ceilings("cpu", dtype="fp8", seconds=0.1, matmul_n=8, copy_bytes=1024)


def test_roofline_figure_places_points():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = roofline.roofline_figure(TOY, [("kernel", 1e3, 1e2, 20.0)], datasheet=TOY)
    # 1000 FLOP over 100 B: intensity 10 FLOP/B; 1000 FLOP in 20 s: 50 FLOP/s
    pts = [line for line in ax.get_lines() if line.get_label() == "kernel"]
    assert list(pts[0].get_xdata()) == [10.0] and list(pts[0].get_ydata()) == [50.0]
    roof = [line for line in ax.get_lines() if line.get_label().startswith("measured")][0]
    assert max(roof.get_ydata()) == 100.0  # flat compute roof
    plt.close(fig)


@pytest.mark.parametrize("capability, expected", [
    # NVIDIA CUDA C++ Programming Guide, compute capabilities table: bf16 tensor-core MMA arrives
    # with compute capability 8.0 (Ampere); sm_75 (T4) and sm_70 (V100) have fp16 tensor cores only.
    ((7, 0), "fp16"),   # V100
    ((7, 5), "fp16"),   # T4
    ((8, 0), "bf16"),   # A100
    ((8, 9), "bf16"),   # L4
    ((9, 0), "bf16"),   # H100
])
def test_fast_dtype_follows_compute_capability(capability, expected):
    assert roofline.fast_dtype("cuda", capability) == expected
    assert roofline.fast_dtype("cuda:1", capability) == expected


def test_fast_dtype_off_cuda_is_fp32_and_checks_arguments():
    assert roofline.fast_dtype("cpu") == "fp32" and roofline.fast_dtype("mps") == "fp32"
    with pytest.raises(TypeError, match="device must be a str"):
        roofline.fast_dtype(0)
    with pytest.raises(ValueError, match=r"capability must be a \(major, minor\) pair"):
        roofline.fast_dtype("cuda", (8,))
