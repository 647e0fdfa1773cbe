// The live latent-space explorer of the chapter "Exploring the latent space".
//
// The runtime, the panel and the decoding loop are explorer_page.js's (loaded first); the data
// arrive as window.VAECOURSE_EXPLORER (model and directions, vaecourse.kit.browser_explorer).
//
// The latent point is built as in the Python explorer (vaecourse.explorer.LatentExplorer.z):
// start at face A, move towards face B by t, add steps along the principal directions (in
// standard deviations of the codes), add the attribute vectors times their strength, then scale
// the distance from the codes' centre by the radius.
(function () {
  "use strict";

  const kit = window.vaeExplorerPage;
  const state = { a: 0, b: 1, t: 0, radius: 1, axes: [], attributes: {} };
  const api = { ready: null, decodes: 0, busy: false, error: null, lastMs: null };
  window.vaeExplorer = api; // for the reader's console and the book's browser check

  // ---- latent arithmetic (plain arrays of z_dim numbers) ---------------------------------
  function addScaled(z, v, s) {
    for (let i = 0; i < z.length; i++) z[i] += s * v[i];
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

  async function decode(session, data, z) {
    const input = new ort.Tensor("float32", Float32Array.from(z), [1, z.length]);
    const out = await session.run({ [data.model.input]: input });
    return out[data.model.output].data; // (1, height, width, channels), channels last
  }

  // ---- the controls -------------------------------------------------------------------------
  function slider(parent, control, label, min, max, step, value, onInput, title) {
    const row = kit.el("label", { class: "vx-row", title: title || "" });
    const input = kit.el("input", { type: "range", min, max, step, value, "data-control": control });
    const out = kit.el("output", {}, Number(value).toFixed(2));
    input.addEventListener("input", () => {
      out.textContent = Number(input.value).toFixed(2);
      onInput(Number(input.value));
    });
    row.append(kit.el("span", { class: "vx-label" }, label), input, out);
    parent.append(row);
    return input;
  }

  function build(root, data, session) {
    // faces A/B: the encoded faces, then one slot for the latest random draw z ~ N(0, I)
    const faces = data.faces.slice();
    const randomSlot = faces.length;
    faces.push(data.faces[0].map(() => 0));
    const names = data.faces.map((_, i) => `face ${i + 1}`).concat(["random face"]);
    const { canvas, readout, group } = kit.panel(root, data);

    let z = null;
    const r = data.radii;
    const update = kit.updater(api,
      async () => {
        z = latentPoint(data, faces);
        kit.draw(canvas, data, await decode(session, data, z));
      },
      () => {
        readout.textContent =
          `|z| = ${norm(z).toFixed(1)} (N(0, I) shell ${r.chi.toFixed(1)}, codes ` +
          `${r.codes.toFixed(1)}) · from the centre ${norm(z, data.centre).toFixed(1)} ` +
          `(codes ${r.codes_about_centre.toFixed(1)}) · decoded in ${api.lastMs.toFixed(1)} ms`;
      },
      (e) => kit.fail(api, root, e, "explorer"));

    const inputs = [];
    const g1 = group("Faces A → B");
    const selA = kit.select(g1, "a", "face A", names, state.a, (v) => { state.a = v; update(); });
    kit.select(g1, "b", "face B", names, state.b, (v) => { state.b = v; update(); });
    const tInput = slider(g1, "t", "A → B", 0, 1, 0.01, 0, (v) => { state.t = v; update(); });
    const random = kit.el("button", { type: "button", "data-control": "random" }, "random face");
    random.title = "face A := a draw z ~ N(0, I) from the prior";
    random.addEventListener("click", () => {
      faces[randomSlot] = faces[randomSlot].map(() => kit.gaussian());
      state.a = randomSlot; selA.value = randomSlot;
      state.t = 0; tInput.value = 0; tInput.dispatchEvent(new Event("input"));
    });
    const reset = kit.el("button", { type: "button", "data-control": "reset" }, "reset");
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

    api.decode = (zz) => decode(session, data, zz);
    api.benchmark = async (n) => {
      // n decodes of fresh N(0, I) draws, one after another, as the sliders ask for them
      const zs = Array.from({ length: n }, () => data.centre.map(() => kit.gaussian()));
      const t0 = performance.now();
      for (const zz of zs) await decode(session, data, zz);
      return (performance.now() - t0) / n;
    };
    return update();
  }

  if (!kit) api.error = "explorer_page.js did not load";
  else kit.mount(api, ".vae-explorer", "VAECOURSE_EXPLORER", "explorer", build);
})();
