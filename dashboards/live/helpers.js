// Small helpers of the live page: elements, numbers, durations, clock times in the clinic's
// zone, the CSRF token, the toast. No state of the rooms here (state.js).
"use strict";

const $ = id => document.getElementById(id);
function fmt(v, digits = 0) { return v === null || v === undefined || Number.isNaN(Number(v)) ? "—" : Number(v).toFixed(digits); }
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function setText(e, text) { if (e.textContent !== text) e.textContent = text; }
// Clock times in the clinic's zone (config `timezone`, from /api/auth/me and the snapshot),
// not the browser's: one clinic, one zone, labelled in the header (issue #13).
let clinicZone;  // undefined until the server names it: the browser's zone meanwhile
const zoneFmts = {};
function zoneFmt(kind) {
  const opts = { clock: { hour: "2-digit", minute: "2-digit", second: "2-digit" }, hm: { hour: "2-digit", minute: "2-digit" },
                 day: { year: "numeric", month: "2-digit", day: "2-digit" } }[kind];
  const key = kind + "|" + clinicZone;
  // en-CA writes dates year first (2026-11-23); h23: 00:30, never 24:30.
  if (!zoneFmts[key]) zoneFmts[key] = new Intl.DateTimeFormat(kind === "day" ? "en-CA" : "en-GB", { timeZone: clinicZone, hourCycle: "h23", ...opts });
  return zoneFmts[key];
}
function setZone(tz) {
  if (!tz || tz === clinicZone) return;
  try { new Intl.DateTimeFormat([], { timeZone: tz }); clinicZone = tz; }
  catch (e) { clinicZone = undefined; }  // an unknown zone: the browser's, and the label says so
  const zone = $("zone");
  if (zone) zone.textContent = clinicZone ? `times: ${tz}` : `times: this browser's zone (${tz} unknown here)`;
  queueRender();
}
function clock(t) { return t ? zoneFmt("clock").format(new Date(t * 1000)) : "—"; }
function zoneHM(t) { return zoneFmt("hm").format(new Date(t * 1000)); }
function zoneDay(t) { return zoneFmt("day").format(new Date(t * 1000)); }
function dur(s) {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
}
function ago(t) {
  const s = serverNow() - t;
  return s < 60 ? `${Math.max(0, Math.round(s))} s ago` : `${Math.round(s / 60)} min ago`;
}
function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)vigil_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}
function toast(text, bad) {
  const t = $("toast");
  t.textContent = text;
  t.className = "toast" + (bad ? " bad" : "");
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

