// 3D panels (object3D-file, object3D): point clouds (pts.json: N×3 xyz, N×4 xyz+category, N×6
// xyz+rgb, or W&B's lidar scene with boxes and vectors) as plotly scatter3d, and meshes (OBJ,
// STL, glTF, GLB) as plotly mesh3d, parsed here in the browser. Drag to rotate, scroll to zoom.
"use strict";
(() => {
  // -- point clouds ----------------------------------------------------------------------
  function pointTraces(doc) {
    const points = Array.isArray(doc) ? doc : (doc.points || []);
    const x = [], y = [], z = [], colors = [];
    let kind = "none";
    for (const p of points) {
      x.push(p[0]); y.push(p[1]); z.push(p[2]);
      if (p.length >= 6) { kind = "rgb"; colors.push(`rgb(${p[3]},${p[4]},${p[5]})`); }
      else if (p.length === 4) { kind = "category"; colors.push(p[3]); }
    }
    const marker = {size: 2};
    if (kind === "rgb") marker.color = colors;
    else if (kind === "category") { marker.color = colors; marker.colorscale = "Viridis"; }
    const traces = [{type: "scatter3d", mode: "markers", x, y, z, marker, name: "points", hoverinfo: "x+y+z"}];
    // Boxes: 8 corners each, drawn by their 12 edges; vectors: a line from start to end.
    const EDGES = [[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4], [0, 4], [1, 5], [2, 6], [3, 7]];
    for (const box of (Array.isArray(doc) ? [] : doc.boxes || [])) {
      const c = box.corners || [];
      if (c.length !== 8) continue;
      const lx = [], ly = [], lz = [];
      for (const [a, b] of EDGES) { lx.push(c[a][0], c[b][0], null); ly.push(c[a][1], c[b][1], null); lz.push(c[a][2], c[b][2], null); }
      const col = box.color ? `rgb(${box.color.join(",")})` : "#d62728";
      traces.push({type: "scatter3d", mode: "lines", x: lx, y: ly, z: lz, line: {color: col, width: 4}, name: TDMedia.plain(box.label || "box")});
    }
    for (const v of (Array.isArray(doc) ? [] : doc.vectors || [])) {
      if (!v.start || !v.end) continue;
      traces.push({type: "scatter3d", mode: "lines", x: [v.start[0], v.end[0]], y: [v.start[1], v.end[1]],
                   z: [v.start[2], v.end[2]], line: {color: "#2ca02c", width: 5}, name: TDMedia.plain(v.label || "vector")});
    }
    return {traces, points: points.length};
  }

  // -- meshes: {x, y, z, i, j, k} ----------------------------------------------------------
  function mesh() { return {x: [], y: [], z: [], i: [], j: [], k: []}; }

  function parseObj(text) {
    const m = mesh();
    for (const line of text.split(/\r?\n/)) {
      const parts = line.trim().split(/\s+/);
      if (parts[0] === "v" && parts.length >= 4) {
        m.x.push(+parts[1]); m.y.push(+parts[2]); m.z.push(+parts[3]);
      } else if (parts[0] === "f" && parts.length >= 4) {
        const n = m.x.length;
        const idx = parts.slice(1).map((p) => { const v = parseInt(p.split("/")[0], 10); return v < 0 ? n + v : v - 1; });
        for (let t = 1; t + 1 < idx.length; t++) { m.i.push(idx[0]); m.j.push(idx[t]); m.k.push(idx[t + 1]); }
      }
    }
    return m;
  }

  function parseStl(buffer) {
    const view = new DataView(buffer);
    const m = mesh();
    const add = (x, y, z) => { m.x.push(x); m.y.push(y); m.z.push(z); return m.x.length - 1; };
    const count = buffer.byteLength >= 84 ? view.getUint32(80, true) : 0;
    if (buffer.byteLength === 84 + count * 50) {  // binary
      for (let t = 0; t < count; t++) {
        const o = 84 + t * 50 + 12;
        const ids = [0, 1, 2].map((c) => add(view.getFloat32(o + c * 12, true), view.getFloat32(o + c * 12 + 4, true), view.getFloat32(o + c * 12 + 8, true)));
        m.i.push(ids[0]); m.j.push(ids[1]); m.k.push(ids[2]);
      }
      return m;
    }
    const text = new TextDecoder().decode(buffer);
    const verts = [...text.matchAll(/vertex\s+(\S+)\s+(\S+)\s+(\S+)/g)];
    for (let t = 0; t + 2 < verts.length; t += 3) {
      const ids = [0, 1, 2].map((c) => add(+verts[t + c][1], +verts[t + c][2], +verts[t + c][3]));
      m.i.push(ids[0]); m.j.push(ids[1]); m.k.push(ids[2]);
    }
    return m;
  }

  const COMPONENTS = {SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4};
  const ARRAYS = {5120: Int8Array, 5121: Uint8Array, 5122: Int16Array, 5123: Uint16Array, 5125: Uint32Array, 5126: Float32Array};

  // glTF 2.0 (JSON with embedded data: URIs) or GLB: every mesh primitive's triangles, with
  // node transforms left out (positions as stored).
  function parseGltf(doc, binChunk) {
    const buffers = (doc.buffers || []).map((b, n) => {
      if (b.uri === undefined && n === 0 && binChunk) return binChunk;
      const m = /^data:[^;,]*;base64,(.*)$/.exec(b.uri || "");
      if (!m) throw new Error("glTF buffers in separate files are not shown; embed them (or log a .glb)");
      const raw = atob(m[1]);
      const out = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
      return out.buffer;
    });
    const read = (index) => {
      const a = doc.accessors[index];
      const v = doc.bufferViews[a.bufferView];
      const Type = ARRAYS[a.componentType];
      const n = COMPONENTS[a.type] || 1;
      const stride = v.byteStride || n * Type.BYTES_PER_ELEMENT;
      const base = (v.byteOffset || 0) + (a.byteOffset || 0);
      const out = [];
      const view = new DataView(buffers[v.buffer]);
      const get = {5120: "getInt8", 5121: "getUint8", 5122: "getInt16", 5123: "getUint16", 5125: "getUint32", 5126: "getFloat32"}[a.componentType];
      for (let e = 0; e < a.count; e++) {
        const item = [];
        for (let c = 0; c < n; c++) item.push(view[get](base + e * stride + c * Type.BYTES_PER_ELEMENT, true));
        out.push(item);
      }
      return out;
    };
    const m = mesh();
    for (const gm of doc.meshes || []) {
      for (const prim of gm.primitives || []) {
        if (prim.mode !== undefined && prim.mode !== 4) continue;  // triangles only
        const offset = m.x.length;
        const pos = read(prim.attributes.POSITION);
        for (const [x, y, z] of pos) { m.x.push(x); m.y.push(y); m.z.push(z); }
        const idx = prim.indices !== undefined ? read(prim.indices).map((v) => v[0]) : pos.map((_, n) => n);
        for (let t = 0; t + 2 < idx.length; t += 3) { m.i.push(offset + idx[t]); m.j.push(offset + idx[t + 1]); m.k.push(offset + idx[t + 2]); }
      }
    }
    return m;
  }

  function parseGlb(buffer) {
    const view = new DataView(buffer);
    if (view.getUint32(0, true) !== 0x46546C67) throw new Error("not a GLB file");
    let offset = 12, doc = null, bin = null;
    while (offset + 8 <= buffer.byteLength) {
      const length = view.getUint32(offset, true), type = view.getUint32(offset + 4, true);
      const chunk = buffer.slice(offset + 8, offset + 8 + length);
      if (type === 0x4E4F534A) doc = JSON.parse(new TextDecoder().decode(chunk));
      else if (type === 0x004E4942) bin = chunk;
      offset += 8 + length;
    }
    if (!doc) throw new Error("a GLB file without its JSON chunk");
    return parseGltf(doc, bin);
  }

  async function traces(run, path) {
    const lower = path.toLowerCase();
    if (lower.endsWith(".json")) return pointTraces(await TDMedia.json(run, path));
    let m;
    if (lower.endsWith(".obj")) m = parseObj(new TextDecoder().decode(await TDMedia.bytes(run, path)));
    else if (lower.endsWith(".stl")) m = parseStl(await TDMedia.bytes(run, path));
    else if (lower.endsWith(".glb")) m = parseGlb(await TDMedia.bytes(run, path));
    else if (lower.endsWith(".gltf")) m = parseGltf(JSON.parse(new TextDecoder().decode(await TDMedia.bytes(run, path))), null);
    else throw new Error(`3D files like ${path} are not shown here (obj, stl, gltf, glb and pts.json are)`);
    return {traces: [{type: "mesh3d", ...m, color: "#8fa6c9", flatshading: true, name: "mesh"}], points: m.x.length};
  }

  TDMedia.register(["object3D-file", "object3D"], async ({run, key, el}) => {
    const got = await TDMedia.values(run, key, 500);
    if (!got.steps.length) { TDMedia.message(el, "No 3D objects logged."); return; }
    const box = TD.el("div", {class: "media-3d-list"});
    let seq = 0;
    const slider = TDMedia.stepper(got.steps, async (i) => {
      const mine = ++seq;
      const v = got.values[i];
      const objects = v._type === "object3D-file" ? [v] : (v.objects || []);
      const P = await TD.plotly();
      const divs = objects.map((o) => TD.el("div", {class: "media-3d", dataset: {path: o.path}}));
      if (mine !== seq) return;
      box.replaceChildren(...divs);
      await Promise.all(objects.map(async (o, n) => {
        const div = divs[n];
        try {
          const got3d = await traces(run, o.path);
          await P.newPlot(div, got3d.traces, {
            height: 320, margin: {l: 0, r: 0, t: 0, b: 0}, showlegend: false,
            scene: {aspectmode: "data"}}, {responsive: true, displaylogo: false});
          Object.assign(div.dataset, {drawn: "1", points: String(got3d.points)});
        } catch (err) {
          div.replaceChildren(TD.el("p", {class: "error"}, err.message));
        }
      }));
      el.dataset.step = String(got.steps[i]);
    });
    el.replaceChildren(slider.el, box);
    slider.show();
  });
})();
