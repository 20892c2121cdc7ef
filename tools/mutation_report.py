"""Summarise a mutmut 3 run of vlmlab's analytic core (``make mutation``; issue 12).

Reads the ``*.py.meta`` files mutmut writes under ``mutants/`` and writes a Markdown report:
per module the mutants killed, survived, untested, timed out and suspicious, the score, and every
surviving mutant with the line it changed. Mutants in the measuring and plotting helpers that
``setup.cfg`` cannot leave out of the mutated files (they need torch or matplotlib and are checked
by measurement, not by the unit tests) are counted apart, as are the mutants listed in
``EQUIVALENT`` below (no test can tell them from the original; each with its reason).

    python tools/mutation_report.py [--mutants mutants] [--out _build/mutation/report.md]
                                    [--json _build/mutation/scores.json] [--before old.json]
"""
from __future__ import annotations

import argparse
import difflib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

#: mutmut 3's exit codes (mutmut/stats.py) folded into the columns of the report
STATUS = {1: "killed", 3: "killed", 37: "killed", 0: "survived", 5: "no tests", 33: "no tests",
          34: "skipped", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout",
          255: "timeout", None: "not checked"}
COLUMNS = ["killed", "timeout", "survived", "no tests", "suspicious", "not checked", "equivalent"]

#: functions that measure or draw (torch, matplotlib): not part of the analytic score
NOT_ANALYTIC = {
    "vlmlab.roofline": {"measure_ceilings", "roofline_figure", "_as_point"},
    "vlmlab.serving": {"live_peak_bytes", "grow_batch", "GrowResult.to_frame"},
}

#: mutant name -> why no test can kill it (the behaviour is the same). Names are mutmut's, for
#: the source the run mutated; re-check this table when those functions change.
_CASE = "dtype names are looked up ignoring case (units.dtype_bytes), so 'BF16' is 'bf16'"
_TYPE_ONLY = "the call only checks the argument's type; its result is discarded"
_NONE_DEFAULT = ("every _get call that passes a default also maps a None result to it "
                 "(`or default`, bool()), so a None default reads the same")
_PROBE = "the probe's params/active_params are placeholders that replace() overwrites with the counts"
EQUIVALENT: dict[str, str] = {
    "vlmlab.cost.x_kv_bytes_per_token__mutmut_2": _CASE,
    "vlmlab.cost.x_kv_cache_bytes__mutmut_3": _CASE,
    "vlmlab.cost.x_weight_bytes__mutmut_2": _CASE,
    "vlmlab.cost.x_attention_matrix_bytes__mutmut_3": _CASE,
    "vlmlab.serving.x_max_batch__mutmut_2": _CASE,
    "vlmlab.serving.x_batch_flops_bytes__mutmut_2": _CASE,
    "vlmlab.serving.x_decode_seconds__mutmut_2": _CASE,
    "vlmlab.serving.x_serving_estimate__mutmut_2": _CASE,
    "vlmlab.cost.x_decode_step_flops__mutmut_23":
        "causal=None vs False for one query: n_q*(n_kv-n_q) + n_q(n_q+1)/2 = n_kv, the full count",
    "vlmlab.cost.x_decode_step_flops__mutmut_31":
        "causal=True for one query scores all context+1 keys, as the full count does",
    "vlmlab.cost.x_attention_crossover_tokens__mutmut_22":
        "int(w / q) == w // q for positive integers of this size (exact in float)",
    "vlmlab.cost.x_attention_crossover_tokens__mutmut_24": "int(w / 2q + 1) == w // 2q + 1 for w, q > 0",
    "vlmlab.tokens.grid.x_select_best_resolution__mutmut_3":
        "best_effective starts below any effective area (>= 0): -1 and -2 both lose to the first canvas",
    "vlmlab.tokens.grid.x_select_best_resolution__mutmut_23":
        "waste only breaks ties of equal effective area, where area - e and area + e order alike",
    "vlmlab.tokens.grid.x_unpadded_grid__mutmut_2":
        "at equal aspect both branches return the full grid (no padding to cut)",
    "vlmlab.tokens.grid.x_unpadded_grid__mutmut_12": "rounding to 8 instead of 7 digits: no size differs",
    "vlmlab.tokens.grid.x_unpadded_grid__mutmut_27": "rounding to 8 instead of 7 digits: no size differs",
    "vlmlab.tokens.grid.x_closest_tile_layout__mutmut_31": "the initial best is replaced by the first layout (diff < inf)",
    "vlmlab.tokens.grid.x_closest_tile_layout__mutmut_32": "the initial best is replaced by the first layout (diff < inf)",
    "vlmlab.tokens.grid.x_closest_tile_layout__mutmut_41":
        "equality area == tile^2 c r / 2 at equal aspect needs h = tile k r / sqrt(2): never an integer",
    "vlmlab.tokens.grid.x_fit_within__mutmut_2": "a side equal to the canvas scales by 1: the same sizes",
    "vlmlab.tokens.grid.x_fit_within__mutmut_3": "a side equal to the canvas scales by 1: the same sizes",
    "vlmlab.tokens.grid.x_fit_longest_edge__mutmut_8": "ratio 1 divides by 1: the same sizes",
    "vlmlab.tokens.frontends.x__check_pinpoints__mutmut_17": "s % tile == 0 with tile >= 14 already rules out s = 1",
    "vlmlab.tokens.frontends.x_resampler__mutmut_3": "a missing 'splits' as None or 0: both falsy",
    "vlmlab.tokens.frontends.x_resampler__mutmut_5": "a missing 'splits' as None or 0: both falsy",
    "vlmlab.tokens.frontends.x_deepseek_ocr__mutmut_27": "rows/cols are read only after crops set them",
    "vlmlab.tokens.frontends.x_deepseek_ocr__mutmut_28": "rows/cols are read only after crops set them",
    "vlmlab.units.x_fmt_flops__mutmut_3": "1e+18 is the same float as 1e18",
    "vlmlab.units.x_fmt_count__mutmut_7": _TYPE_ONLY, "vlmlab.units.x_fmt_count__mutmut_8": _TYPE_ONLY,
    "vlmlab.units.x_fmt_count__mutmut_9": _TYPE_ONLY, "vlmlab.units.x_fmt_ratio__mutmut_8": _TYPE_ONLY,
    "vlmlab.units.x_fmt_ratio__mutmut_9": _TYPE_ONLY, "vlmlab.units.x_fmt_percent__mutmut_8": _TYPE_ONLY,
    "vlmlab.units.x_fmt_percent__mutmut_9": _TYPE_ONLY,
    "vlmlab.units.x_fmt_count__mutmut_10":
        "without the early return, nan and inf still format as 'nan', 'inf' through ',.3g'",
    "vlmlab.units.x_fmt_count__mutmut_15": "float('INF') is float('inf')",
    "vlmlab.units.x_fmt_count__mutmut_18": "float('-INF') is float('-inf')",
    "vlmlab.claims.verdicts.x__worse__mutmut_2":
        "'holds' < 'roughly' < 'wrong' alphabetically, the same order as ORDER",
    "vlmlab.claims.verdicts.x__worse__mutmut_4":
        "'holds' < 'roughly' < 'wrong' alphabetically, the same order as ORDER",
    "vlmlab.claims.verdicts.x_rubric__mutmut_41": "x == hi then takes the end hi: _number(hi, hi) holds",
    "vlmlab.claims.verdicts.x_rubric__mutmut_47": "x == lo already returned 'holds' above",
    "vlmlab.serving.x__prefill__mutmut_31": "Breakdown parts are looked up ignoring case",
    "vlmlab.serving.x__prefill__mutmut_35": "Breakdown parts are looked up ignoring case",
    "vlmlab.serving.x_max_batch__mutmut_37":
        "int(a / b) == a // b for a >= 0; a negative a gives 0 either way through max(0, .)",
    "vlmlab.serving.x_decode_seconds__mutmut_68": "d0 == 0: both roofs give the same time",
    "vlmlab.serving.x_decode_seconds__mutmut_86": "d1 == 0 takes the other branch",
    "vlmlab.cost.x_decode_step_flops__mutmut_39": "lm_head_flops' default is 1 token",
    "vlmlab.models.xǁLMConfigǁparam_count__mutmut_1": "active=None is falsy like False",
    "vlmlab.models.xǁLMConfigǁlayer_param_count__mutmut_4": "active=None is falsy like False",
    "vlmlab.models.xǁLMConfigǁ__post_init____mutmut_88":
        "for a dense model the MoE rule gives params x count / count = params",
    "vlmlab.roofline.x_fast_dtype__mutmut_4": "available=None is falsy like False",
    "vlmlab.tokens.x_get_preset__mutmut_6": "errors.lookup's default what is 'model'",
    "vlmlab.claims.verdicts.x__number__mutmut_19": "c / f > 0 exactly when c * f > 0 (f != 0 here)",
    "vlmlab.claims.verdicts.x_parse_claimed__mutmut_19":
        "the regexes' \\s already matches U+202F, so skipping the replacement changes nothing",
    **{f"vlmlab.hf_config.x__get__mutmut_{n}": _NONE_DEFAULT for n in (2, 4, 7)},
    **{f"vlmlab.hf_config.x__moe__mutmut_{n}": "a missing count read as None or 0: `... or 0` makes both 0"
       for n in (64, 67, 87, 90, 104, 107)},
    **{f"vlmlab.hf_config.x_from_hf_config__mutmut_{n}": why for n, why in [
        (100, "a missing model_type read as None or '': `... or ''` makes both ''"),
        (103, "a missing model_type read as None or '': `... or ''` makes both ''"),
        (113, "a missing hidden_act read as None or 'silu': `... or 'silu'` makes both 'silu'"),
        (116, "a missing hidden_act read as None or 'silu': `... or 'silu'` makes both 'silu'"),
        (160, "a missing attention_bias read as None or False: bool() makes both False"),
        (163, "a missing attention_bias read as None or False: bool() makes both False"),
        (285, "a missing tie_word_embeddings read as None or False: bool() makes both False"),
        (288, "a missing tie_word_embeddings read as None or False: bool() makes both False"),
        (239, _PROBE), (254, _PROBE), (281, _PROBE), (292, _PROBE),
        (295, "active_params=None is refilled by LMConfig as params x active / params = the same count")]},
    "vlmlab.tokens.hosted.x__options__mutmut_10":
        "every hosted rule allows at most one option, so the ', ' separator is never printed",
}


def split_name(key: str) -> tuple[str, str]:
    """'vlmlab.units.x_fmt_bytes__mutmut_3' -> ('vlmlab.units', 'fmt_bytes');
    'vlmlab.units.xǁBreakdownǁshare__mutmut_2' -> ('vlmlab.units', 'Breakdown.share')."""
    base = key.rsplit("__mutmut_", 1)[0]
    module, _, func = base.rpartition(".")
    if func.startswith("xǁ"):
        _, cls, meth = func.split("ǁ", 2)
        return module, f"{cls}.{meth}"
    return module, func.removeprefix("x_")


def changed_line(source: str, key: str) -> str:
    """The line(s) a mutant changes, from the mangled copies mutmut writes in the mutated file."""
    local = key.rsplit("__mutmut_", 1)[0].rpartition(".")[2]     # 'x_fmt_bytes', 'xǁBreakdownǁshare'
    number = key.rsplit("__mutmut_", 1)[1]
    orig = _function(source, f"{local}__mutmut_orig")
    mutant = _function(source, f"{local}__mutmut_{number}")
    if orig is None or mutant is None:
        return "?"
    mutant = [ln.replace(f"{local}__mutmut_{number}", f"{local}__mutmut_orig") for ln in mutant]
    diff = [d[1:].strip() for d in difflib.ndiff(orig, mutant) if d[:2] in ("- ", "+ ")]
    return " => ".join(diff)[:200]


def _function(source: str, name: str) -> list[str] | None:
    m = re.search(rf"^(\s*)def {re.escape(name)}\(.*?(?=^\1(?:def |class |@)|\Z)", source, re.S | re.M)
    return m.group(0).splitlines() if m else None


def collect(mutants: Path) -> tuple[dict, list]:
    counts: dict[str, Counter] = defaultdict(Counter)
    survivors = []
    for meta in sorted(mutants.glob("vlmlab/**/*.py.meta")):
        data = json.loads(meta.read_text())
        source = meta.with_suffix("").read_text() if meta.with_suffix("").exists() else ""
        for key, code in data.get("exit_code_by_key", {}).items():
            module, func = split_name(key)
            if func in NOT_ANALYTIC.get(module, ()):
                counts[module]["not analytic"] += 1
                continue
            status = STATUS.get(code, "suspicious")
            if status in ("survived", "no tests", "not checked") and key in EQUIVALENT:
                status = "equivalent"
            counts[module][status] += 1
            if status in ("survived", "no tests"):
                survivors.append((module, func, key, status, changed_line(source, key)))
    return counts, survivors


def score(c: Counter) -> float | None:
    tested = sum(c[k] for k in COLUMNS if k not in ("equivalent", "not checked"))
    return (c["killed"] + c["timeout"]) / tested if tested else None


def report(counts: dict, survivors: list, before: dict | None) -> str:
    lines = ["# Mutation testing: vlmlab's analytic core", "",
             "mutmut 3 over the modules in `setup.cfg`, against the fast unit tests listed there "
             "(`make mutation`). Score = (killed + timeout) / (killed + timeout + survived + no tests + "
             "suspicious): equivalent, not-analytic and (in an interrupted run) not-checked mutants "
             "are left out.", "",
             "| module | " + " | ".join(COLUMNS) + " | not analytic | score |"
             + (" before |" if before else ""),
             "|---" * (len(COLUMNS) + 3 + bool(before)) + "|"]
    total = Counter()
    for module in sorted(counts):
        c = counts[module]
        total.update(c)
        s = score(c)
        row = [module] + [str(c[k]) for k in COLUMNS] + [str(c["not analytic"]),
                                                           f"{s:.1%}" if s is not None else "-"]
        if before:
            b = before.get(module)
            row.append(f"{b:.1%}" if b is not None else "-")
        lines.append("| " + " | ".join(row) + " |")
    s = score(total)
    row = ["**all**"] + [str(total[k]) for k in COLUMNS] + [str(total["not analytic"]),
                                                           f"**{s:.1%}**" if s is not None else "-"]
    if before:
        b = before.get("all")
        row.append(f"{b:.1%}" if b is not None else "-")
    lines += ["| " + " | ".join(row) + " |", "", "## Surviving mutants", ""]
    if not survivors:
        lines.append("None.")
    for module, func, key, status, line in survivors:
        lines.append(f"- `{key}` ({status}): `{line}`")
    if EQUIVALENT:
        lines += ["", "## Equivalent mutants (no test can kill them)", ""]
        lines += [f"- `{k}`: {why}" for k, why in sorted(EQUIVALENT.items())]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", default="mutants", type=Path)
    ap.add_argument("--out", default="_build/mutation/report.md", type=Path)
    ap.add_argument("--json", default="_build/mutation/scores.json", type=Path)
    ap.add_argument("--before", type=Path, help="scores.json of an earlier run, for a column")
    args = ap.parse_args(argv)
    if not args.mutants.is_dir():
        ap.error(f"--mutants {str(args.mutants)!r} is not a directory; run `make mutation` first")
    counts, survivors = collect(args.mutants)
    before = json.loads(args.before.read_text()) if args.before else None
    text = report(counts, survivors, before)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    scores = {m: score(c) for m, c in counts.items()}
    total = sum(counts.values(), Counter())
    scores["all"] = score(total)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(scores, indent=1))
    print(text.split("## Surviving")[0])
    print(f"{len(survivors)} survivors listed in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
