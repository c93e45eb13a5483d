// Vigil live dashboard: state from the SSE stream, one tile per room, a room detail view.
// The page must never look alive when it is not: heartbeats arrive every second; when the
// stream errors or they stop for STALE_MS, a red NOT LIVE bar covers the top of the page, the
// tiles are struck through and a technical tone sounds.
// Room state comes from the core's snapshot (see normalise()) and the live stream.
"use strict";

const STALE_MS = 3000;
// The audio pause lasts what the clinic set (`audio_pause_s`, in each room's snapshot);
// 120 s (IEC 60601-1-8 practice) only until the first snapshot arrives.
const DEFAULT_PAUSE_S = 120;
const pauseS = room => room.audio_pause_s ?? DEFAULT_PAUSE_S;
const ICON = { high: "▲▲▲", medium: "▲▲", low: "▲" };
const RANK = { high: 3, medium: 2, low: 1 };
const SOUNDING = new Set(["active", "escalated", "resolved"]);
const ROLE_RANK = { viewer: 0, nurse: 1, clinician: 2, admin: 3 };
const LABEL = {
  spo2: "SpO₂", pulse_rate: "Pulse", sbp: "SBP", dbp: "DBP", map: "MAP",
  spo2_low: "SpO₂ low", spo2_severe: "SpO₂ very low", spo2_drop: "SpO₂ below baseline",
  bp_severe: "BP severely high", bp_rise: "BP rise over baseline", bp_high: "BP high",
  map_rise: "MAP rise", bp_low: "BP low", hr_high: "Pulse high", hr_severe_high: "Pulse very high",
  hr_low: "Pulse low", hr_severe_low: "Pulse very low",
  resp_rate: "RR", etco2: "EtCO₂", apnea: "Apnea", resp_rate_low: "Resp. rate low",
  resp_rate_high: "Resp. rate high", etco2_high: "EtCO₂ high", etco2_rise: "EtCO₂ rise over baseline",
  etco2_low: "EtCO₂ low", resp_stale: "No respiration data",
};
const TREND_KEEP_S = 4 * 3600;

const rooms = new Map();       // room id -> snapshot object, kept current by stream messages
const trends = new Map();      // room id -> {channel: [[t, v], ...]}
const alarmLog = new Map();    // room id -> Map(key -> alarm transition)
const tiles = new Map();       // room id -> tile elements
const seenLow = new Set();
let me = { username: "", role: "viewer" };
let source = null;
let lastBeat = 0;
let lastConnect = 0;
let linkUp = false;
let clockOffset = 0;           // server time - local time, seconds
let renderQueued = false;
const audio = new AlarmAudio();

// -- small helpers ------------------------------------------------------------------------
const $ = id => document.getElementById(id);
const serverNow = () => Date.now() / 1000 + clockOffset;
const label = k => LABEL[k] || String(k).replace(/_/g, " ");
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
function pauseLabel(room) {
  const s = pauseS(room);
  return `Pause audio ${s % 60 ? dur(s) : s / 60 + " min"}`;
}
function can(role) { return ROLE_RANK[me.role] >= ROLE_RANK[role]; }
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

// -- stream -------------------------------------------------------------------------------
function onMessage(msg) {
  if (msg.type === "snapshot") {
    setZone(msg.timezone);
    rooms.clear();
    for (const r of msg.rooms) {
      rooms.set(r.room, normalise(r));
      for (const [ch, rd] of Object.entries(r.latest || {})) if (isValid(rd)) pushTrend(r.room, ch, rd.t, rd.value);
      for (const a of r.alarms || []) logAlarm(r.room, a);
      if (Array.isArray(r.history)) for (const a of r.history) if (a && a.condition) logAlarm(r.room, a);
      if (r.history && !Array.isArray(r.history) && typeof r.history === "object") {
        // {alarms: [...]} and/or {channel: [[t, v], ...]}: take what is there.
        for (const [k, v] of Object.entries(r.history)) {
          if (!Array.isArray(v)) continue;
          for (const p of v) {
            if (Array.isArray(p) && p.length >= 2) pushTrend(r.room, k, p[0], p[1]);
            else if (p && p.condition) logAlarm(r.room, p);
          }
        }
      }
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
    // A whole-room update, if the runtime sends one.
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

function setLink(up, text) {
  linkUp = up;
  document.body.dataset.link = up ? "up" : "down";
  const link = $("link");
  link.className = up ? "link-up" : "link-down";
  setText(link, up ? "● Live" : "✖ NOT LIVE");
  if (!up) setText($("stale-text"), text);
  updateAudio();
}

function connect() {
  lastConnect = Date.now();
  if (source) source.close();
  // `?rooms=A,B` in the page's address: watch those rooms only (the stream sends no others).
  const watched = new URLSearchParams(location.search).get("rooms");
  source = new EventSource(watched ? "/api/stream?rooms=" + encodeURIComponent(watched) : "/api/stream");
  for (const type of ["snapshot", "reading", "alarm", "phase", "device", "heartbeat", "room"]) {
    source.addEventListener(type, ev => {
      lastBeat = Date.now();
      const msg = JSON.parse(ev.data);
      if (type === "heartbeat") { if (msg.t) clockOffset = msg.t - Date.now() / 1000; }
      if (!linkUp) setLink(true, "");
      if (type !== "heartbeat") onMessage(msg);
    });
  }
  source.onerror = async () => {
    setLink(false, "connection to Vigil lost. Values on this page are OUT OF DATE. Reconnecting…");
    // A closed stream may mean the login expired: check, and go to the login page if so.
    try {
      const r = await fetch("/api/auth/me", { credentials: "same-origin" });
      if (r.status === 401) location.replace("/login?next=" + encodeURIComponent(location.pathname + location.search + location.hash));
    } catch (e) { /* server down: keep retrying */ }
  };
}

setInterval(() => {
  const silent = Date.now() - lastBeat;
  if (silent > STALE_MS) {
    setLink(false, lastBeat ? `no data from Vigil for ${Math.round(silent / 1000)} s. Values on this page are OUT OF DATE. Reconnecting…`
                            : "no data from Vigil yet. Connecting…");
    // EventSource retries by itself after an error; a stream that is open but silent (a
    // frozen server or proxy) it would keep forever, so we replace it.
    const closed = !source || source.readyState === EventSource.CLOSED;
    if ((closed || silent > 3 * STALE_MS) && Date.now() - lastConnect > 3 * STALE_MS) { lastConnect = Date.now(); connect(); }
  }
  queueRender();  // ages and countdowns move on
}, 1000);
// Snapshot-only keys (derived baseline, limits, next BP due) change without a stream message.
setInterval(() => { if (linkUp) for (const id of rooms.keys()) refreshRoom(id); }, 5000);

// -- audio: the loudest unacknowledged alarm not under a pause ------------------------------
function updateAudio() {
  let level = 0, lowOnset = false;
  const now = serverNow();
  for (const r of rooms.values()) {
    const alarms = (r.alarms || []).filter(unacked);
    const until = r.audio_paused_until;
    const paused = until && until > now;
    const pauseStart = paused ? until - pauseS(r) : 0;
    // A pause silences what was sounding; a new alarm of higher priority sounds through it.
    const pausedRank = paused ? Math.max(0, ...alarms.filter(a => onset(a) <= pauseStart).map(a => RANK[a.priority] || 0)) : 0;
    for (const a of alarms) {
      const rank = RANK[a.priority] || 0;
      if (paused && (onset(a) <= pauseStart || rank <= pausedRank)) continue;
      level = Math.max(level, rank);
      const key = `${r.room}|${a.condition}|${onset(a)}`;
      if (a.priority === "low" && !seenLow.has(key)) { seenLow.add(key); lowOnset = true; }
    }
  }
  const name = level === 3 ? "high" : level === 2 ? "medium" : level === 1 ? "low" : (!linkUp && lastBeat ? "technical" : "off");
  audio.set(name, lowOnset);
  // After a reload the browser keeps audio blocked until a click or key: a bar across the
  // screen says so for as long as it lasts, not a small button a nurse may never notice.
  const btn = $("sound");
  btn.hidden = !audio.blocked;
  document.body.classList.toggle("sound-blocked", audio.blocked);
}
setText($("sound"), "✖ SOUND IS BLOCKED — alarms are silent on this screen. Click here or anywhere to enable sound.");
$("sound").addEventListener("click", async () => { await audio.enable(); updateAudio(); });
for (const type of ["pointerdown", "keydown"]) {
  document.addEventListener(type, async () => { if (audio.blocked) { await audio.enable(); updateAudio(); } });
}

// -- actions ------------------------------------------------------------------------------
async function send(roomId, event, args = {}) {
  try {
    const r = await fetch(`/api/rooms/${encodeURIComponent(roomId)}/events`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ event, args }),
    });
    if (r.ok) {
      // 200: the core applied it ("ok" or "ok: <what it did>"); 202: queued, not applied yet.
      const body = await r.json().catch(() => ({}));
      const said = r.status === 202 ? "queued" : (body.outcome && body.outcome !== "ok" ? body.outcome : "done");
      toast(`${label(event)}: ${said} (${me.username})`);
      // The room's derived state (pause, session, baseline) is in its snapshot: fetch it.
      setTimeout(() => refreshRoom(roomId), 300);
      return true;
    }
    const body = await r.json().catch(() => ({}));
    toast(`${label(event)} refused: ${typeof body.detail === "string" ? body.detail : r.status}`, true);
  } catch (e) {
    toast(`${label(event)} NOT sent: Vigil is not reachable`, true);
  }
  return false;
}

document.addEventListener("click", ev => {
  const b = ev.target.closest("button[data-action]");
  if (!b) return;
  ev.preventDefault();
  if (b.dataset.action === "ack") send(b.dataset.room, "ack", { condition: b.dataset.condition });
  else if (b.dataset.action === "pause") send(b.dataset.room, "audio_pause", {});
});

// -- tiles --------------------------------------------------------------------------------
function buildTiles() {
  const main = $("rooms");
  for (const id of [...tiles.keys()]) if (!rooms.has(id)) { tiles.get(id).root.remove(); tiles.delete(id); }
  for (const room of rooms.values()) {
    if (tiles.has(room.room)) continue;
    const root = el("section", "room");
    root.dataset.room = room.room;
    root.innerHTML = `
      <div class="room-head"><h2 class="name"></h2><span class="phase"></span><span class="session"></span></div>
      <ul class="alarms" aria-label="Alarms"></ul>
      <div class="tile-flags" hidden></div>
      <div class="vitals">
        <div class="vital v-spo2"><div class="label">SpO₂ %</div><div class="value" data-channel="spo2"></div><div class="base"></div><div class="flags"></div></div>
        <div class="vital v-pulse"><div class="label">Pulse bpm</div><div class="value" data-channel="pulse_rate"></div><div class="base"></div><div class="flags"></div></div>
        <div class="vital v-bp"><div class="label">BP mmHg</div><div class="value bp" data-channel="bp"></div><div class="age"></div><div class="base"></div></div>
        <div class="vital v-resp" hidden><div class="label">RR /min · EtCO₂ mmHg</div><div class="value resp" data-channel="resp"></div><div class="base"></div></div>
      </div>
      <canvas class="spark" aria-label="SpO2 trend this session"></canvas>
      <div class="meta"><span class="dose"></span><span class="next-bp"></span><span class="paused"></span><span class="earlier"></span></div>
      <ul class="tech" aria-label="Technical alarms and devices"></ul>
      <div class="tile-actions">
        <button type="button" data-action="pause" data-role="nurse" class="pause">Pause audio</button>
        <a class="details" href="#room/${encodeURIComponent(room.room)}">Details and session ›</a>
      </div>`;
    root.querySelector("[data-action=pause]").dataset.room = room.room;
    const q = s => root.querySelector(s);
    tiles.set(room.room, {
      root, name: q(".name"), phase: q(".phase"), session: q(".session"), alarms: q(".alarms"),
      spo2: q(".v-spo2"), pulse: q(".v-pulse"), bp: q(".v-bp"), spark: q(".spark"), dose: q(".dose"),
      nextBp: q(".next-bp"), paused: q(".paused"), earlier: q(".earlier"), tech: q(".tech"), alarmsKey: "", techKey: "",
    });
    main.append(root);
  }
  applyRoles();
}

function alarmItem(roomId, a, withButton) {
  const room = rooms.get(roomId);
  const li = el("li", `alarm ${a.priority} state-${a.state}`);
  li.dataset.condition = a.condition;
  li.dataset.state = a.state;
  const tech = isTechnical(a);
  li.append(el("span", "icon", tech ? "⚙" : ICON[a.priority] || "▲"));
  li.append(el("b", "prio", (tech ? "TECHNICAL " : "") + String(a.priority).toUpperCase()));
  let text = ` ${label(a.condition)}`;
  if (a.value !== null && a.value !== undefined && !isFlag(a)) text += ` ${fmt(a.value)}` + (a.limit != null ? ` ${alarmLimitText(room, a)}` : "");
  if (a.worst !== null && a.worst !== undefined && !isFlag(a) && fmt(a.worst) !== fmt(a.value)) text += ` · worst ${fmt(a.worst)}`;
  text += ` · since ${clock(onset(a))}`;
  if (a.tier > 1) text += ` · escalated to tier ${a.tier}`;
  li.append(el("span", "what", text));
  if (a.state === "acknowledged") li.append(el("span", "acked", ` ✔ acknowledged by ${a.by || "?"} at ${clock(a.t)}`));
  else if (a.state === "resolved") li.append(el("span", "resolved", " (condition over, acknowledge to clear)"));
  if (withButton && unacked(a)) {
    const b = el("button", "ack", "✔ Acknowledge");
    b.type = "button";
    b.dataset.action = "ack"; b.dataset.room = roomId; b.dataset.condition = a.condition; b.dataset.role = "nurse";
    li.append(b);
  }
  return li;
}

function sortAlarms(list) {
  return [...list].sort((a, b) => (unacked(b) - unacked(a)) || (RANK[b.priority] - RANK[a.priority]) || (onset(a) - onset(b)));
}

function renderTile(room) {
  const t = tiles.get(room.room);
  if (!t) return;
  const now = serverNow();
  setText(t.name, room.name || room.room);
  setText(t.phase, String(room.phase || "idle").replace(/_/g, " "));
  t.phase.dataset.phase = room.phase || "idle";
  const s = session(room);
  setText(t.session, s.pseudonym ? `Patient ${s.pseudonym}` : "");
  const alarms = sortAlarms(room.alarms || []);
  const phys = alarms.filter(a => !isTechnical(a));
  const tech = alarms.filter(isTechnical);
  const cls = tileAlarmClass(room);  // glance.js: acknowledged but present stays coloured
  for (const c of TILE_CLASSES) t.root.classList.toggle(c, c === cls);
  const key = JSON.stringify(phys.map(a => [a.condition, a.state, a.t, a.value, a.by, a.tier])) + me.role;
  if (key !== t.alarmsKey) {
    t.alarmsKey = key;
    t.alarms.replaceChildren(...phys.map(a => alarmItem(room.room, a, true)));
  }
  if (typeof renderTileFlags === "function") renderTileFlags(t.root.querySelector(".tile-flags"), room);
  if (typeof renderRespTile === "function") renderRespTile(t.root.querySelector(".v-resp"), room);  // resp.js
  const b = baseline(room);
  vital(room, t.spo2, "spo2", b.spo2);
  vital(room, t.pulse, "pulse_rate", b.pulse_rate);
  const sbp = latest(room, "sbp"), dbp = latest(room, "dbp"), map = latest(room, "map");
  const bpv = t.bp.querySelector(".value");
  setText(bpv, sbp && sbp.value != null ? `${fmt(sbp.value)}/${fmt(dbp?.value)}` + (map?.value != null ? ` (${fmt(map.value)})` : "") : "—");
  setText(t.bp.querySelector(".age"), sbp ? `measured ${ago(sbp.t)}` : "no BP yet");
  // Coloured only when out of range (a normal BP is not red); by the worse of SBP and DBP.
  const sbpOut = outClass(room, ["sbp"], sbp?.value, limitsFor(room, "sbp"));
  const dbpOut = outClass(room, ["dbp"], dbp?.value, limitsFor(room, "dbp"));
  setOut(bpv, isValid(sbp) ? (sbpOut || dbpOut) : "");
  const bpLim = ["sbp", "dbp"].map(ch => bpLimitText(room, ch, b[ch])).filter(Boolean);
  setText(t.bp.querySelector(".base"), [b.sbp != null ? `baseline ${fmt(b.sbp)}/${fmt(b.dbp)}` : "baseline —", ...bpLim].join(" · "));
  // Nothing runs in a room whose session is over (or not started): no dose clock, no BP due.
  const running = POST_DOSE_PHASES.has(room.phase);
  const dt = running ? doseT(room) : null;
  const topUp = running && (session(room).doses || []).length > 1;  // a top-up: its own clock
  const last = topUp ? session(room).last_dose_t : null;
  setText(t.dose, dt ? `Dose +${dur(now - dt)}` + (last && last !== dt ? ` · top-up +${dur(now - last)}` : "")
                     : (room.phase === "pre_dose" ? "Before dose" : ""));
  const earlier = earlierAlarm(room, (alarmLog.get(room.room) || new Map()).values());
  setText(t.earlier, earlier ? `⚑ Alarm earlier this session: ${label(earlier.condition)} at ${clock(onset(earlier))}` : "");
  if (running && room.next_bp_due_t) {
    const left = room.next_bp_due_t - now;
    setText(t.nextBp, left >= 0 ? `next BP in ${dur(left)}` : `⚠ BP overdue by ${dur(-left)}`);
    t.nextBp.classList.toggle("overdue", left < 0);
  } else setText(t.nextBp, "");
  const pausedLeft = room.audio_paused_until ? room.audio_paused_until - now : 0;
  setText(t.paused, pausedLeft > 0 ? `Audio paused ${dur(pausedLeft)}` : "");
  setText(t.root.querySelector("button.pause"), pauseLabel(room));
  const devs = Array.isArray(room.devices) ? room.devices : [];
  const techKey = JSON.stringify([tech.map(a => [a.condition, a.state, a.t, a.by]), devs.map(d => [d.id, d.state, d.detail]), me.role]);
  if (techKey !== t.techKey) {
    t.techKey = techKey;
    const items = tech.map(a => alarmItem(room.room, a, true));
    for (const d of devs) {
      const li = el("li", "device " + (d.state === "connected" ? "ok" : "down"),
        `${d.state === "connected" ? "✔" : "⚙ ✖"} ${d.id}: ${d.state}${d.simulated ? " (simulated)" : ""}`);
      // Why it is down (e.g. "open failed: … No such file or directory: '/dev/ttyUSB9'").
      if (d.state !== "connected" && d.detail) li.append(el("span", "why", ` — ${d.detail}`));
      items.push(li);
    }
    t.tech.replaceChildren(...items);
  }
  drawTrend(t.spark, {
    compact: true, t0: trendStart(room, now, 120), t1: now, minSpan: 6,
    series: [{ points: (trends.get(room.room) || {}).spo2 || [], color: "#4fc3f7" }],
    baseline: b.spo2 ?? undefined, band: limitsFor(room, "spo2"),
    marks: dt ? [{ t: dt, color: "#b388ff", dash: true }] : [],
  });
}

function vital(room, box, ch, base) {
  const reading = latest(room, ch), lim = limitsFor(room, ch);
  const v = box.querySelector(".value");
  const valid = isValid(reading);
  setText(v, reading && reading.value != null ? fmt(reading.value) : "—");
  v.classList.toggle("invalid", !valid);
  setOut(v, valid ? outClass(room, [ch], reading.value, lim) : "");
  let text = `baseline ${fmt(base)}`;
  const rules = limitText(room, ch, base);  // which rule is which, as the alarm says it
  if (rules) text += ` · ${rules}`;
  setText(box.querySelector(".base"), text);
  setText(box.querySelector(".flags"), reading && reading.status && reading.status.length ? "⚠ " + reading.status.join(", ").replace(/_/g, " ") : "");
}

function renderBanners() {
  const phys = [], tech = [];
  for (const r of rooms.values()) for (const a of r.alarms || []) {
    if (!unacked(a)) continue;
    (isTechnical(a) ? tech : phys).push({ room: r, a });
  }
  for (const r of rooms.values()) for (const d of (Array.isArray(r.devices) ? r.devices : [])) {
    if (d.state !== "connected") tech.push({ room: r, device: d });
  }
  const banner = $("banner");
  phys.sort((x, y) => RANK[y.a.priority] - RANK[x.a.priority] || onset(x.a) - onset(y.a));
  if (phys.length) {
    const { room, a } = phys[0];
    const key = JSON.stringify(phys.map(p => [p.room.room, p.a.condition, p.a.state, p.a.value]));
    if (banner.dataset.key !== key) {
      banner.dataset.key = key;
      banner.className = "banner " + a.priority;
      banner.dataset.priority = a.priority;
      const text = `${ICON[a.priority]} ${a.priority.toUpperCase()} — ${room.name || room.room}: ${label(a.condition)}` +
        (a.value != null && !isFlag(a) ? ` ${fmt(a.value)}` : "") + (phys.length > 1 ? ` · and ${phys.length - 1} more` : "") +
        (room.audio_paused_until > serverNow() ? " · audio paused" : "");
      const btn = el("button", "ack", "✔ Acknowledge");
      btn.type = "button";
      btn.dataset.action = "ack"; btn.dataset.room = room.room; btn.dataset.condition = a.condition; btn.dataset.role = "nurse";
      banner.replaceChildren(el("span", "text", text), btn);
      applyRoles();
    }
    banner.hidden = false;
  } else { banner.hidden = true; banner.dataset.key = ""; }
  const tb = $("tech");
  if (tech.length) {
    // With the reason, so whoever reads it knows what to fix (cable, port, storage, paging).
    const why = r => r ? ` (${r})` : "";
    setText(tb, "⚙ TECHNICAL — " + tech.map(x => x.device
      ? `${x.room.name || x.room.room}: ${x.device.id} ${x.device.state}${why(x.device.detail)}`
      : `${x.room.name || x.room.room}: ${label(x.a.condition)}${why(x.a.reason)}`).join(" · "));
    tb.hidden = false;
  } else tb.hidden = true;
}

// -- detail view --------------------------------------------------------------------------
function detailId() {
  const m = location.hash.match(/^#room\/(.+)$/);
  if (m) return decodeURIComponent(m[1]);
  return new URLSearchParams(location.search).get("room");
}

function renderDetail() {
  const id = detailId();
  const room = id && rooms.get(id);
  $("detail").hidden = !room;
  $("rooms").hidden = !!room;
  document.body.dataset.view = room ? "detail" : "rooms";
  if (!room) return;
  const now = serverNow();
  setText($("detail-title"), room.name || room.room);
  setText($("detail-phase"), String(room.phase || "idle").replace(/_/g, " "));
  const alarms = sortAlarms(room.alarms || []);
  const key = JSON.stringify(alarms.map(a => [a.condition, a.state, a.t, a.by])) + me.role;
  const box = $("detail-alarms");
  if (box.dataset.key !== key) {
    box.dataset.key = key;
    const ul = el("ul", "alarms");
    ul.append(...alarms.map(a => alarmItem(room.room, a, true)));
    const pause = el("button", "pause", pauseLabel(room));
    pause.type = "button"; pause.dataset.action = "pause"; pause.dataset.room = room.room; pause.dataset.role = "nurse";
    box.replaceChildren(alarms.length ? ul : el("p", "calm", "✔ No active alarms in this room."), pause);
    applyRoles();
  }
  const s = session(room), b = baseline(room), dt = doseT(room);
  let st = `Phase: ${String(room.phase || "idle").replace(/_/g, " ")}.`;
  if (s.pseudonym) st += ` Patient ${s.pseudonym}.`;
  if (startedT(room)) st += ` Started ${clock(startedT(room))}.`;
  // Every dose with its route and amount; a running clock only while the session runs.
  const doses = s.doses && s.doses.length ? s.doses : (dt ? [{ t: dt, by: s.dose_by }] : []);
  if (doses.length) {
    st += " " + doses.map((d, i) => `${i ? "Top-up" : "Dose"} at ${clock(d.t)}` +
      [d.route, d.amount_mg != null ? `${fmt(d.amount_mg, d.amount_mg % 1 ? 1 : 0)} mg` : null].filter(Boolean).map(x => " " + x).join("") +
      (d.by ? ` by ${d.by}` : "")).join("; ") + ".";
    const lastT = doses[doses.length - 1].t;
    if (POST_DOSE_PHASES.has(room.phase)) st += ` ${doses.length > 1 ? "Last dose" : "Dose"} ${dur(now - lastT)} ago.`;
  } else st += " No dose marked.";
  if (s.ended_t) st += ` Ended at ${clock(s.ended_t)} by ${s.ended_by || "?"}.`;
  setText($("session-status"), st);
  const sbp = latest(room, "sbp"), dbp = latest(room, "dbp");
  setText($("detail-now"), `Now: SpO₂ ${fmt(latest(room, "spo2")?.value)} %  ·  Pulse ${fmt(latest(room, "pulse_rate")?.value)} bpm  ·  ` +
    (sbp && sbp.value != null ? `BP ${fmt(sbp.value)}/${fmt(dbp?.value)} mmHg (${ago(sbp.t)})` : "BP —"));
  const log = [...(alarmLog.get(room.room) || new Map()).values()];
  const marks = [];
  if (dt) marks.push({ t: dt, color: "#b388ff", label: "dose", dash: true });
  let row = 0;
  for (const a of [...log].sort((x, y) => x.t - y.t)) {
    if (a.state !== "active") continue;
    // Stagger the labels over three rows so close alarms stay readable.
    marks.push({ t: a.t, color: a.priority === "high" ? "#ff5252" : a.priority === "medium" ? "#ffd740" : "#18ffff", label: label(a.condition), row: 1 + (row++ % 3) });
  }
  const tr = trends.get(room.room) || {};
  const t0 = trendStart(room, now, 120);
  drawTrend($("plot-spo2"), { title: "SpO₂ %", t0, t1: now, series: [{ points: tr.spo2 || [], color: "#4fc3f7" }], baseline: b.spo2 ?? undefined, band: limitsFor(room, "spo2"), marks, minSpan: 8 });
  drawTrend($("plot-pulse"), { title: "Pulse bpm", t0, t1: now, series: [{ points: tr.pulse_rate || [], color: "#69f0ae" }], baseline: b.pulse_rate ?? undefined, band: limitsFor(room, "pulse_rate"), marks, minSpan: 20 });
  // SBP and DBP each against their own band and baseline, in their own colour.
  const bpBand = (ch, rgb) => limitsFor(room, ch) && { ...limitsFor(room, ch), rgb };
  drawTrend($("plot-bp"), {
    title: "BP mmHg", t0, t1: now, minSpan: 40,
    series: [{ name: "SBP", points: tr.sbp || [], color: "#ff8a80", dots: true }, { name: "DBP", points: tr.dbp || [], color: "#ffab40", dots: true },
             { name: "MAP", points: tr.map || [], color: "#e0e0e0", dots: true }],
    baselines: [{ v: b.sbp, color: "#ff8a80", label: "SBP baseline" }, { v: b.dbp, color: "#ffab40", label: "DBP baseline" }],
    bands: [bpBand("sbp", "255, 138, 128"), bpBand("dbp", "255, 171, 64")].filter(Boolean), marks,
  });
  if (typeof renderRespDetail === "function") renderRespDetail(room, t0, now, marks);  // resp.js
  renderBaseline(room);
  if (typeof renderRecord === "function") renderRecord(room);  // record.js: notes, discharge, sessions
  const hkey = log.length + ":" + (log.length ? log[log.length - 1].t : 0);
  const body = $("history-body");
  if (body.dataset.key !== hkey) {
    body.dataset.key = hkey;
    log.sort((x, y) => y.t - x.t);
    body.replaceChildren(...log.slice(0, 200).map(a => {
      const tr = el("tr", `h-${a.priority}`);
      tr.append(el("td", "", clock(a.t)), el("td", "", (isTechnical(a) ? "⚙ " : "") + label(a.condition)),
        el("td", "", `${ICON[a.priority] || ""} ${a.priority}`), el("td", "", a.state + (a.tier > 1 ? ` (tier ${a.tier})` : "")), el("td", "by", attribution(a)));
      return tr;
    }));
  }
}

// Who acknowledged and how the alarm ended are separate facts (issue #13): an alarm that went
// away by itself after an ack reads "ended: resolved · acknowledged by X at T".
const ENDED = { resolved: "ended: resolved", acknowledged: "ended: acknowledged after it resolved", session_end: "ended: session ended" };
function attribution(a) {
  const parts = [];
  if (a.state === "cleared") parts.push((ENDED[a.ended] || "ended") + (a.ended === "session_end" && a.by ? ` by ${a.by}` : ""));
  if (a.acknowledged_by) parts.push(`acknowledged by ${a.acknowledged_by} at ${clock(a.acknowledged_t)}`);
  else if (a.by && a.state !== "cleared") parts.push(`by ${a.by}`);
  return parts.join(" · ");
}

function renderBaseline(room) {
  const b = baseline(room);
  const rows = [["spo2", "SpO₂ %"], ["pulse_rate", "Pulse bpm"], ["sbp", "SBP mmHg"], ["dbp", "DBP mmHg"], ["map", "MAP mmHg"]];
  if (b.etco2 != null || latest(room, "etco2")) rows.push(["etco2", "EtCO₂ mmHg"], ["resp_rate", "RR /min"]);
  const key = JSON.stringify([b, room.limit_band ?? null]);
  const view = $("baseline-view");
  if (view.dataset.key === key) return;
  view.dataset.key = key;
  const table = el("table", "baseline");
  table.append(el("tr"));
  table.firstChild.append(el("th", "", ""), el("th", "", "Baseline"), el("th", "", "Limits"));
  for (const [ch, name] of rows) {
    const lim = limitsFor(room, ch);
    const tr = el("tr");
    tr.append(el("td", "", name), el("td", "", fmt(b[ch])), el("td", "", fmtLimits(lim)));
    table.append(tr);
  }
  const notes = [];
  if (b.confirmed) notes.push(el("p", "ok", `✔ Confirmed by ${b.confirmed_by || "?"}`));
  else if (b.confirmed === false) {
    notes.push(el("p", "warn", room.phase === "pre_dose" ? "⚠ Not confirmed yet: check and confirm before the dose."
      : "⚠ Not confirmed: the limits relative to the baseline are off until a clinician confirms or enters one."));
  }
  if (b.pathological) notes.push(el("p", "warn", "⚠ Pathological baseline (" + b.refused.join(", ") + "): no relative limits derived; enter or confirm limits explicitly."));
  if (b.advisory) notes.push(el("p", "info", "ℹ Pre-dose advisory: " + b.advisory));
  view.replaceChildren(table, ...notes);
}

const IN_SESSION = new Set(["pre_dose", "dosed", "recovery", "discharge_ready"]);  // monitor/core/session.py
const POST_DOSE_PHASES = new Set(["dosed", "recovery", "discharge_ready"]);
function applyRoles() {
  for (const b of document.querySelectorAll("[data-role]")) {
    const ok = can(b.dataset.role);
    b.disabled = !ok;
    b.title = ok ? "" : `needs role ${b.dataset.role}`;
  }
  // Controls that do not apply in the room's phase are disabled, saying why (lifecycle.js).
  const room = rooms.get(detailId());
  if (room && typeof applyPhases === "function") applyPhases(room);
}

function render() {
  renderQueued = false;
  for (const room of rooms.values()) renderTile(room);
  orderTiles([...rooms.values()].filter(r => tiles.has(r.room)).map(r => ({ root: tiles.get(r.room).root, room: r })));
  renderBanners();
  renderDetail();
  applyRoles();  // buttons just built get the signed-in role's rights too
  updateAudio();
}
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
  setTimeout(() => { if (renderQueued) render(); }, 300);  // rAF pauses in background tabs
}
window.addEventListener("hashchange", () => { $("detail-alarms").dataset.key = ""; queueRender(); window.scrollTo(0, 0); });
window.addEventListener("resize", queueRender);

// -- session forms ------------------------------------------------------------------------
$("form-start").addEventListener("submit", async ev => {
  ev.preventDefault();
  if (await send(detailId(), "session_start", { pseudonym: $("pseudonym").value.trim() })) $("pseudonym").value = "";
});
$("btn-confirm").addEventListener("click", () => send(detailId(), "confirm_baseline"));
$("form-baseline").addEventListener("submit", async ev => {
  ev.preventDefault();
  const args = {};
  for (const input of ev.target.querySelectorAll("input")) if (input.value !== "") args[input.name] = Number(input.value);
  if (!Object.keys(args).length) { toast("Enter at least one baseline value to override", true); return; }
  if (await send(detailId(), "baseline", args)) ev.target.reset();
});
$("form-note").addEventListener("submit", async ev => {
  ev.preventDefault();
  if (await send(detailId(), "note", { text: $("note-text").value.trim() })) $("note-text").value = "";
});
$("logout").addEventListener("click", async () => {
  await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } }).catch(() => {});
  location.replace("/login");
});

async function start() {
  try {
    const r = await fetch("/api/auth/me", { credentials: "same-origin" });
    if (r.status === 401) { location.replace("/login?next=" + encodeURIComponent(location.pathname + location.search + location.hash)); return; }
    if (r.ok) me = await r.json();
  } catch (e) { /* the stream reports the link */ }
  setText($("who"), `${me.username} (${me.role})`);
  $("admin-link").hidden = !can("admin");  // the admin page: admin.html
  setZone(me.timezone);
  applyRoles();
  setLink(false, "connecting to Vigil…");
  connect();
}
start();
