"""What the book's calculator page calls in Pyodide: the command line itself, captured.

``run(argv)`` runs ``vlmlab profile`` with ``argv`` and returns its exit status, stdout and
stderr, so the page shows exactly what the command line prints (its JSON, or its one-line
error). ``sweep`` gives the plot's points (visual tokens and prefill time of a square image per
side), ``choices`` the names the form suggests. Standard library only.
"""
from __future__ import annotations

import contextlib
import io
import json

from .. import cli


def run(argv) -> str:
    """``{"rc", "out", "err"}`` of ``vlmlab <argv>`` as JSON text."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(list(argv))
    return json.dumps({"rc": rc, "out": out.getvalue(), "err": err.getvalue()})


def sweep(argv, sides) -> str:
    """Visual tokens and batch-1 prefill seconds of one ``side`` x ``side`` image per side, for
    the other inputs of ``argv`` (a ``profile`` command line), as JSON rows; [] on bad input."""
    try:
        args = cli.build_parser().parse_args(list(argv))
        rows = []
        for side in sides:
            rec = cli.run_profile(args, images=[(int(side), int(side))], alternatives=())
            rows.append({"side": int(side), "visual_tokens": rec["visual_tokens"],
                         "prefill_seconds": rec.get("prefill_seconds")})
        return json.dumps(rows)
    except (SystemExit, ValueError, TypeError, KeyError):
        return "[]"


def choices() -> str:
    """Names the form suggests (LM presets, front-ends: open, then hosted; GPUs) and the
    command line's defaults, as form values (a link that leaves a field out gets these)."""
    from ..models import list_lms
    from ..roofline import DATASHEETS
    from ..tokens import list_hosted, list_models
    from . import DEFAULTS

    h, w = DEFAULTS["images"][0]
    defaults = {"lm": "", "frontend": "", "gpu": DEFAULTS["gpu"], "image": f"{h}x{w}",
                "frames": str(DEFAULTS["frames"]), "prompt_tokens": str(DEFAULTS["prompt_tokens"]),
                "new_tokens": str(DEFAULTS["new_tokens"]), "batch": "",
                "dtype": DEFAULTS["dtype"], "price": f"{DEFAULTS['price']:.2f}"}
    return json.dumps({"lm": list_lms(), "frontend": list_models() + list_hosted(),
                       "gpu": list(DATASHEETS), "defaults": defaults})
