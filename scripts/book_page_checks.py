"""Checks for the book pages that need more than the generic ones of ``check_book.py``.

One function per special page, registered for the page's path relative to the HTML root::

    @page("notebooks/15_latent_explorer.html")
    def explorer_widgets(ctx): ...

It runs after the generic checks, with ``ctx`` a :class:`check_book.PageContext`:
``ctx.driver`` (a Selenium Chrome driver on the loaded page; it can click and drag with
``selenium.webdriver.ActionChains``), ``ctx.wait_for(js)``, ``ctx.screenshot("after")`` (an
extra screenshot beside the page's own), ``ctx.fail(message)`` and ``ctx.note(message)``.
An exception raised by a check fails the page with its message.
"""
from __future__ import annotations

import fnmatch

_HOOKS: list = []   # (glob of pages, function)


def page(*patterns: str):
    """Register the decorated function for the pages matching any of ``patterns``."""
    def register(fn):
        _HOOKS.extend((p, fn) for p in patterns)
        return fn
    return register


def hooks_for(page_path: str) -> list:
    seen, out = set(), []
    for pattern, fn in _HOOKS:
        if fnmatch.fnmatch(page_path, pattern) and fn not in seen:
            seen.add(fn)
            out.append(fn)
    return out


@page("notebooks/15_latent_explorer.html")
def explorer_widgets(ctx):
    """The stored ipywidgets explorer: its sliders, buttons and the decoded face image are drawn.

    The snapshot has no kernel behind it, so moving a slider changes nothing; this checks only
    that every control of the explorer made it onto the page."""
    counts = ctx.driver.execute_script("""
        const root = document.querySelector('.widget-subarea');
        if (!root) return {sliders: 0, buttons: 0, images: 0};
        return {sliders: root.querySelectorAll('.widget-slider, .widget-hslider').length,
                buttons: root.querySelectorAll('button, .widget-button').length,
                images: [...root.querySelectorAll('img')].filter(i => i.naturalWidth > 0).length};
    """)
    ctx.note(f"explorer widgets: {counts}")
    if counts["sliders"] < 3:
        ctx.fail(f"explorer: expected its sliders, found {counts['sliders']}")
    if counts["images"] < 1:
        ctx.fail("explorer: the widget shows no decoded image")
