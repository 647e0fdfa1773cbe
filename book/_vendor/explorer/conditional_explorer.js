// The conditional VAE's switches, live, in the chapter "Beyond the series".
//
// Python trained the conditional VAE, encoded a few test faces under their own labels and
// exported the decoder, which reads [z, c] (vaecourse.kit.browser_explorer.export_conditional);
// here the reader's browser only decodes: onnxruntime-web runs the ONNX decoder in WebAssembly,
// once per move of a control.  Everything arrives through <script> tags -- window.ort (the
// runtime), window.ORT_WASM (its binary and glue) and window.VAECOURSE_CVAE (model, faces,
// labels) -- because a book opened from disk (file://) may not fetch() files.
//
// The code z stays where the encoder put the face; only the labels c change: a switch sets an
// attribute's label to +1 (on) or -1 (off), its slider moves the label anywhere in [-1, 3]
// (the chapter measures +1 and +3).
(function () {
  "use strict";

  const SCALE = 4; // the 64x64 canvas is shown 4 times larger, pixelated
  const api = { ready: null, decodes: 0, busy: false, error: null, lastMs: null };
  window.vaeConditional = api; // for the reader's console and the book's browser check

  async function gunzipBase64(text) {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  async function startRuntime(data) {
    const wasm = window.ORT_WASM;
    ort.env.wasm.numThreads = 1; // a book page is not cross-origin isolated: no threads
    ort.env.wasm.wasmBinary = await gunzipBase64(wasm.wasm_gzip_base64);
    const glue = new Blob([wasm.glue_mjs], { type: "text/javascript" });
    ort.env.wasm.wasmPaths = { mjs: URL.createObjectURL(glue) };
    const model = await gunzipBase64(data.model.onnx_gzip_base64);
    return ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  }

  function gaussian() {
    let u = 0;
    while (u === 0) u = Math.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
  }

  async function decode(session, data, z, c) {
    const feeds = {
      [data.model.input]: new ort.Tensor("float32", Float32Array.from(z), [1, z.length]),
      [data.model.condition_input]: new ort.Tensor("float32", Float32Array.from(c), [1, c.length]),
    };
    const out = await session.run(feeds);
    return out[data.model.output].data; // (1, height, width, channels), channels last
  }

  function draw(canvas, data, pixels) {
    const { height, width, channels, activation } = data.image;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(width, height);
    for (let p = 0; p < width * height; p++) {
      for (let k = 0; k < 3; k++) {
        let v = pixels[p * channels + (channels === 1 ? 0 : k)];
        if (activation === "tanh") v = (v + 1) / 2;
        img.data[4 * p + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
      img.data[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function build(root, data, session) {
    const faces = data.faces.slice();
    const randomSlot = faces.length;
    faces.push(data.faces[0].map(() => 0));
    const state = { face: 0, c: data.labels[0].slice() };

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
      if (api.busy) { pending = true; return; }
      api.busy = true;
      try {
        do {
          pending = false;
          const t0 = performance.now();
          draw(canvas, data, await decode(session, data, faces[state.face], state.c));
          api.lastMs = performance.now() - t0;
          api.decodes += 1;
          readout.textContent =
            data.conditions.map((n, i) => `${n.replace("_", " ")} ${state.c[i].toFixed(2)}`)
              .join(" · ") + ` · decoded in ${api.lastMs.toFixed(1)} ms`;
        } while (pending);
      } catch (e) {
        fail(root, e);
      } finally {
        api.busy = false;
      }
    }

    const group = (title) => {
      const g = el("fieldset", { class: "vx-group" });
      g.append(el("legend", {}, title));
      controls.append(g);
      return g;
    };
    const rows = []; // per attribute: its switch and its slider
    function show() {
      rows.forEach(({ box, input, out }, i) => {
        box.checked = state.c[i] > 0;
        input.value = state.c[i];
        out.textContent = Number(state.c[i]).toFixed(2);
      });
    }

    const g1 = group("Face (its code z stays fixed)");
    const row = el("label", { class: "vx-row" });
    const sel = el("select", { "data-control": "face" });
    faces.forEach((_, i) =>
      sel.append(el("option", { value: i }, i === randomSlot ? "random face" : `test face ${i + 1}`)));
    sel.addEventListener("change", () => {
      state.face = Number(sel.value);
      if (state.face < randomSlot) state.c = data.labels[state.face].slice(); // its own labels
      show();
      update();
    });
    row.append(el("span", { class: "vx-label" }, "face"), sel);
    g1.append(row);
    const random = el("button", { type: "button", "data-control": "random" }, "random face");
    random.title = "z := a draw from N(0, I), the labels as they are";
    random.addEventListener("click", () => {
      faces[randomSlot] = faces[randomSlot].map(() => gaussian());
      state.face = randomSlot; sel.value = randomSlot;
      update();
    });
    g1.append(random);

    const g2 = group("Attribute switches (the label c: −1 without, +1 with)");
    data.conditions.forEach((name, i) => {
      const line = el("label", { class: "vx-row" });
      const box = el("input", { type: "checkbox", "data-control": `switch:${name}` });
      const input = el("input", { type: "range", min: -1, max: 3, step: 0.05,
                                  "data-control": `label:${name}` });
      const out = el("output", {});
      box.addEventListener("change", () => { state.c[i] = box.checked ? 1 : -1; show(); update(); });
      input.addEventListener("input", () => { state.c[i] = Number(input.value); show(); update(); });
      line.append(box, el("span", { class: "vx-label" }, name.replace("_", " ")), input, out);
      g2.append(line);
      rows.push({ box, input, out });
    });
    show();

    api.benchmark = async (n) => {
      // n decodes of fresh N(0, I) draws under random labels, one after another
      const draws = Array.from({ length: n }, () => [
        faces[0].map(() => gaussian()), data.conditions.map(() => (Math.random() < 0.5 ? -1 : 1)),
      ]);
      const t0 = performance.now();
      for (const [z, c] of draws) await decode(session, data, z, c);
      return (performance.now() - t0) / n;
    };
    return update();
  }

  function fail(root, error) {
    api.error = String(error && error.message ? error.message : error);
    root.classList.add("vx-failed");
    root.append(el("p", { class: "vx-error" }, `The live switches could not start: ${api.error}`));
    console.error("conditional explorer:", error);
  }

  async function main() {
    const root = document.querySelector(".vae-conditional");
    if (!root) return;
    try {
      const data = window.VAECOURSE_CVAE;
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
