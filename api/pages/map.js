// The planner's map: addresses, areas and circuits as vector tiles from /tiles; search; an
// address's details on click; draw, upload or pick an area, read the dry-run counts of its
// next step, confirm; follow an import. Every call carries the planner's key.
const config = window.FIBERSYNC_MAP || {};

const ADDRESS_COLORS = {
  planned: "#9e9e9e", surveyed: "#f9a825", in_deployment: "#1e88e5",
  ready_for_service: "#43a047", connected: "#8e24aa", retired: "#424242",
};
const AREA_COLORS = {
  planned: "#9e9e9e", surveyed: "#f9a825", in_deployment: "#1e88e5", built: "#43a047",
};
const NEXT_AREA_STATUS = { planned: "surveyed", surveyed: "in_deployment",
                           in_deployment: "built" };
const DETAIL_ZOOM = 14;  // from here on the address tiles carry every address

// -- talking to the API ------------------------------------------------------------------

class Problem extends Error {
  constructor(body, status) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.body = body;
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${key}`, ...(options.headers || {}) };
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options = { ...options, body: JSON.stringify(options.json) };
  }
  const reply = await fetch(path, { ...options, headers });
  if (reply.status === 401) { signIn(); throw new Problem({ detail: "Please sign in." }, 401); }
  const text = await reply.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { detail: text }; }
  if (!reply.ok) throw new Problem(body, reply.status);
  return body;
}

function say(text, kind = "ok") {
  const box = $("message");
  box.className = kind;
  box.textContent = text;
}

// A problem+json answer, readable: the detail and each listed error.
function sayProblem(error) {
  const box = $("message");
  box.className = "problem";
  const errors = error.body?.errors || [];
  const items = errors.map(e => {
    const where = e.feature !== undefined ? `feature ${e.feature}: `
      : e.location ? `${[].concat(e.location).join(".")}: ` : "";
    return `<li>${esc(where + (e.message || e.msg || JSON.stringify(e)))}</li>`;
  }).join("");
  box.innerHTML = `${esc(error.message)}${items ? `<ul>${items}</ul>` : ""}`;
}

async function attempt(action) {
  try { return await action(); } catch (error) {
    if (error instanceof Problem) sayProblem(error); else say(String(error), "problem");
    return undefined;
  }
}

// -- the map -------------------------------------------------------------------------------

function matchColor(colors, fallback) {
  return ["match", ["get", "status"], ...Object.entries(colors).flat(), fallback];
}

function style() {
  const sources = {
    addresses: vectorSource("addresses"), areas: vectorSource("areas"),
    circuits: vectorSource("circuits"),
  };
  const layers = [{ id: "background", type: "background", paint: { "background-color": "#f4f1ea" } }];
  if (config.basemapUrl) {
    sources.basemap = { type: "raster", tiles: [config.basemapUrl], tileSize: 256,
                        attribution: config.basemapAttribution || "" };
    layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  layers.push(
    { id: "areas-fill", type: "fill", source: "areas", "source-layer": "areas",
      paint: { "fill-color": matchColor(AREA_COLORS, "#777"), "fill-opacity": 0.15 } },
    { id: "areas-line", type: "line", source: "areas", "source-layer": "areas",
      paint: { "line-color": matchColor(AREA_COLORS, "#777"), "line-width": 2 } },
    // Below zoom 14 each point stands for a cell of addresses, sized by how many.
    { id: "address-cells", type: "circle", source: "addresses", "source-layer": "addresses",
      maxzoom: DETAIL_ZOOM, filter: ["has", "count"],
      paint: { "circle-color": matchColor(ADDRESS_COLORS, "#000"), "circle-opacity": 0.8,
               "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "count"]],
                                 1, 2, 10, 6, 40, 12] } },
    { id: "addresses", type: "circle", source: "addresses", "source-layer": "addresses",
      filter: ["!", ["has", "count"]],
      paint: { "circle-color": matchColor(ADDRESS_COLORS, "#000"),
               "circle-radius": ["interpolate", ["linear"], ["zoom"], 14, 3, 18, 7],
               "circle-stroke-color": "#fff", "circle-stroke-width": 1 } },
    { id: "circuits", type: "circle", source: "circuits", "source-layer": "circuits",
      minzoom: 15, paint: { "circle-radius": ["interpolate", ["linear"], ["zoom"], 15, 5, 18, 10],
                            "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#d81b60",
                            "circle-stroke-width": 1.5 } },
  );
  return { version: 8, sources, layers };
}

function vectorSource(layer) {
  return { type: "vector", maxzoom: DETAIL_ZOOM,
           tiles: [`${location.origin}/tiles/${layer}/{z}/{x}/{y}.pbf`] };
}

let map = null;

function createMap() {
  map = new maplibregl.Map({
    container: "map", style: style(), center: [0, 0], zoom: 1, hash: true,
    // The tiles are behind the key like the rest of the API.
    transformRequest: url => url.startsWith(`${location.origin}/tiles/`)
      ? { url, headers: { Authorization: `Bearer ${key}` } } : { url },
  });
  map.addControl(new maplibregl.NavigationControl(), "top-left");
  map.addControl(new maplibregl.ScaleControl(), "bottom-left");
  window.fibersyncMap = map;  // for the browser tests and the curious
}

function refreshTiles() {
  for (const source of ["addresses", "areas", "circuits"]) {
    map.getSource(source)?.reload?.();
  }
  // Older MapLibre: re-setting the tile URLs drops the cached tiles.
  for (const source of ["addresses", "areas", "circuits"]) {
    const src = map.getSource(source);
    if (src && !src.reload && src.setTiles) src.setTiles(vectorSource(source).tiles);
  }
}

const sharedView = location.hash;  // read before the map writes its own

async function fitToData() {
  if (sharedView) return;  // a shared link keeps its view
  const collection = await attempt(() => api("/ogc/collections/addresses"));
  const bbox = collection?.extent?.spatial?.bbox?.[0];
  if (bbox && bbox.every(Number.isFinite)) {
    map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 60, animate: false });
  }
}

function legend() {
  const rows = (colors, square) => Object.entries(colors).map(([status, color]) =>
    `<div><span class="swatch${square ? " square" : ""}" style="background:${color}"></span>` +
    `${esc(status.replaceAll("_", " "))}</div>`).join("");
  $("legend").innerHTML = `<h2>Addresses</h2>${rows(ADDRESS_COLORS)}` +
    `<h2>Areas</h2>${rows(AREA_COLORS, true)}` +
    `<h2>Circuits</h2><div><span class="swatch" style="border:2px solid #d81b60"></span>` +
    `ring around an address with a circuit (zoom 15+)</div>`;
}

// -- search --------------------------------------------------------------------------------

$("search").onsubmit = async event => {
  event.preventDefault();
  const q = $("query").value.trim();
  if (!q) return;
  const found = await attempt(() => api(`/addresses?q=${encodeURIComponent(q)}&limit=10`));
  if (!found) return;
  const list = $("results");
  list.innerHTML = "";
  if (!found.features.length) { say(`Nothing matches “${q}”.`, "problem"); return; }
  say(`${found.features.length} match${found.features.length > 1 ? "es" : ""}.`);
  for (const feature of found.features) {
    const item = document.createElement("li");
    item.textContent = `${feature.properties.name || "(no name)"} · ${feature.id}`;
    item.onclick = () => flyToAddress(feature);
    list.append(item);
  }
  if (found.features.length === 1) flyToAddress(found.features[0]);
};

function flyToAddress(feature) {
  map.flyTo({ center: feature.geometry.coordinates, zoom: 17 });
  showAddress(feature.id);
}

// -- an address's details ----------------------------------------------------------------

async function showAddress(featureId) {
  const feature = await attempt(() => api(`/addresses/${featureId}`));
  if (!feature) return;
  const p = feature.properties;
  const services = p.services.length
    ? p.services.map(s => `<tr><td>${esc(s.isp)}</td><td>${esc(s.status)}</td>` +
                          `<td>${esc(s.product ?? "")}</td></tr>`).join("")
    : `<tr><td colspan="3">none</td></tr>`;
  const order = p.open_work_order;
  $("details").hidden = false;
  $("details").innerHTML = `<h2>${esc(p.name || `Address ${p.feature_id}`)}</h2>
    <table id="address-table">
      <tr><th>Feature id</th><td>${esc(p.feature_id)}</td></tr>
      <tr><th>Status</th><td>${esc(p.status)}</td></tr>
      <tr><th>Postcode</th><td>${esc(p.postcode)}</td></tr>
      <tr><th>Circuit</th><td>${esc(p.circuits.map(c => c.name || c.id).join(", ") || "none")}</td></tr>
      <tr><th>Work order</th><td>${order ? `#${esc(order.id)} ${esc(order.purpose)}, ${esc(order.status)}` : "none open"}</td></tr>
    </table>
    <h2>Services</h2><table>${services}</table>
    <p><button type="button" id="installation">Installation record</button></p>
    <div id="installation-record"></div>`;
  $("installation").onclick = async () => {
    const record = await attempt(() => api(`/addresses/${featureId}/installation`));
    if (record) $("installation-record").innerHTML = `<pre>${esc(JSON.stringify(record.current, null, 2))}</pre>`;
  };
}

// -- areas: draw, upload, pick; dry run; transition ------------------------------------------

let draw = null;

function startDrawing() {
  if (!draw) {
    draw = new terraDraw.TerraDraw({
      adapter: new terraDrawMaplibreGlAdapter.TerraDrawMapLibreGLAdapter({ map }),
      modes: [new terraDraw.TerraDrawPolygonMode()],
    });
    draw.start();
    draw.on("finish", id => {
      const drawn = draw.getSnapshotFeature(id);
      stopDrawing();
      if (drawn) nameNewArea(drawn.geometry);
    });
  }
  draw.setMode("polygon");
  $("draw").hidden = true;
  $("cancel-draw").hidden = false;
  say("Click the corners of the area; click the first corner again (or press Enter) to close it.");
}

function stopDrawing() {
  if (draw) { draw.clear(); draw.setMode("static"); }
  $("draw").hidden = false;
  $("cancel-draw").hidden = true;
}

function nameNewArea(geometry) {
  const panel = $("area");
  panel.hidden = false;
  panel.innerHTML = `<h2>New area</h2>
    <form id="new-area"><label for="area-name">Name</label>
      <input id="area-name" required maxlength="200">
      <button class="primary" id="save-area">Save area</button>
      <button type="button" id="discard-area">Discard</button></form>`;
  $("area-name").focus();
  $("discard-area").onclick = () => { panel.hidden = true; say("Area discarded."); };
  $("new-area").onsubmit = async event => {
    event.preventDefault();
    const created = await attempt(() => api("/areas", { method: "POST", json: {
      type: "Feature", geometry, properties: { name: $("area-name").value.trim() } } }));
    if (!created) return;
    say(`Area “${created.features[0].properties.name}” saved.`);
    refreshTiles();
    showArea(created.features[0].id);
  };
}

async function uploadArea(file) {
  const form = new FormData();
  form.append("file", file);
  const created = await attempt(() => api("/areas/uploads", { method: "POST", body: form }));
  $("upload").value = "";
  if (!created) return;
  const names = created.features.map(f => f.properties.name).join(", ");
  say(`${created.features.length} area(s) uploaded: ${names}.`);
  refreshTiles();
  if (created.features.length) {
    showArea(created.features[0].id);
    fitTo(created.features[0].geometry);
  }
}

function fitTo(geometry) {
  const points = geometry.coordinates.flat(Infinity);
  const bounds = new maplibregl.LngLatBounds();
  for (let i = 0; i < points.length; i += 2) bounds.extend([points[i], points[i + 1]]);
  if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 60 });
}

function countsTable(rows) {
  return `<table class="counts">${rows.map(([label, value]) =>
    `<tr><td>${esc(label)}</td><td data-count="${esc(label)}">${esc(value)}</td></tr>`).join("")}</table>`;
}

function dryRunRows(outcome) {
  if (outcome.surveyed_addresses !== null && outcome.surveyed_addresses !== undefined) {
    return [["addresses to survey", outcome.surveyed_addresses]];
  }
  const d = outcome.deployment;
  if (!d) return [];
  const rows = [["addresses in the area", d.addresses_in_scope],
                ["work orders", d.work_orders], ["tasks", d.tasks]];
  for (const [status, n] of Object.entries(d.addresses_by_status)) rows.push([`from ${status}`, n]);
  for (const [reason, n] of Object.entries(d.skipped)) rows.push([`skipped: ${reason}`, n]);
  for (const t of d.work_orders_by_template) rows.push([`template ${t.template} v${t.version}`, t.work_orders]);
  return rows;
}

async function showArea(areaId) {
  const area = await attempt(() => api(`/areas/${areaId}`));
  if (!area) return;
  const p = area.properties;
  const next = NEXT_AREA_STATUS[p.status];
  const panel = $("area");
  panel.hidden = false;
  panel.dataset.areaId = areaId;
  panel.innerHTML = `<h2>Area “${esc(p.name)}”</h2>
    <p>Status: <b id="area-status">${esc(p.status)}</b></p>
    ${next ? `<button type="button" id="preview">Preview: move to ${esc(next.replaceAll("_", " "))}</button>`
           : "<p>Built: nothing further.</p>"}
    <div id="dry-run"></div>`;
  if (next) $("preview").onclick = () => previewTransition(areaId, next);
}

async function previewTransition(areaId, to) {
  const outcome = await attempt(() => api(`/areas/${areaId}/transition`, {
    method: "POST", json: { to, dry_run: true } }));
  if (!outcome) return;
  $("dry-run").innerHTML = `<h2>If you move it to ${esc(to.replaceAll("_", " "))}</h2>
    ${countsTable(dryRunRows(outcome))}
    <p><button class="primary" type="button" id="confirm">Confirm</button>
       <button type="button" id="cancel">Cancel</button></p>`;
  $("cancel").onclick = () => { $("dry-run").innerHTML = ""; };
  $("confirm").onclick = async () => {
    $("confirm").disabled = true;
    const done = await attempt(() => api(`/areas/${areaId}/transition`, {
      method: "POST", json: { to } }));
    if (!done) { $("confirm").disabled = false; return; }
    const orders = done.deployment ? `, ${done.deployment.work_orders} work orders created` : "";
    say(`Area moved to ${to.replaceAll("_", " ")}${orders}.`);
    refreshTiles();
    showArea(areaId);
  };
}

// -- import progress -------------------------------------------------------------------------

async function followImport(runId) {
  $("import-progress").hidden = false;
  $("import").disabled = true;
  for (;;) {
    const run = await attempt(() => api(`/sync/runs/${runId}`));
    if (!run) break;
    const bar = $("import-bar");
    if (run.progress === null) bar.removeAttribute("value"); else bar.value = run.progress;
    $("import-text").textContent = `Run ${run.id}: ${run.state}, ${run.phase}; ` +
      `${run.features_read.toLocaleString()} addresses and ${run.circuits_read.toLocaleString()} ` +
      `circuits read, ${run.inserted.toLocaleString()} new, ${run.updated.toLocaleString()} changed` +
      (run.error ? `; ${run.error}` : "");
    if (run.state !== "running") {
      bar.value = 1;
      refreshTiles();
      break;
    }
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
  $("import").disabled = false;
}

async function startImport() {
  const run = await attempt(() => api("/sync/runs", { method: "POST", json: {} }));
  if (run) followImport(run.id);
}

async function resumeRunningImport() {
  const runs = await attempt(() => api("/sync/runs?limit=1"));
  if (runs?.length && runs[0].state === "running") followImport(runs[0].id);
}

// -- wiring ------------------------------------------------------------------------------------

function wire() {
  $("draw").onclick = startDrawing;
  $("cancel-draw").onclick = () => { stopDrawing(); say("Drawing stopped."); };
  $("upload").onchange = () => { if ($("upload").files[0]) uploadArea($("upload").files[0]); };
  $("import").onclick = startImport;
  map.on("click", event => {
    if (!$("cancel-draw").hidden) return;  // clicks are drawing corners
    const hits = map.queryRenderedFeatures(event.point, { layers: ["addresses", "areas-fill"] });
    const address = hits.find(f => f.layer.id === "addresses");
    if (address) { showAddress(address.properties.feature_id); return; }
    const area = hits.find(f => f.layer.id === "areas-fill");
    if (area) showArea(area.properties.id);
  });
  for (const layer of ["addresses", "areas-fill"]) {
    map.on("mouseenter", layer, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; });
  }
  map.on("load", () => { fitToData(); resumeRunningImport(); });
}

legend();
if (key) {
  createMap();
  wire();
} else {
  signIn();  // no map, and so no tile requests, without a key
}
