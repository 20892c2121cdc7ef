"""`vlmlab profile`: its JSON is the function's record, bad input is one line and status 2,
`--help` shows an example, and the table comes back in under a second."""
import csv
import importlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vlmlab.cli import main
from vlmlab.profile import profile

pytestmark = pytest.mark.slow  # integration: `make test` runs it, `make test-fast` does not

ROOT = Path(__file__).resolve().parents[1]
ISSUE = ["--lm", "llama-2-7b", "--frontend", "llava-next", "--image", "672x672", "--gpu", "H100"]


def run(*args):
    return subprocess.run([sys.executable, "-m", "vlmlab", "profile", *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_console_script_points_at_main():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, func = scripts["vlmlab"].partition(":")
    assert getattr(importlib.import_module(module), func) is main


def test_json_is_the_function_record():
    out = run(*ISSUE, "--format", "json")
    assert out.returncode == 0 and out.stderr == ""
    expected = profile("llama-2-7b", "llava-next", [(672, 672)], gpu="H100").as_dict()
    assert json.loads(out.stdout) == json.loads(json.dumps(expected))


def test_json_with_every_flag(capsys):
    argv = ["profile", "--lm", "qwen2-7b", "--frontend", "qwen2-vl", "--image", "1080x1920",
            "--image", "336x336", "--frames", "2", "--prompt-tokens", "200", "--new-tokens", "16",
            "--gpu", "A100-80GB", "--batch", "4", "--dtype", "fp16", "--price", "1.25",
            "--queries", "32", "--format", "json"]
    assert main(argv) == 0
    expected = profile("qwen2-7b", "qwen2-vl", [(1080, 1920), (336, 336)], frames=2,
                       prompt_tokens=200, new_tokens=16, gpu="A100-80GB", batch=4, dtype="fp16",
                       price=1.25, queries=32).as_dict()
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(expected))
    assert expected["batch"] == 4 and expected["alternatives"][2]["design"] == "resampler-32"


def test_config_json_of_a_vlm(tmp_path, capsys):
    text = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 32, "intermediate_size": 11008,
            "vocab_size": 32000, "max_position_embeddings": 4096}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "llava_next", "text_config": text,
                                "vision_config": {"model_type": "clip_vision_model"}}))
    assert main(["profile", "--lm", str(path), "--image", "672x672", "--format", "json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["frontend"] == "llava-next" and rec["visual_tokens"] == 2928


def test_csv_rows_match_json(capsys):
    assert main(["profile", *ISSUE, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    rec = profile("llama-2-7b", "llava-next", [(672, 672)], gpu="H100").as_dict()
    assert [r["design"] for r in rows] == ["llava-next (as is)"] + [a["design"] for a in rec["alternatives"]]
    assert int(rows[0]["visual_tokens"]) == 2928 and int(rows[0]["max_batch"]) == rec["max_batch"]
    assert float(rows[2]["prefill_flops"]) == rec["alternatives"][1]["prefill_flops"]


def test_help_shows_an_example():
    out = run("--help")
    assert out.returncode == 0
    assert "example:" in out.stdout
    assert "vlmlab profile --lm llama-2-7b --frontend llava-next --image 672x672 --gpu H100" in out.stdout


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("args,needle", [
    (["--lm", "llama2", "--frontend", "llava-next"], "did you mean 'llama-2-7b'"),
    (["--lm", "llama-2-7b", "--frontend", "llava1.6"], "did you mean"),
    (["--lm", "llama-2-7b", "--frontend", "llava-next", "--gpu", "H900"], "did you mean 'H200'"),
    (["--lm", "llama-2-7b", "--frontend", "llava-next", "--image", "672"], "HEIGHTxWIDTH"),
    (["--lm", "llama-2-7b", "--frontend", "llava-next", "--image", "0x672"], "HEIGHTxWIDTH"),
    (["--lm", "llama-2-7b", "--frontend", "llava-next", "--image", "axb"], "HEIGHTxWIDTH"),
    (["--lm", "llama-2-7b", "--frontend", "llava-next", "--batch", "0"], "batch"),
    (["--lm", "llama-2-7b", "--frontend", "llava-next", "--price", "-1"], "price"),
    (["--lm", "llama-2-7b", "--frontend", "llava-next", "--dtype", "fp12"], "dtype"),
    (["--lm", "llama-2-7b", "--frontend", "llava-next", "--format", "xml"], "--format"),
    (["--lm", "llama-2-7b", "--frontend", "llava-next", "--frames", "x"], "--frames"),
    (["--lm", "llama-2-7b", "--frontend", "llava-next", "--bogus"], "unrecognized"),
    (["--lm", "llama-2-7b"], "frontend"),
    (["--lm", "llama-2-7b", "--frontend", "gpt-4o"], "not public"),
    (["--lm", "/no/such/config.json", "--frontend", "llava-next"], "cannot read"),
    (["--lm", "BAD_JSON", "--frontend", "llava-next"], "not valid JSON"),
    (["--lm", "MISSING_KEYS", "--frontend", "llava-next"], "lacks"),            # config with missing keys
    (["--lm", "MOE", "--frontend", "llava-next"], "experts"),    # experts, but not how many a token uses
    (["--lm", "VLM_UNKNOWN"], "model_type"),                                     # no counting rule
])
def test_bad_input_is_one_line_and_status_2(tmp_path, args, needle):
    base = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100,
            "max_position_embeddings": 512}
    files = {"BAD_JSON": _write(tmp_path, "bad.json", "{not json"),
             "MISSING_KEYS": _write(tmp_path, "t5.json", json.dumps({"model_type": "t5", "d_model": 512})),
             "MOE": _write(tmp_path, "moe.json", json.dumps({**base, "model_type": "mixtral",
                                                             "num_local_experts": 8})),
             "VLM_UNKNOWN": _write(tmp_path, "vlm.json", json.dumps({"model_type": "paligemma",
                                   "text_config": base, "vision_config": {}}))}
    args = [files.get(a, a) for a in args]
    out = run(*args)
    assert out.returncode == 2, out
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("vlmlab profile: error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in out.stderr
