#!/usr/bin/env python3
"""Open every page of the built book in headless Chromium, as a reader would, and fail on what a
reader would see broken.

    python scripts/check_book.py [_build/html] [--http] [--pages GLOB ...] [--out DIR]

Pages are opened over file:// (the offline book opened from disk), or with ``--http`` from a
server on 127.0.0.1.  Requests to any other host are blocked, so a page that needs the network
fails here as it would for a reader without one.  A page fails on:

* untypeset math -- an element Sphinx marked as math (``.math``) without an ``mjx-container``
  inside, a MathJax error (``mjx-merror``), or raw TeX delimiters (``\\(``, ``\\[``, ``$$``)
  left in the visible prose (code and outputs excluded);
* a stored widget view (``application/vnd.jupyter.widget-view+json``) that rendered no widget;
* a missing image: an ``<img>`` that did not load (``naturalWidth == 0``);
* an image without alt text that says what it shows: none, empty, its file name (what Sphinx
  writes when a cell sets none; ``scripts/alt_text.py`` sets them) or a single word;
* error text: a traceback output in a cell not tagged ``raises-exception``; an output of such a
  cell that contains ``Traceback (most recent call last)``; a stderr output with an error line;
  a docutils system message; the widget manager's "Error displaying/rendering widget"; any error
  the browser logs (an uncaught JavaScript exception, a file that failed to load, a blocked
  request).  Chapters that *teach* an error print it from a caught exception (stdout, no
  traceback) or keep the traceback in a ``raises-exception`` cell: both are allowed.
* a chapter page without its ``.ipynb`` download link, or a link to a file that is not there.

Pages with more to check (the explorer's widgets, later a live decoder) have their own function
in ``book_page_checks.py``.  A full-page screenshot of every page goes to ``--out``
(default ``_build/browser-check``), with ``report.json``; a table of images, math and widgets
per page is printed.  Exit status 1 if any page failed.
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import http.server
import json
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import alt_text  # noqa: E402
import book_page_checks  # noqa: E402  (scripts/ is not a package)

SHOT_MAX_HEIGHT = 16000  # px; a longer page is cut in its screenshot (not in the checks)
WAIT_S = 20  # longest wait for MathJax and the widgets of one page

# One script collects everything the generic checks look at, after MathJax and widgets are done.
COLLECT_JS = r"""
const out = {images: [], math: {total: 0, typeset: 0, merror: 0, raw: []}, views: [],
             errors: [], download: null, stderr_warnings: 0};
for (const img of document.images) {
  out.images.push({src: img.getAttribute('src').slice(0, 120), alt: img.getAttribute('alt'),
                   ok: img.complete && img.naturalWidth > 0});
}
const maths = document.querySelectorAll('.math');
out.math.total = maths.length;
for (const m of maths) { if (m.querySelector('mjx-container')) out.math.typeset += 1; }
out.math.merror = document.querySelectorAll('mjx-merror').length;
// raw TeX delimiters in visible prose: walk text nodes outside code, outputs and scripts
const skip = 'pre, code, script, style, textarea, .cell_output, .highlight, mjx-container, .math';
const walker = document.createTreeWalker(document.querySelector('main') || document.documentElement,
                                         NodeFilter.SHOW_TEXT);
const tex = /\\\(|\\\[|\$\$|\\begin\{/;
while (walker.nextNode()) {
  const node = walker.currentNode;
  if (node.parentElement && node.parentElement.closest(skip)) continue;
  if (tex.test(node.textContent)) out.math.raw.push(node.textContent.trim().slice(0, 80));
}
for (const s of document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')) {
  let model = '';
  try { model = JSON.parse(s.textContent).model_id; } catch (e) { model = 'unparsable'; }
  // the HTML manager renders a view into a div it inserts right before the script tag
  const host = s.previousElementSibling;
  const n = host ? host.querySelectorAll('.jupyter-widgets, .lm-Widget, .widget-inline-hbox').length : 0;
  out.views.push({model: model, elements: n});
}
for (const cell of document.querySelectorAll('div.cell')) {
  const expected = cell.classList.contains('tag_raises-exception');
  const src = (cell.querySelector('.cell_input') || {textContent: ''}).textContent.trim().slice(0, 60);
  for (const o of cell.querySelectorAll('.cell_output .output')) {
    const text = o.textContent;
    if (o.classList.contains('traceback') && !expected)
      out.errors.push('traceback output in a cell not tagged raises-exception: ' + src);
    else if (!expected && text.includes('Traceback (most recent call last)'))
      out.errors.push('a traceback printed in an output: ' + src);
    else if (o.classList.contains('stderr')) {
      if (/^\s*\w*(Error|Exception)\b/m.test(text)) out.errors.push('error on stderr: ' + src);
      else if (/Warning/.test(text)) out.stderr_warnings += 1;
    }
  }
}
for (const m of document.querySelectorAll('.system-message, .problematic'))
  out.errors.push('docutils: ' + m.textContent.trim().slice(0, 100));
const body = document.documentElement.innerText;
for (const phrase of ['Error displaying widget', 'Error rendering Jupyter widget', 'Error creating widget'])
  if (body.includes(phrase)) out.errors.push('widget manager: ' + phrase);
out.overflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
const dl = [...document.querySelectorAll('a[href$=".ipynb"]')].filter(a => !a.href.includes('colab.research'));
if (dl.length) out.download = dl[0].href;
return out;
"""

# Resolves once MathJax has typeset the page (or at once on a page without MathJax).
MATHJAX_JS = r"""
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup) { done('none'); return; }
MathJax.startup.promise.then(() => done('typeset'), e => done('error: ' + e));
"""

VIEWS_READY_JS = r"""
const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
for (const s of views) {
  const host = s.previousElementSibling;
  if (!host || !host.querySelector('.jupyter-widgets, .lm-Widget')) return false;
}
return true;
"""


@dataclass
class PageResult:
    page: str
    images: int = 0
    images_ok: int = 0
    math: int = 0
    math_ok: int = 0
    views: int = 0
    views_ok: int = 0
    widget_elements: int = 0
    download: str = "-"
    seconds: float = 0.0
    failures: list = field(default_factory=list)
    notes: list = field(default_factory=list)


class PageContext:
    """What a page-specific check gets: the driver, the page, and ways to fail or record."""

    def __init__(self, driver, page: str, result: PageResult, out: Path):
        self.driver, self.page, self.result, self.out = driver, page, result, out

    def fail(self, message: str) -> None:
        self.result.failures.append(message)

    def note(self, message: str) -> None:
        self.result.notes.append(message)

    def wait_for(self, js: str, timeout: float = WAIT_S) -> bool:
        """Poll ``return <js>`` until it is truthy; False after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.driver.execute_script(js):
                return True
            time.sleep(0.2)
        return False

    def screenshot(self, suffix: str = "") -> Path:
        """A full-page PNG, ``<page>.png`` or ``<page>--<suffix>.png`` under the output folder."""
        name = self.page.replace("/", "__").removesuffix(".html")
        path = self.out / f"{name}{'--' + suffix if suffix else ''}.png"
        full_page_screenshot(self.driver, path)
        return path


def full_page_screenshot(driver, path: Path) -> None:
    import base64

    # the reader's width (a wider clip would lay the page out again at that width)
    width, height = driver.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollHeight]"
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {
                "x": 0,
                "y": 0,
                "width": width,
                "height": min(height, SHOT_MAX_HEIGHT),
                "scale": 1,
            },
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def start_browser(width: int = 1280, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        sys.exit(
            "check_book: chromium and chromedriver are needed (Debian: apt-get install "
            "chromium chromium-driver)"
        )
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--hide-scrollbars",
        "--lang=en-US",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an explicit driver keeps Selenium Manager from looking for one on the network
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(WAIT_S + 5)
    driver.execute_cdp_cmd("Network.enable", {})
    # the reader is offline: every request leaving this machine is blocked and logged as an error
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
    return driver


def serve(html: Path) -> tuple:
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the page table is the log
        pass


def browser_errors(driver) -> list:
    """SEVERE entries of the console log since the last call (uncaught errors, failed loads)."""
    # a browser asks any http server for /favicon.ico by itself; the book has none
    return [
        e["message"][:200]
        for e in driver.get_log("browser")
        if e.get("level") == "SEVERE" and "/favicon.ico" not in e["message"]
    ]


def check_page(driver, base: str, html: Path, page: str, out: Path) -> PageResult:
    result = PageResult(page)
    t0 = time.monotonic()
    driver.get_log("browser")  # drop what the previous page left
    driver.get(base + page)
    ctx = PageContext(driver, page, result, out)
    state = driver.execute_async_script(MATHJAX_JS)
    if state.startswith("error"):
        result.failures.append(f"MathJax: {state}")
    if not ctx.wait_for(VIEWS_READY_JS):
        result.notes.append("widgets still not rendered after the wait")
    info = driver.execute_script(COLLECT_JS)

    result.images = len(info["images"])
    result.images_ok = sum(1 for i in info["images"] if i["ok"])
    result.failures.extend(image_failures(info["images"]))

    m = info["math"]
    result.math, result.math_ok = m["total"], m["typeset"]
    if m["typeset"] < m["total"]:
        result.failures.append(f"math not typeset: {m['total'] - m['typeset']} of {m['total']}")
    if m["merror"]:
        result.failures.append(f"MathJax errors: {m['merror']}")
    for raw in m["raw"]:
        result.failures.append(f"raw TeX in the text: {raw!r}")

    result.views = len(info["views"])
    result.views_ok = sum(1 for v in info["views"] if v["elements"] > 0)
    result.widget_elements = sum(v["elements"] for v in info["views"])
    for v in info["views"]:
        if not v["elements"]:
            result.failures.append(f"widget view {v['model']} did not render")

    result.failures.extend(info["errors"])
    if info["overflow"] > 0:
        result.notes.append(f"the page is {info['overflow']} px wider than the window")
    if info["stderr_warnings"]:
        result.notes.append(f"{info['stderr_warnings']} stderr output(s) with warnings")

    if page.startswith("notebooks/"):
        if not info["download"]:
            result.failures.append("no .ipynb download link")
        else:
            target = local_file(info["download"], base, html)
            result.download = "ok" if target and target.is_file() else "missing"
            if result.download != "ok":
                result.failures.append(
                    f".ipynb download link points at nothing: {info['download']}"
                )

    for hook in book_page_checks.hooks_for(page):
        try:
            hook(ctx)
        except Exception as e:  # a broken hook is a failed page, not a crashed run
            result.failures.append(f"{hook.__name__}: {type(e).__name__}: {e}")
    result.failures.extend(f"browser: {e}" for e in browser_errors(driver))
    ctx.screenshot()
    result.seconds = time.monotonic() - t0
    return result


def image_failures(images: list) -> list:
    """What is wrong with a page's images (``{src, alt, ok}`` each, as COLLECT_JS reports them):
    one that did not load, one whose alt text says nothing (:func:`alt_text.bad_alt`)."""
    failures = []
    for img in images:
        if not img["ok"]:
            failures.append(f"image did not load: {img['src']}")
        reason = alt_text.bad_alt(img.get("alt"), img["src"])
        if reason:
            failures.append(f"image without alt text: {reason}: {img['src'][:80]}")
    return failures


def local_file(url: str, base: str, html: Path) -> Path | None:
    if url.startswith("file://"):
        return Path(unquote(urlparse(url).path))
    if url.startswith(base):
        return html / unquote(url[len(base) :].split("#")[0])
    return None


def print_table(results: list) -> None:
    head = f"{'page':<42} {'images':>7} {'math':>9} {'widgets':>13} {'ipynb':>6} {'s':>5}  result"
    print(head)
    print("-" * len(head))
    for r in results:
        widgets = f"{r.views_ok}/{r.views} ({r.widget_elements})" if r.views else "-"
        print(
            f"{r.page:<42} {r.images_ok:>3}/{r.images:<3} {r.math_ok:>4}/{r.math:<4} "
            f"{widgets:>13} {r.download:>6} {r.seconds:>5.1f}  "
            f"{'FAIL' if r.failures else 'ok'}"
        )
    print("-" * len(head))
    print(
        f"{len(results)} pages: {sum(r.images_ok for r in results)} images, "
        f"{sum(r.math_ok for r in results)} math elements typeset, "
        f"{sum(r.views_ok for r in results)} widget views rendered "
        f"({sum(r.widget_elements for r in results)} widget elements); "
        f"{sum(1 for r in results if r.failures)} broken"
    )


# Breakages the check must catch: (what to look for in a page, how to break it, expected failure).
# --self-test applies each to a copy of the first page that has the thing, and fails unless the
# check reports it, so a green check cannot be one that looks at nothing.
BREAKAGES = [
    (
        "stored widget view",
        "application/vnd.jupyter.widget-view+json",
        lambda t: t.replace(
            'data-jupyter-widgets-cdn=""', 'crossorigin="anonymous" data-jupyter-widgets-cdn=""'
        ),
        "did not render",
    ),
    (
        "math",
        'class="math',
        lambda t: t.replace("tex-mml-chtml.js", "missing-mathjax.js"),
        "math not typeset",
    ),
    (
        "image",
        "<img ",
        lambda t: re.sub(r'(<img [^>]*src=")[^"]*"', r'\1missing.png"', t, count=1),
        "image did not load",
    ),
    (
        "image alt text",
        "<img ",
        lambda t: re.sub(r'(<img [^>]*?)alt="[^"]*"', r'\1alt=""', t, count=1),
        "image without alt text",
    ),
    (
        "expected error",
        "tag_raises-exception",
        lambda t: t.replace("tag_raises-exception", "tag_something-else"),
        "not tagged raises-exception",
    ),
]


def self_test(html: Path, pages: list, out: Path) -> int:
    """Break a copy of the book in each of the BREAKAGES ways; the check must notice every one."""
    import tempfile

    problems = []
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "html"
        shutil.copytree(html, copy)
        driver = start_browser()
        try:
            for what, marker, breaker, expected in BREAKAGES:
                page = next((p for p in pages if marker in (html / p).read_text()), None)
                if page is None:
                    print(f"self-test: no page has a {what}; skipped")
                    continue
                original = (copy / page).read_text()
                (copy / page).write_text(breaker(original))
                result = check_page(driver, copy.as_uri() + "/", copy, page, out)
                (copy / page).write_text(original)
                caught = any(expected in f for f in result.failures)
                print(
                    f"self-test: broken {what} on {page}: "
                    f"{'caught' if caught else 'NOT CAUGHT'} ({len(result.failures)} failures)"
                )
                if not caught:
                    problems.append(what)
        finally:
            driver.quit()
    return 1 if problems else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", nargs="?", default=str(ROOT / "_build" / "html"))
    ap.add_argument(
        "--http", action="store_true", help="serve over http://127.0.0.1 instead of file://"
    )
    ap.add_argument(
        "--pages", nargs="*", default=["*"], help="glob(s) of pages, e.g. 'notebooks/15*'"
    )
    ap.add_argument("--out", default=str(ROOT / "_build" / "browser-check"))
    ap.add_argument(
        "--self-test",
        action="store_true",
        help="first break copies of pages in known ways and check that each is caught",
    )
    args = ap.parse_args(argv)

    html = Path(args.html).resolve()
    pages = sorted(
        str(p.relative_to(html))
        for p in html.rglob("*.html")
        if not p.relative_to(html).parts[0].startswith(("_", "vendor"))
    )
    pages = [p for p in pages if any(fnmatch.fnmatch(p, g) for g in args.pages)]
    if not pages:
        print(f"check_book: no pages in {html}", file=sys.stderr)
        return 1
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)

    if args.self_test and self_test(html, pages, out / "self-test"):
        print("check_book: the self-test failed: the check missed a broken page", file=sys.stderr)
        return 1

    server = None
    if args.http:
        server, base = serve(html)
    else:
        base = html.as_uri() + "/"
    t0 = time.monotonic()
    driver = start_browser()
    try:
        if server:  # our own server must be reachable; everything over https stays blocked
            driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*"]})
        results = [check_page(driver, base, html, p, out) for p in pages]
    finally:
        driver.quit()
        if server:
            server.shutdown()
    print(
        f"Browser check of {html} over {'http' if server else 'file://'} "
        f"({time.monotonic() - t0:.0f} s, screenshots in {out}):\n"
    )
    print_table(results)
    for r in results:
        for f in r.failures:
            print(f"FAIL {r.page}: {f}")
        for n in r.notes:
            print(f"note {r.page}: {n}")
    (out / "report.json").write_text(json.dumps([r.__dict__ for r in results], indent=1))
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
