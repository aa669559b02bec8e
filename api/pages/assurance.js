// The finance and board page: metrics with their colour and weekly trend, open exceptions by
// severity. Every call carries the user's key.

async function api(path) {
  const reply = await fetch(path, { headers: { Authorization: `Bearer ${key}` } });
  const body = await reply.json().catch(() => ({}));
  if (reply.status === 401) signIn();
  if (!reply.ok) throw new Error(body.detail || `HTTP ${reply.status}`);
  return body;
}

function shown(metric) {
  const v = metric.value;
  if (v === null || v === undefined) return "—";
  if (metric.unit === "ratio") return `${(v * 100).toFixed(2)} %`;
  if (metric.unit === "days") return `${v.toFixed(1)} days`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

// A small line chart of the weekly values; gaps where a week had no value.
function trend(weekly) {
  const values = weekly.map(w => w.value);
  const known = values.filter(v => v !== null && v !== undefined);
  if (!known.length) return "";
  const lo = Math.min(...known), hi = Math.max(...known), w = 220, h = 36;
  const x = i => (values.length === 1 ? w / 2 : i * w / (values.length - 1));
  const y = v => (hi === lo ? h / 2 : h - 3 - (v - lo) / (hi - lo) * (h - 6));
  const points = values.map((v, i) => v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)
    .filter(Boolean).join(" ");
  return `<svg class="trend" width="${w}" height="${h}" role="img" aria-label="weekly trend">
    <polyline fill="none" stroke="#1e63b5" stroke-width="1.5" points="${points}"/></svg>`;
}

function metricCard(m) {
  const status = m.status || "none";
  const extra = m.key === "dispute_adjusted_dso" && m.value_excluding_disputes != null
    ? `<div class="rule">without disputes: ${m.value_excluding_disputes.toFixed(1)} days</div>` : "";
  return `<div class="metric ${status}" data-metric="${esc(m.key)}" data-status="${status}">
    <div>${esc(m.name)}</div><div class="value">${esc(shown(m))}</div>${extra}
    ${m.missing ? `<div class="missing">${esc(m.missing)}</div>` : ""}
    <div class="rule">target ${esc(m.target)} · alert ${esc(m.alert)}</div>
    ${trend(m.weekly || [])}
    <details><summary class="rule">definition</summary><div class="rule">${esc(m.definition)}</div></details>
  </div>`;
}

function exceptionsTable(exceptions) {
  const bySeverity = ["red", "amber"].map(severity => {
    const rows = exceptions.filter(e => e.severity === severity).map(e => `<tr>
      <td><span class="badge ${severity}">${severity}</span></td><td>${esc(e.kind.replaceAll("_", " "))}</td>
      <td>${esc(e.address_feature_id)}</td><td>${esc(e.isp_id)}</td><td>${esc(e.contract_ref ?? "")}</td>
      <td>${esc(new Date(e.first_seen).toLocaleString())}</td>
      <td><code>${esc(JSON.stringify(e.evidence))}</code></td></tr>`).join("");
    return `<h3>${severity} (${exceptions.filter(e => e.severity === severity).length})</h3>
      <table data-severity="${severity}"><tr><th></th><th>kind</th><th>address</th><th>ISP</th>
      <th>contract</th><th>first seen</th><th>evidence</th></tr>${rows}</table>`;
  });
  return bySeverity.join("");
}

function money(minor) {
  return minor === null || minor === undefined ? "—" : (minor / 100).toFixed(2);
}

// Last month: the latest one an ISP can have reported in full.
function lastMonth() {
  const now = new Date();
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return month.toISOString().slice(0, 7);
}

function settlementTable(statements) {
  if (!statements.length) return `<p class="missing">No ISP had services that month.</p>`;
  const rows = statements.map(s => `<tr data-isp="${esc(s.isp)}"><td>${esc(s.isp)}</td>
    <td>${money(s.expected_minor)}</td><td>${money(s.reported_minor)}</td>
    <td>${money(s.variance_minor)}</td>
    <td>${s.variance_ratio === null ? (s.reported_minor === null ? "not reported" : "—")
                                     : `${(s.variance_ratio * 100).toFixed(2)} %`}</td>
    <td>${s.lines.length}${s.unrated_lines ? ` (${s.unrated_lines} without a rate)` : ""}</td></tr>`);
  return `<table><tr><th>ISP</th><th>expected (${esc(statements[0].currency)})</th>
    <th>reported</th><th>variance</th><th>variance %</th><th>lines</th></tr>${rows.join("")}</table>`;
}

async function show() {
  try {
    const period = lastMonth();
    const [metrics, exceptions, settlements] = await Promise.all([
      api("/assurance/metrics"), api("/assurance/exceptions?limit=1000"),
      api(`/assurance/settlements?period=${period}`)]);
    $("settlement-period").textContent = period;
    $("settlements").innerHTML = settlementTable(settlements.statements);
    $("period").textContent = `${new Date(metrics.start).toLocaleDateString()} – ` +
      `${new Date(metrics.end).toLocaleDateString()}`;
    $("metrics").innerHTML = metrics.metrics.map(metricCard).join("");
    $("exceptions").innerHTML = exceptionsTable(exceptions.exceptions);
  } catch (error) {
    $("message").textContent = error.message;
  }
}

if (key) show(); else signIn();
