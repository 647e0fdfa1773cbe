// The live latent-space explorer of the chapter "Exploring the latent space".
//
// Python trained the face VAE, encoded faces and exported the decoder
// (vaecourse.kit.browser_explorer); here the reader's browser only decodes: onnxruntime-web
// runs the ONNX decoder in WebAssembly, once per move of a control.  Everything arrives through
// <script> tags -- window.ort (the runtime), window.ORT_WASM (its binary and glue) and
// window.VAECOURSE_EXPLORER (model and directions) -- because a book opened from disk (file://)
// may not fetch() files.
//
// The latent point is built as in the Python explorer (vaecourse.explorer.LatentExplorer.z):
// start at face A, move towards face B by t, add steps along the principal directions (in
// standard deviations of the codes), add the attribute vectors times their strength, then scale
// the distance from the codes' centre by the radius.
(function () {
  "use strict";

  const SCALE = 4; // the 64x64 canvas is shown 4 times larger, pixelated
  const state = { a: 0, b: 1, t: 0, radius: 1, axes: [], attributes: {} };
  const api = { ready: null, decodes: 0, busy: false, error: null, lastMs: null };
  window.vaeExplorer = api; // for the reader's console and the book's browser check

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

  // ---- latent arithmetic (plain arrays of z_dim numbers) ---------------------------------
  function addScaled(z, v, s) {
    for (let i = 0; i < z.length; i++) z[i] += s * v[i];
  }

  function gaussian() {
    // Box-Muller: one draw from N(0, 1)
    let u = 0;
    while (u === 0) u = Math.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  }

  function norm(z, centre) {
    let s = 0;
    for (let i = 0; i < z.length; i++) {
      const d = z[i] - (centre ? centre[i] : 0);
      s += d * d;
    }
    return Math.sqrt(s);
  }

  function latentPoint(data, faces) {
    const A = faces[state.a], B = faces[state.b], t = state.t;
    const z = A.map((x, i) => (1 - t) * x + t * B[i]);
    state.axes.forEach((v, i) => addScaled(z, data.axes.directions[i], v * data.axes.stds[i]));
    for (const [name, s] of Object.entries(state.attributes)) addScaled(z, data.attributes[name], s);
    return z.map((x, i) => data.centre[i] + state.radius * (x - data.centre[i]));
  }

  // ---- decoding and drawing ---------------------------------------------------------------
  async function decode(session, data, z) {
    const input = new ort.Tensor("float32", Float32Array.from(z), [1, z.length]);
    const out = await session.run({ [data.model.input]: input });
    return out[data.model.output].data; // (1, height, width, channels), channels last
  }

  function draw(canvas, data, pixels) {
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

  // ---- the controls -------------------------------------------------------------------------
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function slider(parent, control, label, min, max, step, value, onInput, title) {
    const row = el("label", { class: "vx-row", title: title || "" });
    const input = el("input", { type: "range", min, max, step, value, "data-control": control });
    const out = el("output", {}, Number(value).toFixed(2));
    input.addEventListener("input", () => {
      out.textContent = Number(input.value).toFixed(2);
      onInput(Number(input.value));
    });
    row.append(el("span", { class: "vx-label" }, label), input, out);
    parent.append(row);
    return input;
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

  function build(root, data, session) {
    // faces A/B: the encoded faces, then one slot for the latest random draw z ~ N(0, I)
    const faces = data.faces.slice();
    const randomSlot = faces.length;
    faces.push(data.faces[0].map(() => 0));
    const names = data.faces.map((_, i) => `face ${i + 1}`).concat(["random face"]);

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

    let pending = false;
    async function update() {
      // one decode at a time; moves made meanwhile are merged into the next one
      if (api.busy) { pending = true; return; }
      api.busy = true;
      try {
        do {
          pending = false;
          const z = latentPoint(data, faces);
          const t0 = performance.now();
          draw(canvas, data, await decode(session, data, z));
          api.lastMs = performance.now() - t0;
          api.decodes += 1;
          const r = data.radii;
          readout.textContent =
            `|z| = ${norm(z).toFixed(1)} (N(0, I) shell ${r.chi.toFixed(1)}, codes ` +
            `${r.codes.toFixed(1)}) · from the centre ${norm(z, data.centre).toFixed(1)} ` +
            `(codes ${r.codes_about_centre.toFixed(1)}) · decoded in ${api.lastMs.toFixed(1)} ms`;
        } while (pending);
      } catch (e) {
        fail(root, e);
      } finally {
        api.busy = false;
      }
    }

    const inputs = [];
    const group = (title) => {
      const g = el("fieldset", { class: "vx-group" });
      g.append(el("legend", {}, title));
      controls.append(g);
      return g;
    };
    const g1 = group("Faces A → B");
    const selA = select(g1, "a", "face A", names, state.a, (v) => { state.a = v; update(); });
    select(g1, "b", "face B", names, state.b, (v) => { state.b = v; update(); });
    const tInput = slider(g1, "t", "A → B", 0, 1, 0.01, 0, (v) => { state.t = v; update(); });
    const random = el("button", { type: "button", "data-control": "random" }, "random face");
    random.title = "face A := a draw z ~ N(0, I) from the prior";
    random.addEventListener("click", () => {
      faces[randomSlot] = faces[randomSlot].map(() => gaussian());
      state.a = randomSlot; selA.value = randomSlot;
      state.t = 0; tInput.value = 0; tInput.dispatchEvent(new Event("input"));
    });
    const reset = el("button", { type: "button", "data-control": "reset" }, "reset");
    reset.addEventListener("click", () => {
      for (const input of inputs) {
        input.value = input.dataset.control === "radius" ? 1 : 0;
        input.dispatchEvent(new Event("input"));
      }
    });
    g1.append(random, reset);
    inputs.push(tInput);

    const g2 = group("Principal directions (σ of the codes)");
    data.axes.directions.forEach((_, i) => {
      state.axes.push(0);
      const share = (100 * data.axes.explained[i]).toFixed(1);
      inputs.push(slider(g2, `axis${i}`, `PC ${i + 1}`, -4, 4, 0.05, 0,
        (v) => { state.axes[i] = v; update(); }, `${share} % of the codes' variance`));
    });

    const g3 = group("Attribute vectors (× strength)");
    for (const name of Object.keys(data.attributes)) {
      state.attributes[name] = 0;
      inputs.push(slider(g3, `attr:${name}`, name.replace("_", " "), -3, 3, 0.05, 0,
        (v) => { state.attributes[name] = v; update(); }));
    }

    const g4 = group("Radius (× distance from the centre)");
    inputs.push(slider(g4, "radius", "radius", 0, 4, 0.05, 1,
      (v) => { state.radius = v; update(); },
      "1: where the codes are; an N(0, I) draw lies on the shell |z| ≈ √z_dim; 3-4: far out"));

    api.decode = (z) => decode(session, data, z);
    api.benchmark = async (n) => {
      // n decodes of fresh N(0, I) draws, one after another, as the sliders ask for them
      const zs = Array.from({ length: n }, () => data.centre.map(() => gaussian()));
      const t0 = performance.now();
      for (const z of zs) await decode(session, data, z);
      return (performance.now() - t0) / n;
    };
    return update();
  }

  function fail(root, error) {
    api.error = String(error && error.message ? error.message : error);
    root.classList.add("vx-failed");
    root.append(el("p", { class: "vx-error" }, `The live explorer could not start: ${api.error}`));
    console.error("latent explorer:", error);
  }

  async function main() {
    const root = document.querySelector(".vae-explorer");
    if (!root) return;
    try {
      const data = window.VAECOURSE_EXPLORER;
      if (!data || !window.ort || !window.ORT_WASM) throw new Error("its data or runtime did not load");
      const session = await startRuntime(data);
      await build(root, data, session);
    } catch (e) {
      fail(root, e);
    }
  }

  api.ready = new Promise((resolve) => {
    const go = () => main().then(resolve);
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  });
})();
