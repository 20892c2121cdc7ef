"""Tests of the shared plumbing: argument checks, units, plot helpers, device and scale choice."""
import math
import subprocess
import sys

import pytest

from vlmlab import device, errors, plot, units

TABLE = {"llava-1.5": 1, "llava-next": 2, "qwen2-vl": 3}


def test_lookup_ignores_case_and_separators():
    assert errors.lookup("LLaVA_NeXT", TABLE) == 2
    assert errors.lookup("qwen2vl", TABLE) == 3


def test_unknown_name_suggests_close_matches_and_lists_known():
    with pytest.raises(errors.UnknownNameError) as info:
        errors.lookup("llava-nxt", TABLE)
    message = str(info.value)
    assert "'llava-nxt'" in message and "did you mean 'llava-next'" in message
    assert "Known models: llava-1.5, llava-next, qwen2-vl" in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_lookup_rejects_non_strings():
    with pytest.raises(TypeError, match="model name must be a str, got int 7"):
        errors.lookup(7, TABLE)


@pytest.mark.parametrize("bad, kind", [(0, ValueError), (-3, ValueError), (2.5, TypeError),
                                        ("224", TypeError), (True, TypeError), (None, TypeError)])
def test_positive_int_names_argument_and_value(bad, kind):
    with pytest.raises(kind, match=r"height must be an integer >= 1, got .*" + repr(bad).replace("'", ".")):
        errors.positive_int("height", bad)


def test_positive_number_and_one_of():
    assert errors.positive_number("seconds", 3) == 3.0
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="seconds must be a finite number > 0"):
            errors.positive_number("seconds", bad)
    with pytest.raises(ValueError, match="dtype must be one of 'bf16', 'fp32'; got 'int3'"):
        errors.one_of("dtype", "int3", ["bf16", "fp32"])


def test_formatting_uses_binary_bytes_and_decimal_rates():
    assert units.fmt_bytes(2**31) == "2.0 GiB"
    assert units.fmt_bytes(512) == "512.0 B"
    assert units.fmt_flops(3.2e12) == "3.2 TFLOP"
    assert units.fmt_rate(989e12, 0) == "989 TFLOP/s"
    assert units.fmt_bandwidth(3.35e12, 2) == "3.35 TB/s"
    assert units.fmt_seconds(0.0123) == "12.30 ms"
    assert units.fmt_count(17189316) == "17,189,316"
    assert units.fmt_ratio(6876.2) == "6,876.2×"
    assert units.fmt_percent(0.137) == "14%" and units.fmt_percent(0.9051, 1) == "90.5%"


def test_dtype_bytes_accepts_torch_style_names():
    assert units.dtype_bytes("bf16") == 2 and units.dtype_bytes("torch.float32") == 4
    with pytest.raises(errors.UnknownNameError, match="did you mean"):
        units.dtype_bytes("bf61")


def test_breakdown_total_is_sum_of_parts():
    b = units.Breakdown({"qkv": 6.0, "mlp": 10.0}, unit="FLOP", label="layer")
    assert b.total == 16.0 and b.share("mlp") == pytest.approx(0.625)
    assert (b + b.scaled(2)).total == 48.0
    frame = b.to_frame()
    assert frame.loc["total", "FLOP"] == 16.0
    assert str(b) == "layer: 16.0 FLOP (qkv 6.0 FLOP, mlp 10.0 FLOP)"


def test_loglog_slope_recovers_power_laws():
    xs = [256, 512, 1024, 2048]
    assert plot.loglog_slope(xs, [x**2 for x in xs]) == pytest.approx(2.0)
    assert plot.loglog_slope(xs, [3 * x for x in xs]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least two"):
        plot.loglog_slope([1], [1])


def test_scale_is_picked_from_device_and_overridable(monkeypatch):
    monkeypatch.delenv("VLMLAB_SCALE", raising=False)
    assert device.pick_scale("cuda") == "full" and device.pick_scale("cpu") == "ci"
    monkeypatch.setenv("VLMLAB_SCALE", "full")
    assert device.pick_scale("cpu") == "full"
    monkeypatch.setenv("VLMLAB_SCALE", "huge")
    with pytest.raises(ValueError, match="VLMLAB_SCALE must be one of ci, full; got 'huge'"):
        device.pick_scale("cpu")


def test_unavailable_device_is_refused(monkeypatch):
    monkeypatch.setenv("VLMLAB_DEVICE", "tpu")
    with pytest.raises(ValueError, match="device 'tpu' is not available here; available: .*cpu"):
        device.pick_device()


def test_provenance_names_device_and_scale():
    prov = device.provenance("cpu", "ci")
    assert prov.device == "cpu" and prov.scale == "ci" and "ci scale" in prov.short
    assert "scale    ci" in str(prov)


#: Each analytic module, imported and exercised: none may load torch (they must stay fast and
#: usable without it). One snippet per module; chapters name the module that uses it.
NO_TORCH = {
    "package": "import vlmlab, vlmlab.errors, vlmlab.units, vlmlab.device, vlmlab.notebook",
    "tokens": "import vlmlab.tokens as t; t.visual_tokens('qwen2-vl', 9, 9)",
    "models, cost, budget": "import vlmlab.models, vlmlab.cost, vlmlab.budget",
    "claims": "import vlmlab.claims as c; c.ledger(); c.summary()",
    "roofline": "import vlmlab.roofline",
    "serving": "import vlmlab.serving",
    "granularity": "import vlmlab.granularity",
    "subquadratic": "import vlmlab.subquadratic as s; s.softmax_attention_cost(8, 4)",
}


@pytest.mark.parametrize("module", NO_TORCH)
def test_analytic_modules_load_no_torch(module):
    code = f"import sys\n{NO_TORCH[module]}\nassert 'torch' not in sys.modules, 'torch was imported'\n"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cpu_measurements_use_one_thread_unless_told(monkeypatch):
    monkeypatch.delenv("VLMLAB_CPU_THREADS", raising=False)
    assert device.cpu_threads() == 1
    monkeypatch.setenv("VLMLAB_CPU_THREADS", "4")
    assert device.cpu_threads() == 4 and device.provenance("cpu", "ci").cpu_threads == 4
    for bad in ("0", "two"):
        monkeypatch.setenv("VLMLAB_CPU_THREADS", bad)
        with pytest.raises(ValueError, match=f"VLMLAB_CPU_THREADS must be an integer >= 1; got '{bad}'"):
            device.cpu_threads()
