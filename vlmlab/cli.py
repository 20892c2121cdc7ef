"""The command line: ``vlmlab profile`` (also ``python -m vlmlab profile``).

Prints :func:`vlmlab.profile.profile` as a table, JSON (exactly ``Profile.as_dict()``) or CSV
(one row per design). Bad input -- an unknown name, a malformed size, a config with missing
keys, an architecture it cannot price -- exits with status 2 and one line on stderr.
Standard library only; imports nothing heavy, so a table takes well under a second.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys

EXAMPLE = """example:
  vlmlab profile --lm llama-2-7b --frontend llava-next --image 672x672 --gpu H100
  vlmlab profile --lm config.json --image 1080x1920 --image 336x336 --format json
  vlmlab profile --frontend gpt-4o --image 1024x1024     (a hosted API's billing count)

--lm takes a preset name or a transformers config.json (of an LM, or of a whole VLM: its
text_config is the LM, its model_type names the front-end when --frontend is not given).
Times are roofline lower bounds; the figures are those of the book's chapters 1, 3 and 7."""

CSV_COLUMNS = ("design", "visual_tokens", "sequence_tokens", "context_share", "prefill_flops",
               "prefill_seconds", "kv_cache_bytes", "decode_seconds_per_token", "max_batch",
               "batch", "images_per_second", "dollars_per_1000_images")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, status 2 (argparse prints usage and two lines)
        raise SystemExit(_fail(message))


def _fail(message: str) -> int:
    print(f"vlmlab profile: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[x×X*]\s*(\d+)\s*", text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 672x672, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _lm(value: str | None):
    """A preset name, or the parsed config.json when ``value`` names a file or ends in .json."""
    if value is None or not (value.endswith(".json") or os.path.isfile(value)):
        return value
    try:
        with open(value, encoding="utf-8") as f:
            cfg = json.load(f)
    except OSError as e:
        raise ValueError(f"--lm: cannot read {value!r}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"--lm: {value!r} is not valid JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"--lm: {value!r} holds a {type(cfg).__name__}, not a config object")
    return cfg


def build_parser() -> argparse.ArgumentParser:
    from .profile import DEFAULTS

    top = _Parser(prog="vlmlab", description="vlmlab: visual-token economics, measured.")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("profile", help="profile a VLM design: tokens, memory, time, $",
                       description="Profile a VLM: visual tokens, context share, prefill and "
                       "decode time, KV cache, largest batch, images/s and $ per 1,000 images, "
                       "and the same for alternative connectors.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lm", help="LM preset name or a transformers config.json path")
    p.add_argument("--frontend", help="token front-end preset (default: from a VLM config)")
    p.add_argument("--image", action="append", type=_size, metavar="HxW",
                   help="image height x width in pixels; repeat for several images per request "
                        "(default 672x672)")
    p.add_argument("--frames", type=int, default=DEFAULTS["frames"], help="video frames per image")
    p.add_argument("--prompt-tokens", type=int, default=DEFAULTS["prompt_tokens"],
                   help="text tokens of the question (default %(default)s)")
    p.add_argument("--new-tokens", type=int, default=DEFAULTS["new_tokens"],
                   help="tokens of the answer (default %(default)s)")
    p.add_argument("--gpu", default=DEFAULTS["gpu"], help="GPU name (default %(default)s)")
    p.add_argument("--gpu-memory-gib", type=float, help="device memory, if not the datasheet's")
    p.add_argument("--batch", type=int, help="batch size (default: the largest that fits)")
    p.add_argument("--dtype", default=DEFAULTS["dtype"], help="weights and cache dtype")
    p.add_argument("--price", type=float, default=DEFAULTS["price"],
                   help="dollars per GPU-hour (default %(default).2f)")
    p.add_argument("--queries", type=int, default=DEFAULTS["queries"],
                   help="queries of the resampler alternative (default %(default)s)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    return top


def run_profile(args, **overrides) -> dict:
    """The profile record for parsed arguments (what every --format prints); ``overrides`` go
    to :func:`vlmlab.profile.profile` (the calculator's plot passes ``images`` and
    ``alternatives=()``)."""
    from .profile import profile

    memory = args.gpu_memory_gib * 2**30 if args.gpu_memory_gib else None
    kw = dict(frames=args.frames, prompt_tokens=args.prompt_tokens, new_tokens=args.new_tokens,
              gpu=args.gpu, batch=args.batch, dtype=args.dtype, price=args.price,
              queries=args.queries, gpu_memory_bytes=memory)
    kw.update(overrides)
    images = kw.pop("images", args.image or [(672, 672)])
    return profile(_lm(args.lm), args.frontend, images, **kw).as_dict()


def _rows(rec: dict) -> list[dict]:
    base = {k: rec.get(k) for k in CSV_COLUMNS}
    base["design"] = f"{rec['frontend']} (as is)"
    return [base] + [{k: a.get(k) for k in CSV_COLUMNS} for a in rec["alternatives"]]


def format_csv(rec: dict) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(_rows(rec))
    return out.getvalue()


def format_table(rec: dict) -> str:
    from .units import fmt_bytes, fmt_count, fmt_flops, fmt_percent, fmt_seconds

    n = len(rec["images"])
    sizes = ", ".join(f"{h}x{w}" for h, w in rec["images"])
    frames = f", {rec['frames']} frames each" if rec["frames"] > 1 else ""
    parts = "; ".join(", ".join(f"{k} {fmt_count(v)}" for k, v in b.items()) for b in rec["breakdown"])
    window = (f"{fmt_count(rec['sequence_tokens'])} tokens, {fmt_percent(rec['context_share'], 1)} "
              f"of the {fmt_count(rec['context_window'])}-token window")
    if rec["hosted"]:
        head = f"{rec['frontend']} ({rec['vendor']}), {n} image{'s' * (n > 1)} ({sizes}{frames})"
        tokens = ", ".join(fmt_count(t) for t in rec["visual_tokens_per_image"]) + f" ({parts})"
        lines = [("visual tokens per image", tokens), ("sequence (text + images)", window),
                 ("note", rec["note"]), ("rule read on", rec["rule_read_on"])]
    else:
        head = (f"{rec['lm']} + {rec['frontend']}, {n} image{'s' * (n > 1)} ({sizes}{frames}), "
                f"{rec['gpu']}, {rec['dtype']}, ${rec['price_per_gpu_hour']:.2f}/GPU-hour")
        serve = ("nothing fits" if not rec["batch"] else
                 f"{rec['images_per_second']:,.2f} images/s, "
                 f"${rec['dollars_per_1000_images']:.3f} per 1,000 images")
        tokens = ", ".join(fmt_count(t) for t in rec["visual_tokens_per_image"]) + f" ({parts})"
        xattn = " via cross-attention" if rec["delivery"] != "sequence" else ""
        lines = [("visual tokens per image", tokens + xattn),
                 ("sequence (text + images)", window),
                 ("prefill (batch 1)",
                  f"{fmt_flops(rec['prefill_flops'])}, {fmt_seconds(rec['prefill_seconds'])}"),
                 ("KV cache per request",
                  f"{fmt_bytes(rec['kv_cache_bytes'])} (prompt + {rec['new_tokens']}-token answer)"),
                 ("decode (batch 1)", f"{fmt_seconds(rec['decode_seconds_per_token'])} per token"),
                 ("largest batch that fits",
                  f"{fmt_count(rec['max_batch'])} in {fmt_bytes(rec['gpu_memory_bytes'])} "
                  f"(weights {fmt_bytes(rec['weight_bytes'])})"),
                 (f"serving at batch {fmt_count(rec['batch'] or 0)}", serve)]
    width = max(len(k) for k, _ in lines)
    text = [head] + [f"  {k:<{width}}  {v}" for k, v in lines]
    if rec["alternatives"]:
        cols = ("design", "visual", "sequence", "window", "prefill", "KV cache", "batch",
                "images/s", "$/1k img")
        rows = [(r["design"], fmt_count(r["visual_tokens"]), fmt_count(r["sequence_tokens"]),
                 fmt_percent(r["context_share"], 1), fmt_seconds(r["prefill_seconds"]),
                 fmt_bytes(r["kv_cache_bytes"]), fmt_count(r["max_batch"]),
                 "-" if r["images_per_second"] is None else f"{r['images_per_second']:,.2f}",
                 "-" if r["dollars_per_1000_images"] is None else f"{r['dollars_per_1000_images']:.3f}")
                for r in _rows(rec)]
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
        fmt = lambda r: "  " + "  ".join(v.ljust(w) if i == 0 else v.rjust(w)  # noqa: E731
                                         for i, (v, w) in enumerate(zip(r, widths)))
        text += ["", "Alternative connectors (same LM, GPU, prompt and answer):", fmt(cols)]
        text += [fmt(r) for r in rows]
        text += ["", "Times are roofline lower bounds (chapter 4 measures how close kernels come)."]
    return "\n".join(text) + "\n"


def main(argv=None) -> int:
    """Entry point of ``vlmlab`` and ``python -m vlmlab``; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help exits 0; _Parser.error already printed its line
        return int(e.code or 0)
    try:
        rec = run_profile(args)
    except (ValueError, TypeError, KeyError) as e:
        return _fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    if args.format == "json":
        sys.stdout.write(json.dumps(rec, indent=2) + "\n")
    elif args.format == "csv":
        sys.stdout.write(format_csv(rec))
    else:
        sys.stdout.write(format_table(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
