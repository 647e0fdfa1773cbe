"""Two fixes to the HTML that jupyter-book 1 writes, so that a page logs no error in a browser.

* Some extensions (sphinx-thebe, sphinx-togglebutton) add their inline configuration scripts
  twice; the second ``const THEBE_JS_URL = ...`` is a SyntaxError.  Exact duplicates of a script
  (same file or body, same attributes) are dropped from every page.
* pydata-sphinx-theme logs "Got invalid theme mode" on a reader's first page when no default
  mode is set; ``auto`` is what it falls back to anyway.
"""

from __future__ import annotations


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        attributes = getattr(js, "attributes", {}) or {}
        # an inline script's filename is None when added, "" after a pickled environment
        key = (
            getattr(js, "filename", None) or "",
            tuple(sorted((k, str(v)) for k, v in attributes.items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def _default_mode(app, config):
    # pydata-sphinx-theme reads it from the template context, not from the theme options
    config.html_context.setdefault("default_mode", "auto")


def setup(app):
    app.connect("config-inited", _default_mode)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
