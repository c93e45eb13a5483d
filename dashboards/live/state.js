// Room state: the core's room snapshot normalised for the page, kept current by the stream's
// messages (snapshot, reading, alarm, phase, device, room), the trends and the alarm log.
"use strict";

const TREND_KEEP_S = 4 * 3600;
const SOUNDING = new Set(["active", "escalated", "resolved"]);  // alarm states not acknowledged
const rooms = new Map();       // room id -> snapshot object, kept current by stream messages
const trends = new Map();      // room id -> {channel: [[t, v], ...]}
const alarmLog = new Map();    // room id -> Map(key -> alarm transition)
let clockOffset = 0;           // server time - local time, seconds
const serverNow = () => Date.now() / 1000 + clockOffset;

// -- snapshot accessors (tolerant of what the core sends) ---------------------------------
function session(room) { return room.session || {}; }
function doseT(room) { return session(room).dose_t ?? room.dose_t ?? null; }
function startedT(room) { return session(room).started_t ?? null; }
function latest(room, ch) { return (room.latest || {})[ch] || null; }
function baseline(room) { return room.baseline_view || room.baseline || {}; }
function limitsFor(room, ch) { return (room.limit_band || {})[ch] || null; }

// The core's room snapshot (RoomPipeline.snapshot in monitor/core/pipeline.py) is the
// contract; this turns it into what the page draws, in one place.
function normalise(room) {
  const status = room.baseline_status;
  const s = room.session || {};
  // Before the dose the clinician sees the derived (proposed) baseline to confirm.
  const proposed = status === "none" || status === "derived" ? room.baseline_proposed : null;
  const values = proposed || room.baseline || {};
  room.baseline_view = {
    ...values,
    confirmed: status === undefined ? undefined : status === "confirmed" || status === "entered",
    confirmed_by: s.baseline_confirmed_by,
    pathological: status === "refused",
    refused: room.baseline_refused || [],
    advisory: (room.advisories || []).join("; ") || null,
  };
  // Narrowest band per channel over every active physiological limit: the highest lower
  // limit and the lowest upper limit, i.e. where the first alarm would start.
  const band = {};
  for (const rows of Object.values(room.limits || {})) {
    if (!Array.isArray(rows)) continue;
    for (const r of rows) {
      const b = band[r.channel] || (band[r.channel] = { low: null, high: null });
      if (r.comparator[0] === "<") b.low = b.low === null ? r.limit : Math.max(b.low, r.limit);
      else b.high = b.high === null ? r.limit : Math.min(b.high, r.limit);
    }
  }
  room.limit_band = band;
  room.next_bp_due_t = room.bp_due ?? null;
  room.discharge_ready = room.discharge ? room.discharge.ready : null;
  return room;
}
function fmtLimits(lim) {
  if (!lim) return "—";
  if (lim.low != null && lim.high != null) return `${fmt(lim.low)}–${fmt(lim.high)}`;
  return lim.low != null ? `≥ ${fmt(lim.low)}` : `≤ ${fmt(lim.high)}`;
}
function isTechnical(a) { return a.kind === "technical"; }
function isFlag(a) { return a.channel === "apnea"; }  // 1/0, not a number worth showing
function unacked(a) { return SOUNDING.has(a.state); }
function onset(a) { return a.since ?? a.t; }
// Where a room's plots start: the session start, else the first data we hold; at least
// `min` seconds shown, at most two hours.
function trendStart(room, now, min) {
  const tr = trends.get(room.room) || {};
  const first = Math.min(...Object.values(tr).map(a => a.length ? a[0][0] : Infinity));
  const start = startedT(room) ?? (isFinite(first) ? first : now - min);
  return Math.max(Math.min(start, now - min), now - 2 * 3600);
}

function pushTrend(roomId, ch, t, v) {
  if (v === null || v === undefined) return;
  let tr = trends.get(roomId);
  if (!tr) { tr = {}; trends.set(roomId, tr); }
  const arr = tr[ch] || (tr[ch] = []);
  if (arr.length && t <= arr[arr.length - 1][0]) {
    if (arr.some(p => p[0] === t)) return;
    arr.push([t, v]); arr.sort((a, b) => a[0] - b[0]);
  } else arr.push([t, v]);
  while (arr.length && arr[0][0] < t - TREND_KEEP_S) arr.shift();
}
function logAlarm(roomId, a) {
  let log = alarmLog.get(roomId);
  if (!log) { log = new Map(); alarmLog.set(roomId, log); }
  log.set(`${a.t}|${a.condition}|${a.state}`, a);
}

// -- stream messages ----------------------------------------------------------------------
let snapshots = 0;
function onMessage(msg) {
  if (msg.type === "snapshot") {
    // A reconnect may meet a restarted Vigil running other rules: its vocabulary anew (the
    // first snapshot follows the load at start).
    if (snapshots++) loadVocabulary();
    setZone(msg.timezone);
    rooms.clear();
    for (const r of msg.rooms) {
      rooms.set(r.room, normalise(r));
      for (const [ch, rd] of Object.entries(r.latest || {})) if (isValid(rd)) pushTrend(r.room, ch, rd.t, rd.value);
      for (const a of r.alarms || []) logAlarm(r.room, a);
      for (const a of r.history || []) if (a.condition) logAlarm(r.room, a);  // the core's last transitions
      loadHistory(r);
    }
    buildTiles();
  } else if (msg.type === "reading") {
    const r = rooms.get(msg.room);
    if (!r) return;
    (r.latest = r.latest || {})[msg.channel] = msg;
    if (isValid(msg)) pushTrend(msg.room, msg.channel, msg.t, msg.value);
    if (msg.t) clockOffset = msg.t - Date.now() / 1000;
  } else if (msg.type === "alarm") {
    const r = rooms.get(msg.room);
    if (!r) return;
    r.alarms = (r.alarms || []).filter(a => a.condition !== msg.condition);
    if (msg.state !== "cleared") r.alarms.push(msg);
    logAlarm(msg.room, msg);
  } else if (msg.type === "phase") {
    const r = rooms.get(msg.room);
    if (!r) return;
    r.phase = msg.phase;
    if (msg.phase === "dosed" && !doseT(r)) r.dose_t = msg.t;
    // The phase changes what the core derives (baseline, limits, session): fetch it anew.
    refreshRoom(msg.room);
  } else if (msg.type === "device") {
    const r = rooms.get(msg.room);
    if (r && Array.isArray(r.devices)) for (const d of r.devices) if (d.id === msg.source) { d.state = msg.state; d.detail = msg.detail; }
  } else if (msg.type === "room") {
    // A whole-room update: a room restored after a restart (monitor/restart.py).
    if (msg.room && rooms.has(msg.room)) rooms.set(msg.room, normalise({ ...rooms.get(msg.room), ...msg }));
  }
  queueRender();
}
function isValid(rd) { return rd && rd.value !== null && rd.value !== undefined && (!rd.status || rd.status.length === 0); }

async function refreshRoom(id) {
  try {
    const r = await fetch(`/api/rooms/${encodeURIComponent(id)}`, { credentials: "same-origin" });
    if (r.ok) { const room = await r.json(); rooms.set(id, normalise({ ...rooms.get(id), ...room })); queueRender(); }
  } catch (e) { /* the stream's own warning covers a dead server */ }
}

async function loadHistory(room) {
  const since = Math.min(startedT(room) ?? Infinity, serverNow() - 3600);
  try {
    const r = await fetch(`/api/rooms/${encodeURIComponent(room.room)}/history?since=${since}`, { credentials: "same-origin" });
    if (!r.ok) return;
    const h = await r.json();
    for (const [ch, pts] of Object.entries(h.trend || {})) for (const [t, v] of pts) pushTrend(room.room, ch, t, v);
    for (const a of h.alarms || []) logAlarm(room.room, { ...a, by: a.by || null, acknowledged_by: a.acknowledged_by || null });
    queueRender();
  } catch (e) { /* history is a nicety; live values still show */ }
}

