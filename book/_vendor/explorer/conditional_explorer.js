// The conditional VAE's switches, live, in the chapter "Beyond the series".
//
// The runtime, the panel and the decoding loop are explorer_page.js's (loaded first); the data
// arrive as window.VAECOURSE_CVAE: the decoder, which reads [z, c], a few test faces encoded
// under their own labels, and those labels (vaecourse.kit.browser_explorer.export_conditional).
//
// The code z stays where the encoder put the face; only the labels c change: a switch sets an
// attribute's label to +1 (on) or -1 (off), its slider moves the label anywhere in [-1, 3]
// (the chapter measures +1 and +3).
(function () {
  "use strict";

  const kit = window.vaeExplorerPage;
  const api = { ready: null, decodes: 0, busy: false, error: null, lastMs: null };
  window.vaeConditional = api; // for the reader's console and the book's browser check

  async function decode(session, data, z, c) {
    const feeds = {
      [data.model.input]: new ort.Tensor("float32", Float32Array.from(z), [1, z.length]),
      [data.model.condition_input]: new ort.Tensor("float32", Float32Array.from(c), [1, c.length]),
    };
    const out = await session.run(feeds);
    return out[data.model.output].data; // (1, height, width, channels), channels last
  }

  function build(root, data, session) {
    const faces = data.faces.slice();
    const randomSlot = faces.length;
    faces.push(data.faces[0].map(() => 0));
    const state = { face: 0, c: data.labels[0].slice() };
    const { canvas, readout, group } = kit.panel(root, data);

    const update = kit.updater(api,
      async () => kit.draw(canvas, data, await decode(session, data, faces[state.face], state.c)),
      () => {
        readout.textContent =
          data.conditions.map((n, i) => `${n.replace("_", " ")} ${state.c[i].toFixed(2)}`)
            .join(" · ") + ` · decoded in ${api.lastMs.toFixed(1)} ms`;
      },
      (e) => kit.fail(api, root, e, "switches"));

    const rows = []; // per attribute: its switch and its slider
    function show() {
      rows.forEach(({ box, input, out }, i) => {
        box.checked = state.c[i] > 0;
        input.value = state.c[i];
        out.textContent = Number(state.c[i]).toFixed(2);
      });
    }

    const g1 = group("Face (its code z stays fixed)");
    const names = faces.map((_, i) => (i === randomSlot ? "random face" : `test face ${i + 1}`));
    const sel = kit.select(g1, "face", "face", names, 0, (v) => {
      state.face = v;
      if (state.face < randomSlot) state.c = data.labels[state.face].slice(); // its own labels
      show();
      update();
    });
    const random = kit.el("button", { type: "button", "data-control": "random" }, "random face");
    random.title = "z := a draw from N(0, I), the labels as they are";
    random.addEventListener("click", () => {
      faces[randomSlot] = faces[randomSlot].map(() => kit.gaussian());
      state.face = randomSlot; sel.value = randomSlot;
      update();
    });
    g1.append(random);

    const g2 = group("Attribute switches (the label c: −1 without, +1 with)");
    data.conditions.forEach((name, i) => {
      const line = kit.el("label", { class: "vx-row" });
      const box = kit.el("input", { type: "checkbox", "data-control": `switch:${name}` });
      const input = kit.el("input", { type: "range", min: -1, max: 3, step: 0.05,
                                      "data-control": `label:${name}` });
      const out = kit.el("output", {});
      box.addEventListener("change", () => { state.c[i] = box.checked ? 1 : -1; show(); update(); });
      input.addEventListener("input", () => { state.c[i] = Number(input.value); show(); update(); });
      line.append(box, kit.el("span", { class: "vx-label" }, name.replace("_", " ")), input, out);
      g2.append(line);
      rows.push({ box, input, out });
    });
    show();

    api.benchmark = async (n) => {
      // n decodes of fresh N(0, I) draws under random labels, one after another
      const draws = Array.from({ length: n }, () => [
        faces[0].map(() => kit.gaussian()),
        data.conditions.map(() => (Math.random() < 0.5 ? -1 : 1)),
      ]);
      const t0 = performance.now();
      for (const [z, c] of draws) await decode(session, data, z, c);
      return (performance.now() - t0) / n;
    };
    return update();
  }

  if (!kit) api.error = "explorer_page.js did not load";
  else kit.mount(api, ".vae-conditional", "VAECOURSE_CVAE", "switches", build);
})();
