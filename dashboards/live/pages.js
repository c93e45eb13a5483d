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

const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
function clock(t) {
  if (t === null || t === undefined) return "—";
  return new Date(t * 1000).toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
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
  for (const z of document.querySelectorAll(".zone")) z.textContent = `times in ${ZONE}`;
  return me;
}
