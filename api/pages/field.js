// The technician's phone page: today's tasks, readings, photos, done. Every submit carries an
// Idempotency-Key kept with the form until the server confirms it, and the entered values are
// kept (also across reloads) until then, so a lost connection loses nothing and a double
// submit records once.
const app = document.getElementById("app");
const store = window.localStorage;
let key = store.getItem("fibersync.key");

const LABELS = {
  received_power_dbm: "Received optical power", download_ratio_of_plan: "Download vs plan",
  upload_ratio_of_plan: "Upload vs plan", splice_loss_db: "Splice loss",
};

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}

async function api(path, options = {}, attempt = 0) {
  const headers = { Authorization: `Bearer ${key}`, ...(options.headers || {}) };
  try {
    const reply = await fetch(path, { ...options, headers });
    const body = reply.status === 204 ? null : await reply.json();
    if (!reply.ok) throw Object.assign(new Error(body?.detail || reply.statusText),
                                       { problem: body });
    return body;
  } catch (error) {
    if (error.problem || attempt >= 5) throw error;
    // No connection: say so, keep everything, try again with the same Idempotency-Key.
    flash(`No connection. Your entry is kept; retrying (${attempt + 1}/5)…`, "problem");
    await new Promise(done => setTimeout(done, 1000 * (attempt + 1)));
    return api(path, options, attempt + 1);
  }
}

function flash(text = "", kind = "ok") {
  const box = document.getElementById("flash");
  box.className = text ? kind : "";
  box.textContent = text;
}

function signIn() {
  app.innerHTML = `<div class="card"><h2>Sign in</h2>
    <label for="key">Your FiberSync key</label><input id="key" autocomplete="off">
    <button id="go">Sign in</button></div>`;
  flash();  // a new screen: last screen's message goes
  document.getElementById("go").onclick = () => {
    key = document.getElementById("key").value.trim();
    store.setItem("fibersync.key", key);
    showList();
  };
}

function when(order) {
  if (!order.scheduled_start) return "not scheduled";
  const start = new Date(order.scheduled_start), end = new Date(order.scheduled_end);
  return `${start.toLocaleDateString()} ${start.toLocaleTimeString([], {hour: "2-digit",
    minute: "2-digit"})}–${end.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"})}`;
}

async function showList() {
  let page;
  try { page = await api("/work-orders?limit=200"); }
  catch (error) { signIn(); flash(error.message, "problem"); return; }
  const open = page.items.filter(o => ["open", "scheduled", "in_progress"].includes(o.status))
    .sort((a, b) => (a.scheduled_start || "9").localeCompare(b.scheduled_start || "9")
                    || a.id - b.id);
  app.innerHTML = `<p class="muted">${open.length} work order(s) for you</p>` +
    open.map(o => `<div class="card" data-order="${o.id}"><span class="status">
      ${esc(o.status)}</span><h2>${esc(o.address.name)}</h2>
      <div class="muted">${esc(o.address.postcode)} · ${esc(when(o))} ·
      ${esc(o.template_name)}</div><button class="secondary open">Open</button></div>`)
      .join("") + `<button class="secondary" id="signout">Sign out</button>`;
  flash();
  app.querySelectorAll("[data-order] .open").forEach(button => {
    button.onclick = () => showOrder(button.closest("[data-order]").dataset.order);
  });
  document.getElementById("signout").onclick = () => { store.removeItem("fibersync.key");
                                                        signIn(); };
}

function requirementText(r) {
  if (r.kind === "photo") return `${r.min_count} photo(s)`;
  if (r.kind === "signature") return "customer signature";
  if (r.kind === "serial_number") return "ONT serial number (scan it)";
  const limits = [r.min != null ? `≥ ${r.min}` : "", r.max != null ? `≤ ${r.max}` : ""];
  return `${LABELS[r.quantity] || r.quantity} ${limits.filter(Boolean).join(" and ")} ${r.unit}`;
}

function readingForms(task) {
  const wanted = new Set(task.evidence_required.map(r => r.kind === "measurement"
                                                     ? r.quantity : r.kind));
  const forms = [];
  if (wanted.has("received_power_dbm")) forms.push(["light_level", `
    <div class="row"><div><label>Power (dBm)</label><input name="dbm" inputmode="decimal">
    </div><div><label>Wavelength (nm)</label><input name="wavelength_nm" value="1490"
    inputmode="numeric"></div></div>`]);
  if (wanted.has("download_ratio_of_plan") || wanted.has("upload_ratio_of_plan"))
    forms.push(["speed_test", `<div class="row"><div><label>Down (Mbps)</label>
      <input name="down_mbps" inputmode="decimal"></div><div><label>Up (Mbps)</label>
      <input name="up_mbps" inputmode="decimal"></div></div><div class="row"><div>
      <label>Latency (ms)</label><input name="latency_ms" inputmode="decimal"></div><div>
      <label>Server</label><input name="server"></div></div>`]);
  if (wanted.has("splice_loss_db")) forms.push(["measurement", `
    <input type="hidden" name="quantity" value="splice_loss_db">
    <input type="hidden" name="unit" value="dB">
    <label>Splice loss (dB)</label><input name="value" inputmode="decimal">`]);
  if (wanted.has("serial_number")) forms.push(["ont_serial", `
    <label>ONT serial number</label><input name="serial" autocapitalize="characters">`]);
  if (wanted.has("signature")) forms.push(["signature", `
    <label>Signed by</label><input name="signed_by">`]);
  forms.push(["note", `<label>Note</label><textarea name="text" rows="2"></textarea>`]);
  return forms;
}

const NUMBERS = ["dbm", "wavelength_nm", "down_mbps", "up_mbps", "latency_ms", "value"];

function formBody(kind, form) {
  const body = { kind };
  new FormData(form).forEach((value, name) => {
    if (value === "") return;
    body[name] = NUMBERS.includes(name) ? Number(value) : value;
  });
  return body;
}

function idemKey(form) {
  // One key per entry: made when first sent, dropped once the server has it.
  if (!form.dataset.idem) form.dataset.idem = crypto.randomUUID();
  return form.dataset.idem;
}

function keepDraft(form, draftKey) {
  const saved = JSON.parse(store.getItem(draftKey) || "{}");
  Object.entries(saved).forEach(([name, value]) => {
    if (form.elements[name] && form.elements[name].type !== "file")
      form.elements[name].value = value;
  });
  form.addEventListener("input", () => {
    const values = {};
    new FormData(form).forEach((value, name) => { if (typeof value === "string")
                                                    values[name] = value; });
    store.setItem(draftKey, JSON.stringify(values));
  });
}

function taskCard(order, task) {
  const done = ["done", "skipped"].includes(task.status);
  const needs = task.evidence_required.map(requirementText);
  const have = task.evidence.map(e => `<li>${esc(e.kind)}: ${esc(e.kind === "photo"
    ? e.sha256.slice(0, 12) + "…" : JSON.stringify(e.data))}</li>`).join("");
  const forms = done ? "" : readingForms(task).map(([kind, fields]) =>
    `<form data-kind="${kind}">${fields}<button>Save ${esc(kind.replace("_", " "))}</button>
     </form>`).join("") + `<form data-kind="photo"><label>Photo</label>
     <input type="file" name="file" accept="image/jpeg,image/png,image/heic"
     capture="environment"><button>Upload photo</button></form>
     <button class="done">Mark done</button>` +
     (task.skippable ? `<button class="secondary skip">Skip…</button>` : "");
  return `<div class="card" data-task="${task.position}"><span class="status">
    ${esc(task.status)}</span><h3>${task.position}. ${esc(task.name)}</h3>
    <div class="muted">Capture: ${esc(needs.join(", ") || "nothing required")}</div>
    <ul class="evidence">${have}</ul>${forms}</div>`;
}

async function showOrder(orderId) {
  const order = await api(`/work-orders/${orderId}`);
  const a = order.address;
  const map = `https://www.openstreetmap.org/?mlat=${a.lat}&mlon=${a.lon}#map=19/${a.lat}/${a.lon}`;
  app.innerHTML = `<button class="secondary" id="back">← My work orders</button>
    <div class="card"><span class="status">${esc(order.status)}</span>
    <h2>${esc(a.name)}</h2><div class="muted">${esc(a.postcode)} ${esc(a.city)} ·
    ${esc(when(order))}</div><a href="${map}" target="_blank" rel="noopener">Open map</a>
    </div>` + order.tasks.map(task => taskCard(order, task)).join("");
  flash();
  document.getElementById("back").onclick = showList;
  app.querySelectorAll("[data-task]").forEach(card => wireTask(order, card));
}

function wireTask(order, card) {
  const position = card.dataset.task;
  const base = `/work-orders/${order.id}/tasks/${position}`;
  card.querySelectorAll("form").forEach(form => {
    const kind = form.dataset.kind;
    const draftKey = `fibersync.draft.${order.id}.${position}.${kind}`;
    if (kind !== "photo") keepDraft(form, draftKey);
    form.onsubmit = async event => {
      event.preventDefault();
      const headers = { "Idempotency-Key": idemKey(form) };
      try {
        if (kind === "photo") {
          if (!form.elements.file.files.length) throw new Error("Take or pick a photo first");
          await api(`${base}/photos`, { method: "POST", headers,
                                        body: new FormData(form) });
        } else {
          await api(`${base}/evidence`, { method: "POST", body: JSON.stringify(
            formBody(kind, form)), headers: { ...headers,
                                              "Content-Type": "application/json" } });
        }
        store.removeItem(draftKey);
        delete form.dataset.idem;
        await showOrder(order.id);
        flash("Saved");
      } catch (error) { flash(error.message, "problem"); }
    };
  });
  const done = card.querySelector("button.done");
  if (done) done.onclick = () => finish(order, base, "done", {}, done);
  const skip = card.querySelector("button.skip");
  if (skip) skip.onclick = () => {
    const reason = window.prompt("Why is this task skipped?");
    if (reason) finish(order, base, "skip", { reason }, skip);
  };
}

async function finish(order, base, action, body, button) {
  try {
    const reply = await api(`${base}/${action}`, { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "Idempotency-Key": idemKey(button) } });
    if (reply.order_completed) { await showList(); flash("Work order completed. Thank you!"); }
    else { await showOrder(order.id); flash("Task done"); }
  } catch (error) { flash(error.message, "problem"); }
}

if (key) showList(); else signIn();
