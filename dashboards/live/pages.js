// Helpers shared by the admin page and the alarm log / hand-off page (not the live
// dashboard, which has its own). Sign-in is the session cookie; a change carries the CSRF token.
"use strict";

const $ = (id) => document.getElementById(id);

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)vigil_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

// fetch JSON; throws Error(detail) on a refusal, with the server's words (field: message).
async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf();
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("signed out"); }
  const data = r.headers.get("content-type")?.includes("json") ? await r.json() : {};
  if (!r.ok) {
    const d = data.detail;
    throw new Error(Array.isArray(d) ? d.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ") : (d || `HTTP ${r.status}`));
  }
  return data;
}

// Element builder: el("td", {class: "x"}, "text", child, ...). Text is never parsed as HTML.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

// Times in the clinic's timezone (setting `timezone`, from /api/auth/me), labelled; the
// browser's own only when this browser does not know that zone, and then the label says so.
let clinicZone;
let zoneLabel = "";
function setZone(tz) {
  try { new Intl.DateTimeFormat([], { timeZone: tz }); clinicZone = tz; zoneLabel = `times: ${tz}`; }
  catch (e) { clinicZone = undefined; zoneLabel = `times: this browser's zone (${tz} unknown here)`; }
  for (const z of document.querySelectorAll(".zone")) z.textContent = zoneLabel;
}
function clock(t) {
  if (t === null || t === undefined) return "—";
  return new Date(t * 1000).toLocaleString([], { timeZone: clinicZone, dateStyle: "short", timeStyle: "medium", hourCycle: "h23" });
}
function hms(t) {
  return new Date(t * 1000).toLocaleTimeString([], { timeZone: clinicZone, hourCycle: "h23" });
}
function secs(s) {
  if (s === null || s === undefined) return "—";
  return s < 90 ? `${Math.round(s)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

async function signedIn() {
  const me = await api("GET", "/api/auth/me");
  const who = $("who");
  if (who) who.textContent = `${me.username} (${me.role})`;
  const out = $("logout");
  if (out) out.addEventListener("click", async () => {
    await api("POST", "/api/auth/logout").catch(() => {});
    location.href = "/login";
  });
  setZone(me.timezone || "UTC");
  return me;
}
