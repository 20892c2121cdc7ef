"""The environment `make` built is the lock (issue 10).

`make venv` installs requirements.txt (compiled by `make lock` from requirements.in, exact versions
with hashes) and then vlmlab itself without dependencies. These tests compare what is installed in
the interpreter running the tests with that lock, so an install step that drifts (a package
upgraded by hand, a requirement that escaped the lock) fails CI instead of changing its verdict
silently. They check the project's own .venv only: `make test-latest`/`test-floor` build other
environments on purpose and leave this file out.
"""
from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        m = PIN.match(line)
        if m:
            pins[canonical(m.group(1))] = m.group(2)
    return pins


def installed() -> dict[str, str]:
    return {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}


pytestmark = pytest.mark.skipif(Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
                                reason="checks the project's .venv (built by make from the lock)")


def test_lock_is_compiled_with_hashes():
    text = LOCK.read_text()
    pins = locked()
    assert len(pins) > 100, "requirements.txt should pin every package, transitive ones included"
    assert text.count("--hash=sha256:") >= len(pins), "every pin carries at least one hash"
    assert "torch" in pins and pins["torch"].startswith("2.13.0"), pins.get("torch")


def test_every_locked_package_is_installed_at_its_locked_version():
    have = installed()
    wrong = {n: (v, have.get(n)) for n, v in locked().items() if have.get(n) != v}
    assert not wrong, f"installed versions differ from the lock (name: (locked, installed)): {wrong}"


def test_nothing_is_installed_beyond_the_lock_and_vlmlab():
    extra = sorted(set(installed()) - set(locked()) - {"vlmlab"})
    assert not extra, f"installed but not in requirements.txt (add to requirements.in, `make lock`): {extra}"


def test_requirements_in_names_what_the_lock_pins():
    """Each top-level requirement of requirements.in is in the lock."""
    names = [canonical(re.split(r"[<>=!~\s\[;#]", ln.strip(), maxsplit=1)[0])
             for ln in (ROOT / "requirements.in").read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith(("#", "-"))]
    missing = [n for n in names if n not in locked()]
    assert names and not missing, missing
