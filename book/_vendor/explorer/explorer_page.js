// What the book's two live decoders share: the latent explorer of "Exploring the latent space"
// (latent_explorer.js) and the conditional switches of "Beyond the series"
// (conditional_explorer.js).  Each page loads this file first, then its own script.
//
// Python trained the model and exported its decoder (vaecourse.kit.browser_explorer); here the
// reader's browser only decodes: onnxruntime-web runs the ONNX decoder in WebAssembly, once per
// move of a control.  Everything arrives through <script> tags -- window.ort (the runtime),
// window.ORT_WASM (its binary and glue) and the page's data (model, faces, directions or labels)
// -- because a book opened from disk (file://) may not fetch() files.
(function () {
  "use strict";

  const SCALE = 4; // the 64x64 canvas is shown 4 times larger, pixelated

  // ---- data: base64 -> bytes, gunzipped by the browser's own DecompressionStream ----------
  async function gunzipBase64(text) {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  async function startRuntime(data) {
    const wasm = window.ORT_WASM;
    ort.env.wasm.numThreads = 1; // a book page is not cross-origin isolated: no threads
    ort.env.wasm.wasmBinary = await gunzipBase64(wasm.wasm_gzip_base64);
    // the runtime import()s its glue module; from memory, through a blob: URL
    const glue = new Blob([wasm.glue_mjs], { type: "text/javascript" });
    ort.env.wasm.wasmPaths = { mjs: URL.createObjectURL(glue) };
    const model = await gunzipBase64(data.model.onnx_gzip_base64);
    return ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  }

  function gaussian() {
    // Box-Muller: one draw from N(0, 1)
    let u = 0;
    while (u === 0) u = Math.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  }

  // ---- drawing ------------------------------------------------------------------------------
  function draw(canvas, data, pixels) {
    // pixels: the decoder's (1, height, width, channels) output, channels last
    const { height, width, channels, activation } = data.image;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(width, height);
    for (let p = 0; p < width * height; p++) {
      for (let c = 0; c < 3; c++) {
        let v = pixels[p * channels + (channels === 1 ? 0 : c)];
        if (activation === "tanh") v = (v + 1) / 2;
        img.data[4 * p + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
      img.data[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  // ---- the panel and its controls -----------------------------------------------------------
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function panel(root, data) {
    // the face on the left (canvas and a readout line), the controls on the right
    root.textContent = "";
    root.classList.add("vx-live");
    const canvas = el("canvas", { width: data.image.width, height: data.image.height });
    canvas.style.width = `${SCALE * data.image.width}px`;
    canvas.style.height = `${SCALE * data.image.height}px`;
    const readout = el("div", { class: "vx-readout" });
    const left = el("div", { class: "vx-image" });
    const controls = el("div", { class: "vx-controls" });
    left.append(canvas, readout);
    root.append(left, controls);
    const group = (title) => {
      const g = el("fieldset", { class: "vx-group" });
      g.append(el("legend", {}, title));
      controls.append(g);
      return g;
    };
    return { canvas, readout, group };
  }

  function select(parent, control, label, options, value, onChange) {
    const row = el("label", { class: "vx-row" });
    const s = el("select", { "data-control": control });
    options.forEach((text, i) => s.append(el("option", { value: i }, text)));
    s.value = value;
    s.addEventListener("change", () => onChange(Number(s.value)));
    row.append(el("span", { class: "vx-label" }, label), s);
    parent.append(row);
    return s;
  }

  function updater(api, decodeAndDraw, showReadout, onError) {
    // one decode at a time; moves made meanwhile are merged into the next one
    let pending = false;
    return async function update() {
      if (api.busy) { pending = true; return; }
      api.busy = true;
      try {
        do {
          pending = false;
          const t0 = performance.now();
          await decodeAndDraw();
          api.lastMs = performance.now() - t0;
          api.decodes += 1;
          showReadout();
        } while (pending);
      } catch (e) {
        onError(e);
      } finally {
        api.busy = false;
      }
    };
  }

  // ---- starting -----------------------------------------------------------------------------
  function fail(api, root, error, what) {
    api.error = String(error && error.message ? error.message : error);
    root.classList.add("vx-failed");
    root.append(el("p", { class: "vx-error" }, `The live ${what} could not start: ${api.error}`));
    console.error(`${what}:`, error);
  }

  function mount(api, selector, dataName, what, build) {
    // build(root, data, session) once the page, its data and the runtime are there;
    // api.ready resolves when the first face is drawn (or the failure is shown)
    async function main() {
      const root = document.querySelector(selector);
      if (!root) return;
      try {
        const data = window[dataName];
        if (!data || !window.ort || !window.ORT_WASM) throw new Error("its data or runtime did not load");
        await build(root, data, await startRuntime(data));
      } catch (e) {
        fail(api, root, e, what);
      }
    }
    api.ready = new Promise((resolve) => {
      const go = () => main().then(resolve);
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
      else go();
    });
  }

  window.vaeExplorerPage = { gaussian, draw, el, panel, select, updater, fail, mount };
})();
