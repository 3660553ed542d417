// The run page's tabs: Charts, Files (saved files, environment files, console log), Logs and Artifacts (rendered by the server)
// (console output with each line's time; stderr lines marked).
"use strict";
(() => {
  const run = TD.data.run;
  const base = `/runs/${TD.enc(run.entity)}/${TD.enc(run.project)}/${TD.enc(run.id)}`;
  const loaded = new Set();

  function size(n) {
    if (n < 1024) return `${n} B`;
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let v = n / 1024, i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
  }

  async function loadFiles() {
    const body = await TD.api(base + "/files");
    const tbody = document.querySelector("#files-table tbody");
    tbody.replaceChildren(...body.files.map((f) => TD.el("tr", {dataset: {name: f.name}},
      TD.el("td", {}, TD.el("a", {href: `/api/v1${base}/files/${f.name.split("/").map(TD.enc).join("/")}`,
                                  target: "_blank", rel: "noopener"}, f.name)),
      TD.el("td", {class: "num"}, size(f.size)),
      TD.el("td", {class: "num"}, String(f.versions)),
      TD.el("td", {}, TD.when(f.stored_at)))));
    document.getElementById("files-empty").hidden = body.files.length > 0;
  }

  let logOffset = 0;
  async function loadLogs() {
    const body = await TD.api(base + "/logs", {offset: logOffset, limit: 2000});
    const pre = document.getElementById("logs");
    for (const ln of body.lines) {
      const stamp = new Date(ln.timestamp * 1000).toISOString().replace("T", " ").slice(0, 23);
      pre.append(TD.el("span", {class: "line " + ln.stream},
                       TD.el("span", {class: "ts"}, stamp + " "), ln.text + "\n"));
    }
    logOffset += body.lines.length;
    document.getElementById("logs-status").textContent =
      body.total ? `${logOffset} of ${body.total} lines` : "No console output.";
    document.getElementById("logs-more").hidden = logOffset >= body.total;
  }

  const loaders = {"files-tab": loadFiles, "logs-tab": loadLogs};
  function show(id) {
    for (const b of document.querySelectorAll("#run-tabs .tab")) b.classList.toggle("active", b.dataset.tab === id);
    for (const p of document.querySelectorAll(".tab-panel")) p.hidden = p.id !== id;
    if (loaders[id] && !loaded.has(id)) {
      loaded.add(id);
      loaders[id]().catch((err) => { loaded.delete(id); alert("Could not load: " + err.message); });
    }
    if (id === "charts-area") window.dispatchEvent(new Event("resize"));
  }
  for (const b of document.querySelectorAll("#run-tabs .tab")) b.addEventListener("click", () => show(b.dataset.tab));
  document.getElementById("logs-more").addEventListener("click", () => loadLogs());
  if (["#files", "#logs", "#artifacts"].includes(location.hash)) show(location.hash.slice(1) + "-tab");
})();
