"""Sphinx extension: drop duplicate ``<script>`` entries from every page (a Sphinx 7.4 bug).

Sphinx 7.4 adds an inline script registered after ``Builder.init()`` twice: once with the
file name ``None`` and once with ``''`` (``StandaloneHTMLBuilder.prepare_writing``), and the
two compare unequal. sphinx-thebe's inline script declares ``const THEBE_JS_URL``, so the second
copy throws "Identifier 'THEBE_JS_URL' has already been declared" on every page, which the
browser test (tests/test_browser.py) reports as a JavaScript error. Loaded from ``_config.yml``
(``sphinx.local_extensions``).
"""
from __future__ import annotations


def _key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    return (getattr(script, "filename", script) or "", getattr(script, "priority", 500),
            tuple(sorted((k, str(v)) for k, v in attributes.items())))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Keep the first of each script (same file, priority and attributes, inline body included)."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", dedupe_scripts, priority=900)  # after every other handler
    return {"parallel_read_safe": True, "parallel_write_safe": True}
