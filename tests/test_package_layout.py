"""The package shows its parts (issue 10): the book's plumbing in its own subpackage, the claims
split by topic, and no import cycle anywhere in vlmlab (module-level or lazy imports alike)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "vlmlab"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """vlmlab modules that ``path`` imports, wherever the import statement stands."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "vlmlab"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "vlmlab":
                continue
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}  # `from . import x` imports a module
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PKG.rglob("*.py")}
    return {m: {t for t in imports_of(p) if t in modules and t != m} for m, p in modules.items()}


def cycle_from(g: dict[str, set[str]], start: str) -> list[str] | None:
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in g[node]:
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def is_package_parent(a: str, b: str) -> bool:
    """A package importing its own submodule, and the submodule importing a sibling through the
    package, is how Python packages work, not a cycle between concepts."""
    return b.startswith(a + ".") or a.startswith(b + ".")


def test_the_graph_helper_finds_a_planted_cycle():
    assert cycle_from({"a": {"b"}, "b": {"c"}, "c": {"a"}}, "a") == ["a", "b", "c", "a"]
    assert cycle_from({"a": {"b"}, "b": set()}, "a") is None


@pytest.mark.parametrize("package", ["vlmlab.claims", "vlmlab.notebook", "vlmlab.tokens"])
def test_no_import_cycle_inside(package):
    g = graph()
    sub = {m: {t for t in ts if t.startswith(package + ".") and not is_package_parent(m, t)}
           for m, ts in g.items() if m.startswith(package + ".")}
    cycles = [c for m in sub if (c := cycle_from(sub, m))]
    assert not cycles, cycles


def test_claims_are_split_by_topic_not_by_chapter_range():
    names = {p.stem for p in (PKG / "claims").glob("*.py")}
    assert not [n for n in names if n.startswith("chapters")], names
    assert {"records", "ledger", "recompute", "token_counts", "attention_cost", "context_windows",
            "memory", "designs", "sources"} <= names


def test_book_plumbing_lives_in_vlmlab_notebook():
    """notebook (set-up, glue), execute and provenance_page form one subpackage; the chapters'
    import, ``from vlmlab.notebook import setup, glue``, keeps working."""
    assert {p.stem for p in (PKG / "notebook").glob("*.py")} >= {"__init__", "execute", "provenance_page"}
    assert not [n for n in ("execute.py", "provenance_page.py", "notebook.py") if (PKG / n).exists()]
    from vlmlab.notebook import glue, setup  # noqa: F401
