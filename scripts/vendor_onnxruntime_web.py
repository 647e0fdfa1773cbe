#!/usr/bin/env python3
"""Vendor onnxruntime-web for the book's live explorer (book/_vendor/vendor/onnxruntime-web/).

    python scripts/vendor_onnxruntime_web.py [--version 1.30.0]

Only needed to upgrade it; the book build uses the committed copies.  Takes from the npm
package (``npm pack``, unchanged but for the encoding):

* ``ort.wasm.min.js`` -- the runtime's classic script, WebAssembly backend only;
* ``ort-wasm-embedded.js`` -- sets ``window.ORT_WASM``: the WebAssembly binary
  (``ort-wasm-simd-threaded.wasm``, the package's plain SIMD build: no JSEP/WebGPU, no
  asyncify) gzipped and base64-encoded, and its JavaScript glue (``ort-wasm-simd-threaded.mjs``)
  as text.  A page opened from disk (file://) may neither fetch() the binary nor import() the
  glue as files; book/_vendor/explorer/explorer_page.js hands both to the runtime from memory
  (``ort.env.wasm.wasmBinary`` and a blob: URL for the glue).  The page runs one thread: a
  book is not cross-origin isolated, so the build's threads stay unused.
* ``LICENSE`` -- the MIT license the package declares (it ships no license file).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "book" / "_vendor" / "vendor" / "onnxruntime-web"
VERSION = "1.30.0"
WASM = "ort-wasm-simd-threaded.wasm"
GLUE = "ort-wasm-simd-threaded.mjs"
MIT = """onnxruntime-web {version} (https://github.com/microsoft/onnxruntime), MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", default=VERSION)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", "--silent", f"onnxruntime-web@{args.version}"],
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (tgz,) = Path(tmp).glob("onnxruntime-web-*.tgz")
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        pkg = Path(tmp) / "package"
        dist = pkg / "dist"
        shutil.rmtree(DEST, ignore_errors=True)
        DEST.mkdir(parents=True)
        shutil.copy(dist / "ort.wasm.min.js", DEST / "ort.wasm.min.js")
        (DEST / "LICENSE").write_text(MIT.format(version=args.version))
        wasm = gzip.compress((dist / WASM).read_bytes(), 9, mtime=0)
        glue = (dist / GLUE).read_text()
        (DEST / "ort-wasm-embedded.js").write_text(
            f"// onnxruntime-web {args.version}: {WASM} (gzip + base64) and its glue {GLUE} (text),\n"
            f"// for pages opened from disk. Written by scripts/vendor_onnxruntime_web.py.\n"
            f"window.ORT_WASM = {{version: {json.dumps(args.version)}, "
            f'wasm_gzip_base64: "{base64.b64encode(wasm).decode("ascii")}", '
            f"glue_mjs: {json.dumps(glue)}}};\n"
        )
    for f in sorted(DEST.iterdir()):
        print(f"{f.stat().st_size / 1e6:8.2f} MB  {f.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
