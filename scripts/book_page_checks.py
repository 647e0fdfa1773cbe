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
    random = d.find_element(By.CSS_SELECTOR, '.vae-explorer [data-control="random"]')
    # again: the full-page screenshot scrolls the page back up, under the sticky header
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", random)
    random.click()
    ctx.wait_for(f"return vaeExplorer.decodes > {decodes} && !vaeExplorer.busy")
    if not d.execute_script(pixels):
        ctx.fail("live explorer: the random-face button did not change the face")
    ms = d.execute_async_script("vaeExplorer.benchmark(300).then(arguments[arguments.length - 1])")
    ctx.note(
        f"live explorer: slider to {value} changed {changed} pixel bytes; "
        f"{ms:.2f} ms per decode in the page (300 decodes)"
    )


PAGE_WEIGHT_LIMIT = 15e6  # bytes: the page with everything it loads, offline


def page_weight(ctx) -> int:
    """Bytes of the page and of the files it loaded, read from the disk (over file:// the
    browser reports no transfer sizes): every script, stylesheet and image the page holds when
    it is done, and -- a page with MathJax loads some of its fonts from the CSS -- all of
    the vendored MathJax folder, an upper bound.  Each file counts once."""
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    urls = ctx.driver.execute_script(
        "return [location.href]"
        ".concat([...document.scripts].map(s => s.src))"
        ".concat([...document.querySelectorAll('link[rel~=stylesheet], link[rel=preload]')]"
        ".map(l => l.href))"
        ".concat([...document.images].map(i => i.currentSrc || i.src))"
        ".concat(performance.getEntriesByType('resource').map(e => e.name))"
    )
    files = set()
    for url in urls:
        u = urlparse(url)
        if u.scheme != "file":  # data: and blob: URLs are inside files already counted
            continue
        path = Path(unquote(u.path))
        files.add(path)
        if path.parent.name == "mathjax":
            files.update(p for p in path.parent.rglob("*") if p.is_file())
    return sum(f.stat().st_size for f in files if f.is_file())


CANVAS_CHANGED_JS = """const c = document.querySelector(arguments[0] + ' canvas');
    const now = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const before = window.__canvasBefore || now;
    let changed = 0;
    for (let i = 0; i < now.length; i++) if (now[i] !== before[i]) changed += 1;
    window.__canvasBefore = now.slice();
    return changed;"""


@page("notebooks/19_beyond_the_series.html")
def conditional_switches(ctx):
    """Chapter XIV's conditional decoder, live (book/_vendor/explorer/conditional_explorer.js).

    Waits for its first face, flips the first attribute switch by clicking it, and fails unless
    the canvas pixels change (screenshots ``switch-before``/``switch-after``); moves that
    attribute's label slider and checks the same.  Then times 300 decodes in the page and fails
    if the page with everything it loads weighs more than 15 MB."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    d, root = ctx.driver, ".vae-conditional"
    started = (
        "return !!window.vaeConditional && (vaeConditional.decodes > 0 || !!vaeConditional.error)"
    )
    if not ctx.wait_for(started, timeout=60):
        ctx.fail("conditional switches: no face decoded within 60 s")
        return
    error = d.execute_script("return vaeConditional.error")
    if error:
        ctx.fail(f"conditional switches: {error}")
        return
    done = "return vaeConditional.decodes > {} && !vaeConditional.busy"
    d.execute_script(CANVAS_CHANGED_JS, root)
    box = d.find_element(By.CSS_SELECTOR, f'{root} input[type="checkbox"]')
    name = box.get_attribute("data-control").split(":", 1)[1]
    ctx.screenshot("switch-before")
    was = box.is_selected()
    decodes = d.execute_script("return vaeConditional.decodes")
    center = "arguments[0].scrollIntoView({block: 'center'})"
    d.execute_script(center, box)  # again: the full-page screenshot scrolls the page back up
    box.click()
    if not ctx.wait_for(done.format(decodes)):
        ctx.fail(f"conditional switches: switching {name} decoded nothing")
        return
    changed = d.execute_script(CANVAS_CHANGED_JS, root)
    ctx.screenshot("switch-after")
    if box.is_selected() == was or not changed:
        ctx.fail(f"conditional switches: {name} switched {'off' if was else 'on'}, "
                 f"the face did not change")  # fmt: skip
    slider = d.find_element(By.CSS_SELECTOR, f'{root} input[data-control="label:{name}"]')
    decodes = d.execute_script("return vaeConditional.decodes")
    d.execute_script(center, slider)
    ActionChains(d).click_and_hold(slider).move_by_offset(slider.size["width"] // 3, 0).release(
    ).perform()  # fmt: skip
    ctx.wait_for(done.format(decodes))
    if not d.execute_script(CANVAS_CHANGED_JS, root):
        ctx.fail(f"conditional switches: the {name} label slider did not change the face")
    ms = d.execute_async_script(
        "vaeConditional.benchmark(300).then(arguments[arguments.length - 1])"
    )
    weight = page_weight(ctx)
    if weight > PAGE_WEIGHT_LIMIT:
        ctx.fail(f"conditional switches: the page weighs {weight / 1e6:.1f} MB, over 15 MB")
    ctx.note(
        f"conditional switches: {name} switched {'off' if was else 'on'} changed {changed} "
        f"pixel bytes; {ms:.2f} ms per conditional decode in the page (300 decodes); "
        f"page weight {weight / 1e6:.2f} MB with everything it loads"
    )
