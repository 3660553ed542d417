// Media panels (run page and run comparison): one panel per media key of the runs (images,
// tables, histograms, video, audio, Html, 3D, plotly charts) and one per custom chart
// (trackd.plot). Each kind of panel lives in a media_<kind>.js file that registers itself
// here; this file finds the keys, lays the panels out and gives them what they share: file
// URLs, the values of a key over steps, a step slider.
"use strict";
const TDMedia = (() => {
  const kinds = new Map();  // _type -> render({run, key, type, el, info})
  const chartKinds = [];    // render({run, chart, el})

  function register(types, render) { for (const t of types) kinds.set(t, render); }
  function registerChart(render) { chartKinds.push(render); }

  function runBase(run) { return `/runs/${TD.enc(run.entity)}/${TD.enc(run.project)}/${TD.enc(run.id)}`; }
  // A run file's name as URL path segments; a name that would leave the run's files (an
  // absolute name, or "." and ".." segments, which the browser resolves) is refused.
  function filePath(path) {
    const parts = String(path).split("/");
    if (!parts.length || parts.some((p) => p === "" || p === "." || p === ".." || /^%2e/i.test(p))) {
      throw new Error(`not a run file name: ${JSON.stringify(path)}`);
    }
    return parts.map(TD.enc).join("/");
  }
  // Text for plotly's labels, which read a few HTML tags: shown as written.
  const plain = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  // A run file's bytes (images load from it; the browser sends the session cookie).
  function fileUrl(run, path) { return "/api/v1" + runBase(run) + "/files/" + filePath(path); }
  // Logged Html, as a page in its own sandbox (only for an iframe with sandbox="allow-scripts").
  function htmlUrl(run, path) { return "/api/v1" + runBase(run) + "/html/" + filePath(path); }

  const sessionHeaders = TD.data.session ? {"X-Trackd-Session": TD.data.session} : {};
  async function fetchFile(run, path) {
    const res = await fetch(fileUrl(run, path), {headers: sessionHeaders, credentials: "same-origin"});
    if (!res.ok) throw new Error(`${path}: ${res.status} ${res.statusText}`);
    return res;
  }
  // The URL an <img>, <video> or <audio> loads a run file from: the file's own, or, in a
  // notebook view (whose frame has no cookie of the dashboard, only a session header), its
  // bytes fetched with that header, as a data: URL.
  async function src(run, path) {
    if (!TD.data.session) return fileUrl(run, path);
    const blob = await (await fetchFile(run, path)).blob();
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }
  // Whether the page is a notebook view (see src).
  const embedded = Boolean(TD.data.session);
  async function json(run, path) { return (await fetchFile(run, path)).json(); }
  async function bytes(run, path) { return (await fetchFile(run, path)).arrayBuffer(); }

  // A key's values at up to `limit` steps: {steps, values}.
  function values(run, key, limit) {
    return TD.api(runBase(run) + "/media/values", {key, limit: limit || 500});
  }

  // A step slider over `steps` (starting at the last); onChange(index). Returns {el, set(i)}.
  function stepper(steps, onChange) {
    const input = TD.el("input", {type: "range", min: 0, max: Math.max(0, steps.length - 1),
                                  step: 1, value: Math.max(0, steps.length - 1), class: "media-step"});
    const out = TD.el("output", {class: "media-step-value"});
    const show = () => {
      const i = Number(input.value);
      out.textContent = `step ${steps[i]}`;
      input.dataset.step = String(steps[i]);
      problem.hidden = true;
      Promise.resolve().then(() => onChange(i)).catch((err) => {
        problem.textContent = `Could not show step ${steps[i]}: ${err.message}`;
        problem.hidden = false;
      });
    };
    input.addEventListener("input", () => {
      if (Number(input.value) === steps.length - 1) delete input.dataset.pinned;
      else input.dataset.pinned = "1";
      show();
    });
    const problem = TD.el("p", {class: "error", hidden: true});
    const el = TD.el("div", {}, TD.el("label", {class: "media-stepper"}, input, out), problem);
    if (steps.length < 2) input.disabled = true;
    return {el, input, show, set(i) { input.value = String(i); show(); }};
  }

  function message(el, text, cls) { el.replaceChildren(TD.el("p", {class: cls || "empty"}, text)); }

  function section(root, name, title) {
    const sec = TD.el("details", {class: "section media-section", open: true, dataset: {section: name}},
                      TD.el("summary", {}, title), TD.el("div", {class: "media-grid"}));
    root.append(sec);
    return sec.querySelector(".media-grid");
  }

  function panel(grid, title, attrs, runs) {
    const body = TD.el("div", {class: "media-runs"});
    const box = TD.el("div", {class: "media-panel", ...attrs}, TD.el("div", {class: "chart-title"}, title), body);
    grid.append(box);
    return runs.map((run, i) => {
      const el = TD.el("div", {class: "media-run", dataset: {run: run.id}});
      if (runs.length > 1) {  // in the run's colour of the compared charts
        body.append(TD.el("div", {class: "media-run-name", style: `border-left-color: ${TD.runColor(run, i)}`},
                          run.name || run.id));
      }
      body.append(el);
      return el;
    });
  }

  async function guarded(render, ctx) {
    try {
      await render(ctx);
    } catch (err) {
      message(ctx.el, "Could not show this: " + err.message, "error");
    }
  }

  // Panels are drawn as they come near the viewport: a run may log many media keys, and a
  // page holds only so many WebGL contexts (3D panels) and image decodes at once.
  const waiting = new Map();  // element -> start()
  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting || !waiting.has(e.target)) continue;
      const start = waiting.get(e.target);
      waiting.delete(e.target);
      observer.unobserve(e.target);
      start();
    }
  }, {rootMargin: "600px 0px"});

  function draw(render, ctx) {
    if (ctx.el.dataset.state === "shown") ctx.el.style.minHeight = ctx.el.offsetHeight + "px";
    ctx.el.dataset.state = "waiting";
    waiting.set(ctx.el, () => {
      ctx.el.dataset.state = "drawing";
      guarded(render, ctx).then(() => {
        ctx.el.dataset.state = "shown";
        ctx.el.style.minHeight = "";
      });
    });
    observer.observe(ctx.el);
  }

  // The media and custom chart panels of `runs` ({entity, project, id, name}) in `root`.
  // Returns {update()}: call it again (a running run) to add the keys logged since and to
  // redraw the panels whose last value changed — unless their step slider was moved.
  function mount(root, runs) {
    const grids = {};
    const seen = new Map();  // panel id -> {els, versions: per run}

    function gridOf(name, title) {
      if (!grids[name]) {
        grids[name] = section(root, name, title);
        const media = root.querySelector('[data-section="media"]');
        const custom = root.querySelector('[data-section="custom-charts"]');
        if (media && custom) root.insertBefore(media, custom);  // media first
      }
      return grids[name];
    }

    function place(id, grid, title, attrs, own, start) {
      let p = seen.get(id);
      if (!p) {
        p = {els: panel(grid, title, attrs, runs), versions: runs.map(() => null)};
        seen.set(id, p);
      }
      runs.forEach((r, i) => {
        const el = p.els[i];
        const o = own(i);
        const version = o ? o.version : null;
        if (version === p.versions[i]) return;
        const moved = el.querySelector("input.media-step[data-pinned]");
        if (p.versions[i] !== null && moved) return;  // the user looks at another step
        p.versions[i] = version;
        start(r, i, el, o);
      });
    }

    async function update() {
      const infos = await Promise.all(runs.map((r) => TD.api(runBase(r) + "/media")));
      const keys = new Map();
      const charts = new Map();
      infos.forEach((info) => {
        for (const k of info.keys) if (kinds.has(k.type) && !keys.has(k.key)) keys.set(k.key, k);
        for (const c of info.charts) if (!charts.has(c.key)) charts.set(c.key, c);
      });
      const tableKeys = new Set([...charts.values()].map((c) => c.table_key));
      const shown = [...keys.values()].filter((k) => !tableKeys.has(k.key));
      for (const k of shown) {
        place("k:" + k.key, gridOf("media", "Media"), k.key, {dataset: {key: k.key, type: k.type}},
              (i) => infos[i].keys.find((x) => x.key === k.key),
              (r, i, el, own) => {
                if (!own) { message(el, "Not logged in this run."); return; }
                draw(kinds.get(own.type), {run: r, key: k.key, type: own.type, el, info: infos[i]});
              });
      }
      for (const c of charts.values()) {
        const title = ((c.panel_config.stringSettings || {}).title) || c.key;
        place("c:" + c.key, gridOf("custom-charts", "Custom charts"), title, {dataset: {chart: c.key}},
              (i) => infos[i].charts.find((x) => x.key === c.key),
              (r, i, el, own) => {
                if (!own || !own.table) { message(el, "No table logged for this chart yet."); return; }
                const kind = chartKinds.find((k) => k.accepts(own));
                if (!kind) { message(el, `Charts of kind ${own.panel_config.panelDefId} are not drawn here.`); return; }
                draw(kind.render, {run: r, chart: own, el, info: infos[i]});
              });
      }
      return {keys: shown.length, charts: charts.size};
    }

    return {update};
  }

  return {register, registerChart, mount, fileUrl, htmlUrl, src, embedded, json, bytes, values,
          stepper, message, plain};
})();
