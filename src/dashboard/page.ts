/**
 * The dashboard's one page: HTML, CSS and script in one string, with no
 * external resource (it works offline). Every value from the broker is
 * put into the page as text (`textContent`), never as HTML.
 *
 * @module
 */

/** The page `GET /` serves. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>splitpilot dashboard</title>
<style>
  :root { --bg:#f7f7f5; --fg:#1d1d1f; --muted:#6b6b6b; --line:#deded8; --accent:#2557a7; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--fg); }
  header { display:flex; align-items:baseline; gap:16px; padding:12px 20px; background:#1d2b44; color:#fff; }
  header h1 { font-size:18px; margin:0; }
  header .status { color:#c8d3e6; font-size:12px; }
  main { display:grid; grid-template-columns: 1fr 380px; gap:16px; padding:16px 20px; }
  section { background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px; }
  h2 { font-size:14px; margin:0 0 8px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
  .counts { display:flex; flex-wrap:wrap; gap:8px; }
  .count { border:1px solid var(--line); border-radius:4px; padding:4px 10px; min-width:88px; }
  .count b { display:block; font-size:20px; }
  .count span { font-size:11px; color:var(--muted); }
  table { width:100%; border-collapse:collapse; }
  th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th { font-size:12px; color:var(--muted); font-weight:600; }
  tbody tr.job { cursor:pointer; }
  tbody tr.job:hover { background:#eef3fb; }
  tbody tr.selected { background:#dce7f8; }
  .filters { display:flex; gap:8px; margin-bottom:8px; }
  .filters input, .filters select { padding:3px 6px; }
  .state { font-weight:600; }
  .DONE { color:#1c7c3a; } .RUNNING, .STARTED, .SAVING, .ASSIGNED { color:#2557a7; }
  .WAITING { color:#8a6d00; } .KILLED, .EXPIRED { color:#6b6b6b; }
  [class*="ERROR"], .ZOMBIE, .FAILED { color:#b3261e; }
  #chart { width:100%; height:160px; display:block; }
  #detail pre { background:#111; color:#e6e6e6; padding:8px; height:220px; overflow:auto; font-size:12px; margin:6px 0 0; white-space:pre-wrap; }
  button { padding:4px 12px; border:1px solid var(--line); background:#fff; border-radius:4px; cursor:pointer; }
  button.danger { border-color:#b3261e; color:#b3261e; }
  .muted { color:var(--muted); }
  .error { color:#b3261e; }
</style>
</head>
<body>
<header><h1>splitpilot</h1><span class="status" id="status">connecting…</span></header>
<main>
  <div>
    <section><h2>Jobs per state</h2><div class="counts" id="counts"></div></section>
    <section style="margin-top:16px"><h2>Over time</h2><canvas id="chart" width="900" height="160"></canvas>
      <div class="muted" id="legend"></div></section>
    <section style="margin-top:16px"><h2>Jobs</h2>
      <div class="filters">
        <select id="f-state"><option value="">all states</option></select>
        <input id="f-user" placeholder="user">
        <input id="f-text" placeholder="ID or agent">
      </div>
      <table><thead><tr><th>ID</th><th>user</th><th>state</th><th>exit</th><th>cores</th><th>agent</th><th>updated</th></tr></thead>
      <tbody id="jobs"></tbody></table>
      <div class="muted" id="shown"></div>
    </section>
    <section style="margin-top:16px"><h2>Sites</h2>
      <table><thead><tr><th>site</th><th>batch</th><th>queued</th><th>running</th><th>finished</th><th>failed</th><th>agents</th><th>cores</th><th>jobs</th><th>last contact</th></tr></thead>
      <tbody id="sites"></tbody></table>
    </section>
  </div>
  <section id="detail"><h2>Job</h2><div class="muted" id="detail-empty">Click a job to see its trace, usage and live log.</div>
    <div id="detail-body" hidden>
      <div><b id="d-title"></b> <span class="state" id="d-state"></span></div>
      <div class="muted" id="d-usage"></div>
      <div style="margin:8px 0; display:flex; gap:8px">
        <button class="danger" id="d-kill">Kill</button><button id="d-resubmit">Resubmit</button>
        <span id="d-msg"></span>
      </div>
      <table><thead><tr><th>time</th><th>state</th><th>reason</th></tr></thead><tbody id="d-trace"></tbody></table>
      <pre id="d-log"></pre>
    </div>
  </section>
</main>
<script>
"use strict";
const STATES = ["WAITING","ASSIGNED","STARTED","RUNNING","SAVING","DONE","ERROR_A","ERROR_IB","ERROR_E","ERROR_V","ERROR_S","ERROR_SV","KILLED","EXPIRED","ZOMBIE"];
const COLORS = { WAITING:"#8a6d00", RUNNING:"#2557a7", DONE:"#1c7c3a", failed:"#b3261e" };
let jobs = [], sites = [], samples = [], selected = null, logAfter = 0, logTimer = null;
const $ = (id) => document.getElementById(id);
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }
function ago(iso) { if (!iso) return "-"; const s = (Date.now() - Date.parse(iso)) / 1000; return s < 60 ? Math.round(s) + "s ago" : s < 3600 ? Math.round(s/60) + "m ago" : Math.round(s/3600) + "h ago"; }
for (const s of STATES) $("f-state").append(el("option", s));
for (const id of ["f-state","f-user","f-text"]) $(id).addEventListener("input", renderJobs);

function renderCounts() {
  const c = {}; for (const j of jobs) c[j.state] = (c[j.state] || 0) + 1;
  const box = $("counts"); box.replaceChildren();
  for (const s of STATES) { if (!c[s]) continue; const d = el("div", null, "count"); d.dataset.state = s; d.append(el("b", c[s], s), el("span", s)); box.append(d); }
  if (!jobs.length) box.append(el("span", "no jobs yet", "muted"));
}
function renderJobs() {
  const fs = $("f-state").value, fu = $("f-user").value.trim(), ft = $("f-text").value.trim();
  const body = $("jobs"); body.replaceChildren();
  const shown = jobs.filter((j) => (!fs || j.state === fs) && (!fu || j.owner.includes(fu)) && (!ft || j.id.includes(ft) || (j.agent || "").includes(ft)));
  for (const j of shown.slice(0, 500)) {
    const tr = el("tr", null, "job" + (j.id === selected ? " selected" : "")); tr.dataset.id = j.id; tr.dataset.state = j.state;
    tr.append(el("td", j.id), el("td", j.owner), el("td", j.state, "state " + j.state), el("td", j.exitCode ?? "-"), el("td", j.cpuCores), el("td", j.agent ?? "-"), el("td", ago(j.updatedAt)));
    tr.addEventListener("click", () => select(j.id));
    body.append(tr);
  }
  $("shown").textContent = shown.length + " of " + jobs.length + " jobs" + (shown.length > 500 ? " (first 500 shown)" : "");
}
function renderSites() {
  const body = $("sites"); body.replaceChildren();
  for (const s of sites) {
    const f = s.factory || {}, p = f.pilots || {};
    const tr = el("tr"); tr.dataset.site = s.site;
    tr.append(el("td", s.site), el("td", f.batch ?? "-"), el("td", p.queued ?? "-"), el("td", p.running ?? "-"), el("td", p.finished ?? "-"), el("td", p.failed ?? "-"), el("td", s.agents), el("td", s.cores), el("td", s.jobsRunning), el("td", s.lastContact ? ago(new Date(s.lastContact).toISOString()) : "-"));
    body.append(tr);
  }
  if (!sites.length) { const tr = el("tr"); const td = el("td", "no site seen yet", "muted"); td.colSpan = 10; tr.append(td); body.append(tr); }
}
function series(sample) {
  const c = sample.counts, failed = Object.keys(c).filter((k) => k.startsWith("ERROR") || k === "ZOMBIE").reduce((a, k) => a + c[k], 0);
  return { WAITING: c.WAITING || 0, RUNNING: (c.RUNNING || 0) + (c.STARTED || 0) + (c.ASSIGNED || 0) + (c.SAVING || 0), DONE: c.DONE || 0, failed };
}
function renderChart() {
  const cv = $("chart"), ctx = cv.getContext("2d"); const W = cv.width, H = cv.height;
  ctx.clearRect(0, 0, W, H); ctx.strokeStyle = "#deded8"; ctx.strokeRect(0.5, 0.5, W - 1, H - 1);
  if (samples.length < 2) return;
  const pts = samples.map(series); const max = Math.max(1, ...pts.flatMap((p) => Object.values(p)));
  const t0 = samples[0].t, t1 = samples[samples.length - 1].t || t0 + 1;
  for (const key of Object.keys(COLORS)) {
    ctx.beginPath(); ctx.strokeStyle = COLORS[key]; ctx.lineWidth = 2;
    samples.forEach((s, i) => { const x = 4 + (W - 8) * (s.t - t0) / Math.max(1, t1 - t0); const y = H - 4 - (H - 8) * pts[i][key] / max; i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.stroke();
  }
  ctx.fillStyle = "#6b6b6b"; ctx.fillText(String(max), 6, 12);
  $("legend").textContent = Object.keys(COLORS).map((k) => k + " " + pts[pts.length - 1][k]).join("   ·   ");
}
async function api(method, path) {
  const r = await fetch(path, { method, credentials: "same-origin" });
  const text = await r.text(); let body = null; try { body = JSON.parse(text); } catch { body = { error: text }; }
  if (!r.ok) throw new Error((body && body.error) || ("HTTP " + r.status));
  return body;
}
async function select(id) {
  selected = id; logAfter = 0; $("d-log").textContent = ""; $("d-msg").textContent = "";
  $("detail-empty").hidden = true; $("detail-body").hidden = false; renderJobs();
  clearTimeout(logTimer); await refreshDetail(); pollLog();
}
async function refreshDetail() {
  if (!selected) return;
  try {
    const t = await api("GET", "/api/jobs/" + selected + "/trace"); const j = t.job;
    $("d-title").textContent = "job " + j.id + " · " + j.owner; const st = $("d-state"); st.textContent = j.state; st.className = "state " + j.state;
    const u = j.usage || {};
    $("d-usage").textContent = "cores " + j.cpuCores + " · exit " + (j.exitCode ?? "-") + " · kill reason " + (j.killReason ?? "-") + " · cpu " + (u.cpuSeconds ?? "-") + " s · wall " + (u.wallSeconds ?? "-") + " s · max rss " + (u.maxRssBytes ? Math.round(u.maxRssBytes / 1048576) + " MiB" : "-") + " · agent " + (j.agent ?? "-");
    const body = $("d-trace"); body.replaceChildren();
    for (const e of t.trace) { const tr = el("tr"); tr.append(el("td", e.at.slice(11, 19)), el("td", e.state, "state " + e.state), el("td", e.reason)); body.append(tr); }
  } catch (e) { $("d-msg").textContent = e.message; $("d-msg").className = "error"; }
}
async function pollLog() {
  const id = selected; if (!id) return;
  try {
    const p = await api("GET", "/api/jobs/" + id + "/log?after=" + logAfter);
    if (id !== selected) return;
    const pre = $("d-log");
    for (const l of p.lines) pre.textContent += (l.stream === "stdout" ? "" : l.stream + ": ") + l.text + "\\n";
    if (p.lines.length) pre.scrollTop = pre.scrollHeight;
    logAfter = p.next;
    if (p.final && p.ended) return;
  } catch { /* try again */ }
  logTimer = setTimeout(pollLog, 1000);
}
async function act(what) {
  if (!selected) return;
  $("d-msg").className = ""; $("d-msg").textContent = what + "…";
  try { await api("POST", "/api/jobs/" + selected + "/" + what); $("d-msg").textContent = what + ": done"; }
  catch (e) { $("d-msg").textContent = e.message; $("d-msg").className = "error"; }
  refreshDetail();
}
$("d-kill").addEventListener("click", () => act("kill"));
$("d-resubmit").addEventListener("click", () => act("resubmit"));
const events = new EventSource("/events");
events.addEventListener("snapshot", (e) => {
  const s = JSON.parse(e.data); jobs = s.jobs || []; sites = s.sites || [];
  $("status").textContent = s.error ? "broker: " + s.error : "live · " + jobs.length + " jobs · " + new Date().toLocaleTimeString();
  renderCounts(); renderJobs(); renderSites();
  const j = jobs.find((x) => x.id === selected); if (j && j.state !== $("d-state").textContent) refreshDetail();
});
events.addEventListener("history", (e) => { samples = JSON.parse(e.data); renderChart(); });
events.addEventListener("sample", (e) => { samples.push(JSON.parse(e.data)); if (samples.length > 720) samples.shift(); renderChart(); });
events.onerror = () => { $("status").textContent = "disconnected, retrying…"; };
</script>
</body>
</html>
`;
