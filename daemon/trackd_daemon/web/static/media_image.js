// Image panels (image-file, images/separated): the images of one step as a grid, a step
// slider, captions, and segmentation masks and bounding boxes drawn over each image, with a
// toggle per mask or box set and per class, and a minimum per box score.
"use strict";
(() => {
  const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
                   "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3",
                   "#808000", "#000075"];
  const color = (id) => PALETTE[((Number(id) % PALETTE.length) + PALETTE.length) % PALETTE.length];
  const DELIMITER = "_wandb_delimeter_";  // W&B's own spelling, in the class label keys

  // The images of one logged value: [{path, caption, width, height, masks, boxes}].
  function items(v) {
    if (v._type === "image-file") return [v];
    const files = v.filenames || [];
    return files.map((name, i) => ({
      path: String(name).includes("/") ? name : "media/images/" + name,  // older lists: bare names
      caption: (v.captions || [])[i], width: v.width, height: v.height,
      masks: (v.all_masks || [])[i], boxes: (v.all_boxes || [])[i]}));
  }

  // Class labels of a mask or box set: its own, its file's, or the run config's (W&B keeps
  // them there, under "<key>_wandb_delimeter_<set>").
  function labelsOf(entry, loaded, config, key, name) {
    return entry.class_labels || (loaded && loaded.class_labels)
      || (config[key + DELIMITER + name]) || {};
  }

  function position(box, w, h) {
    const p = box.position || {};
    const scale = box.domain === "pixel" ? [1, 1] : [w, h];
    let x0, y0, x1, y1;
    if (p.middle) {
      x0 = p.middle[0] - p.width / 2; x1 = p.middle[0] + p.width / 2;
      y0 = p.middle[1] - p.height / 2; y1 = p.middle[1] + p.height / 2;
    } else { x0 = p.minX; x1 = p.maxX; y0 = p.minY; y1 = p.maxY; }
    return [x0 * scale[0], y0 * scale[1], (x1 - x0) * scale[0], (y1 - y0) * scale[1]];
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }

  function loadImage(url) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error("an image did not load"));
      img.src = url;
    });
  }

  TDMedia.register(["image-file", "images/separated"], async ({run, key, el, info}) => {
    const got = await TDMedia.values(run, key, 500);
    if (!got.steps.length) { TDMedia.message(el, "No images logged."); return; }
    const labels = info.class_labels || {masks: {}, boxes: {}};
    // Toggles, shared by the images of the panel: sets and classes switched off.
    const off = new Set();  // "mask|name", "mask|name|class", "box|name", "box|name|class"
    const rows = {mask: TD.el("div", {class: "media-toggles"}), box: TD.el("div", {class: "media-toggles"}),
                  score: TD.el("div", {class: "media-toggles"})};
    const minScore = new Map();  // score name -> {input, value}: boxes scored below it are hidden
    const grid = TD.el("div", {class: "media-images"});
    const known = new Map();  // toggle id -> checkbox
    let overlays = [];        // apply() of each mask and box layer shown

    function toggle(kind, name, cls, text, swatch) {
      const id = [kind, name, cls].filter((x) => x !== undefined).join("|");
      if (known.has(id)) return;
      const box = TD.el("input", {type: "checkbox", checked: true,
                                  dataset: {kind, group: name, ...(cls !== undefined ? {class: String(cls)} : {})}});
      box.addEventListener("change", () => {
        if (box.checked) off.delete(id); else off.add(id);
        for (const apply of overlays) apply();
      });
      known.set(id, box);
      const label = TD.el("label", {class: cls === undefined ? "media-toggle-set" : "media-toggle"}, box,
                          swatch ? TD.el("span", {class: "swatch", style: `background:${swatch}`}) : null, " " + text);
      rows[kind].append(label);
    }
    const shown = (kind, name, cls) => !off.has(`${kind}|${name}`) && !off.has(`${kind}|${name}|${cls}`);
    const scored = (scores) => [...minScore].every(([k, m]) => !(k in scores) || !(Number(scores[k]) < m.value));

    // A slider per score name of the boxes ("acc ≥ 0.50"), over the scores seen (0 to 1 at least).
    function scoreSlider(name, value) {
      let m = minScore.get(name);
      if (!m) {
        const input = TD.el("input", {type: "range", min: 0, max: 1, step: "any", value: 0,
                                      class: "media-score", dataset: {score: name}});
        const out = TD.el("output", {}, "0");
        m = {input, value: 0};
        input.addEventListener("input", () => {
          m.value = Number(input.value);
          out.textContent = TD.value(m.value);
          for (const apply of overlays) apply();
        });
        minScore.set(name, m);
        rows.score.append(TD.el("label", {class: "media-toggle"}, `${name} ≥`, input, out));
      }
      const v = Number(value);
      if (v < Number(m.input.min)) m.input.min = String(v);
      if (v > Number(m.input.max)) m.input.max = String(v);
    }

    async function mask(frame, entry, name) {
      const img = await loadImage(await TDMedia.src(run, entry.path));
      const names = labelsOf(entry, null, labels.masks || {}, key, name);
      const src = TD.el("canvas", {width: img.naturalWidth, height: img.naturalHeight});
      const sctx = src.getContext("2d", {willReadFrequently: true});
      sctx.drawImage(img, 0, 0);
      const ids = sctx.getImageData(0, 0, src.width, src.height).data;
      const canvas = TD.el("canvas", {class: "media-mask", width: src.width, height: src.height,
                                      dataset: {group: name}});
      frame.append(canvas);
      const present = new Set();
      for (let i = 0; i < ids.length; i += 4) present.add(ids[i]);
      toggle("mask", name, undefined, `mask: ${name}`);
      for (const c of [...present].sort((a, b) => a - b)) {
        if (c === 0 && !names[0] && !names["0"]) continue;  // 0 is background unless labelled
        toggle("mask", name, c, names[c] || names[String(c)] || `class ${c}`, color(c));
      }
      const ctx = canvas.getContext("2d");
      const rgb = new Map([...present].map((c) => {
        const n = parseInt(color(c).slice(1), 16);
        return [c, [n >> 16, (n >> 8) & 255, n & 255]];
      }));
      const apply = () => {
        const out = ctx.createImageData(canvas.width, canvas.height);
        let painted = 0;
        for (let i = 0; i < ids.length; i += 4) {
          const c = ids[i];
          if ((c === 0 && !names[0] && !names["0"]) || !shown("mask", name, c)) continue;
          const [r, g, b] = rgb.get(c);
          out.data[i] = r; out.data[i + 1] = g; out.data[i + 2] = b; out.data[i + 3] = 140;
          painted += 1;
        }
        ctx.putImageData(out, 0, 0);
        canvas.dataset.painted = String(painted);
      };
      apply();
      return apply;
    }

    async function boxes(frame, entry, name, w, h) {
      const loaded = entry.box_data ? entry : await TDMedia.json(run, entry.path);
      const names = labelsOf(entry, loaded, labels.boxes || {}, key, name);
      const layer = svg("svg", {class: "media-boxes", viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none",
                                "data-group": name});
      frame.append(layer);
      toggle("box", name, undefined, `boxes: ${name}`);
      const rects = [];
      for (const b of loaded.box_data || []) {
        const cls = b.class_id;
        toggle("box", name, cls, names[cls] || names[String(cls)] || `class ${cls}`, color(cls));
        const [x, y, bw, bh] = position(b, w, h);
        const g = svg("g", {class: "media-box", "data-class": String(cls)});
        g.append(svg("rect", {x, y, width: bw, height: bh, fill: "none", stroke: color(cls),
                              "stroke-width": Math.max(1, w / 150)}));
        for (const [k, v] of Object.entries(b.scores || {})) scoreSlider(k, v);
        const scores = Object.entries(b.scores || {}).map(([k, s]) => `${k}: ${TD.value(s)}`).join(" ");
        const text = [b.box_caption || names[cls] || names[String(cls)] || "", scores].filter(Boolean).join(" ");
        if (text) {
          const t = svg("text", {x: x + 2, y: Math.max(y - 3, 10), fill: color(cls), "font-size": Math.max(2, h / 12)});
          t.textContent = text;
          g.append(t);
        }
        layer.append(g);
        rects.push([g, cls, b.scores || {}]);
      }
      const apply = () => {
        let visible = 0;
        for (const [g, cls, scores] of rects) {
          const on = shown("box", name, cls) && scored(scores);
          g.style.display = on ? "" : "none";
          visible += on;
        }
        layer.dataset.visible = String(visible);
      };
      apply();
      return apply;
    }

    let seq = 0;
    async function show(i) {
      const mine = ++seq;
      const v = got.values[i];
      const drawn = [];  // this step's layers
      const figures = await Promise.all(items(v).map(async (item, n) => {
        const url = await TDMedia.src(run, item.path);
        let w = item.width, h = item.height;
        if (!(w > 0 && h > 0) && (item.boxes || item.masks)) {  // boxes need the image's size
          const probe = await loadImage(url);
          w = probe.naturalWidth; h = probe.naturalHeight;
        }
        const img = TD.el("img", {src: url, alt: item.caption || `${key} ${n}`, class: "media-img", loading: "lazy"});
        const frame = TD.el("div", {class: "media-frame"}, img);
        const fig = TD.el("figure", {class: "media-image", dataset: {path: item.path, step: String(got.steps[i])}}, frame,
                          item.caption ? TD.el("figcaption", {}, item.caption) : null);
        if (w && h) frame.style.aspectRatio = `${w} / ${h}`;
        const jobs = [];
        for (const [name, entry] of Object.entries(item.masks || {})) jobs.push(mask(frame, entry, name));
        for (const [name, entry] of Object.entries(item.boxes || {})) jobs.push(boxes(frame, entry, name, w, h));
        for (const apply of await Promise.all(jobs.map((j) => j.catch((err) => {
          frame.append(TD.el("p", {class: "error"}, err.message));
          return null;
        })))) if (apply) drawn.push(apply);
        return fig;
      }));
      if (mine !== seq) return;
      overlays = drawn;
      grid.replaceChildren(...figures);
      el.dataset.step = String(got.steps[i]);
      el.dataset.images = String(figures.length);
    }

    const slider = TDMedia.stepper(got.steps, show);
    el.replaceChildren(slider.el, rows.mask, rows.box, rows.score, grid);
    slider.show();
  });
})();
