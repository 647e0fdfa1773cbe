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

_HOOKS: list = []  # (glob of pages, function)


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
def live_explorer(ctx):
    """The live explorer: onnxruntime-web decodes in the page (book/_vendor/explorer/).

    Waits for its first face, moves the first principal-direction slider by dragging it, and
    fails unless the canvas pixels change (screenshots ``explorer-before``/``explorer-after``);
    the same for the random-face button.  Then times 300 decodes in the page.  (The chapter's ipywidgets snapshot is left out of the
    HTML book: without a kernel its sliders moved nothing.)"""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    d = ctx.driver
    started = "return !!window.vaeExplorer && (vaeExplorer.decodes > 0 || !!vaeExplorer.error)"
    if not ctx.wait_for(started, timeout=60):
        ctx.fail("live explorer: no face decoded within 60 s")
        return
    error = d.execute_script("return vaeExplorer.error")
    if error:
        ctx.fail(f"live explorer: {error}")
        return
    pixels = """const c = document.querySelector('.vae-explorer canvas');
        const now = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const before = window.__vxBefore || now;
        let changed = 0;
        for (let i = 0; i < now.length; i++) if (now[i] !== before[i]) changed += 1;
        window.__vxBefore = now.slice();
        return changed;"""
    d.execute_script(pixels)
    slider = d.find_element(By.CSS_SELECTOR, '.vae-explorer input[data-control="axis0"]')
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", slider)
    ctx.screenshot("explorer-before")
    decodes = d.execute_script("return vaeExplorer.decodes")
    offset = slider.size["width"] // 3  # a third of the way to the right
    ActionChains(d).click_and_hold(slider).move_by_offset(offset, 0).release().perform()
    if not ctx.wait_for(f"return vaeExplorer.decodes > {decodes} && !vaeExplorer.busy"):
        ctx.fail("live explorer: moving a slider decoded nothing")
        return
    changed = d.execute_script(pixels)
    value = slider.get_attribute("value")
    ctx.screenshot("explorer-after")
    if not changed:
        ctx.fail(f"live explorer: the slider moved to {value} but the face did not change")
    decodes = d.execute_script("return vaeExplorer.decodes")
    d.find_element(By.CSS_SELECTOR, '.vae-explorer [data-control="random"]').click()
    ctx.wait_for(f"return vaeExplorer.decodes > {decodes} && !vaeExplorer.busy")
    if not d.execute_script(pixels):
        ctx.fail("live explorer: the random-face button did not change the face")
    ms = d.execute_async_script("vaeExplorer.benchmark(300).then(arguments[arguments.length - 1])")
    ctx.note(
        f"live explorer: slider to {value} changed {changed} pixel bytes; "
        f"{ms:.2f} ms per decode in the page (300 decodes)"
    )
