// flowsight dashboard: polls the API once a second and redraws. Every value from the API is
// put in the page with textContent or canvas fillText, never parsed as HTML: process names,
// URLs and DNS names are whatever the traffic carried.
"use strict";

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const colorOf = new Map();

function color(name) {
  if (!colorOf.has(name)) colorOf.set(name, COLORS[colorOf.size % COLORS.length]);
  return colorOf.get(name);
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : Math.round(n)) + " " + units[i];
}

function endpoint(e) {
  const ip = String(e.ip);
  return (ip.includes(":") ? "[" + ip + "]" : ip) + ":" + e.port;
}

async function get(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

// The chart: one line per process (user, container), total rate (sent + received) over the
// kept history.
function drawChart(points) {
  const canvas = document.getElementById("chart");
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  const left = 70, right = 10, top = 10, bottom = 24;
  ctx.clearRect(0, 0, w, h);
  const series = new Map();
  points.forEach((p, i) => {
    for (const pr of p.series) {
      if (!series.has(pr.name)) series.set(pr.name, new Array(points.length).fill(0));
      series.get(pr.name)[i] = pr.tx + pr.rx;
    }
  });
  let max = 1;
  for (const v of series.values()) for (const x of v) max = Math.max(max, x);
  const x = (i) => left + (points.length < 2 ? 0 : i * (w - left - right) / (points.length - 1));
  const y = (v) => h - bottom - v * (h - top - bottom) / max;
  ctx.strokeStyle = "#ccc";
  ctx.fillStyle = "#555";
  ctx.font = "11px sans-serif";
  ctx.lineWidth = 1;
  for (let k = 0; k <= 4; k++) {
    const v = max * k / 4;
    ctx.beginPath(); ctx.moveTo(left, y(v)); ctx.lineTo(w - right, y(v)); ctx.stroke();
    ctx.fillText(bytes(v) + "/s", 2, y(v) + 4);
  }
  // The span the points cover, from their own times (one point per flow-map scan).
  const span = points.length > 1
    ? (Date.parse(points[points.length - 1].time) - Date.parse(points[0].time)) / 1000 : 0;
  ctx.fillText(Math.round(span) + " s", w - right - 40, h - 6);
  ctx.lineWidth = 2;
  for (const [name, vals] of series) {
    ctx.strokeStyle = color(name);
    ctx.beginPath();
    vals.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    ctx.stroke();
  }
  // What was drawn, for tests and debugging: the lines, and the pixels painted.
  canvas.dataset.series = String(series.size);
  const px = ctx.getImageData(0, 0, w, h).data;
  let ink = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) ink++;
  canvas.dataset.ink = String(ink);
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  const last = points.length ? points[points.length - 1].series : [];
  for (const name of series.keys()) {
    const now = last.find((p) => p.name === name);
    const li = el("li", name + (now ? " " + bytes(now.tx + now.rx) + "/s" : ""));
    li.style.setProperty("--c", color(name));
    legend.append(li);
  }
}

function drawFlows(data) {
  const body = document.querySelector("#flows tbody");
  body.replaceChildren();
  for (const f of data.flows) {
    // The local end is the one with a known process; the initiator when both or neither.
    const localIsSrc = f.source.process || !f.destination.process;
    const local = localIsSrc ? f.source : f.destination;
    const remote = localIsSrc ? f.destination : f.source;
    const [up, down] = localIsSrc
      ? [f.rate.source, f.rate.destination] : [f.rate.destination, f.rate.source];
    const [sent, recv] = localIsSrc
      ? [f.bytes.source, f.bytes.destination] : [f.bytes.destination, f.bytes.source];
    const p = local.process;
    const tr = el("tr");
    tr.append(
      el("td", f.transport), el("td", endpoint(local)), el("td", endpoint(remote)),
      el("td", p ? p.name + " (" + p.pid + ")" : "-"), el("td", p ? p.user : "-"),
      el("td", p && p.container ? p.container.slice(0, 12) : "-"), el("td", f.state),
      el("td", bytes(up) + "/s", "num"), el("td", bytes(down) + "/s", "num"),
      el("td", bytes(sent), "num"), el("td", bytes(recv), "num"));
    body.append(tr);
  }
  document.getElementById("flows-count").textContent =
    "(" + data.flows.length + " of " + data.matched + ")";
}

// Hosts contacted, busiest first (the first 20).
function drawHosts(data) {
  const body = document.querySelector("#hosts tbody");
  body.replaceChildren();
  for (const h of data.hosts.slice(0, 20)) {
    const tr = el("tr");
    tr.append(el("td", h.address), el("td", h.flows, "num"),
      el("td", bytes(h.rate.tx) + "/s", "num"), el("td", bytes(h.rate.rx) + "/s", "num"),
      el("td", bytes(h.bytes.tx), "num"), el("td", bytes(h.bytes.rx), "num"));
    body.append(tr);
  }
  document.getElementById("hosts-count").textContent =
    "(" + Math.min(20, data.hosts.length) + " of " + data.hosts.length + ")";
}

function summary(r) {
  if (r.type === "http") {
    const h = r.http || {};
    const parts = [];
    if (h.request) parts.push(h.request.method);
    if (r.url) parts.push((r.url.domain && !String(r.url.original).startsWith("http") ? r.url.domain : "") + r.url.original);
    if (h.response) parts.push("-> " + h.response.status_code);
    return parts.join(" ");
  }
  if (r.type === "dns") {
    const d = r.dns || {};
    let s = d.question ? d.question.name + " " + d.question.type : "id " + d.id;
    if (d.response_code) s += " -> " + d.response_code;
    if (d.answers && d.answers.length) s += " " + d.answers.map((a) => a.data).join(", ");
    return s;
  }
  const t = r.tls || {};
  return [t.client && t.client.server_name, t.version && (t.version_protocol || "tls") + " " + t.version,
    t.next_protocol, t.cipher].filter(Boolean).join(" ");
}

function owner(r) {
  for (const end of [r.source, r.destination]) {
    if (end && end.process) return end.process.name + " (" + end.process.pid + ")";
  }
  return "";
}

function drawRecords(data) {
  const list = document.getElementById("records");
  list.replaceChildren();
  for (const r of data.records.slice().reverse()) {
    const li = el("li");
    li.append(el("span", r.type, "kind kind-" + r.type),
      el("span", String(r["@timestamp"] || "").slice(11, 23) + " "),
      el("span", summary(r) + (owner(r) ? "  [" + owner(r) + "]" : "")));
    list.append(li);
  }
}

const search = document.getElementById("search");
const chartBy = document.getElementById("chart-by");
// `#by=user` (or container) in the address picks the chart's grouping, so a view can be
// bookmarked.
const hashBy = /^#by=(process|user|container)$/.exec(location.hash);
if (hashBy) chartBy.value = hashBy[1];
const status = document.getElementById("status");
let tick = 0;
// Refreshes overlap (each key typed in the search box starts one) and their answers may come
// back in any order: one that started before the refresh last drawn is dropped, so an older
// search never replaces a newer one's rows.
let started = 0, drawn = 0;

async function refresh() {
  const mine = ++started;
  try {
    const q = encodeURIComponent(search.value.trim());
    const [series, flows] = await Promise.all([
      get("api/v1/timeseries?by=" + chartBy.value), get("api/v1/flows?limit=100&q=" + q)]);
    if (mine < drawn) return;
    drawn = mine;
    drawChart(series.points);
    drawFlows(flows);
    if (tick++ % 2 === 0) {
      drawRecords(await get("api/v1/records?limit=30"));
      drawHosts(await get("api/v1/hosts"));
    }
    status.textContent = "updated " + new Date().toLocaleTimeString();
    status.className = "";
  } catch (e) {
    status.textContent = String(e.message || e);
    status.className = "error";
  }
}

search.addEventListener("input", refresh);
chartBy.addEventListener("change", refresh);
refresh();
setInterval(refresh, 1000);
