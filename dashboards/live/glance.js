// At a glance (issue #13): what a tile says about its room without opening it.
// - which rule each limit is ("SpO₂ low < 90 · drop ≥ 4 below baseline (93)"), worded as the
//   alarm text words it, so the tile and the alarm never seem to disagree;
// - the out-of-range value coloured by the priority of its alarm;
// - a room whose alarm was acknowledged but is still present stays coloured ("acked");
// - "alarm earlier this session" once the room has had one;
// - on a phone, the rooms that alarm sort first (a desk keeps its fixed layout).
// Uses helpers of vocab.js, helpers.js and state.js (label, fmt, RANK, IN_SESSION, ...).
"use strict";

const PHONE_QUERY = window.matchMedia("(max-width: 600px)");
const RELATIVE_WORD = { "<": "drop", "<=": "drop", ">": "rise", ">=": "rise" };
const COMPARATOR = { "<": "<", "<=": "≤", ">": ">", ">=": "≥" };
const comp = c => COMPARATOR[c] || c;

// The limit rows of a channel that are in force: {condition, comparator, limit, relative, priority}.
function limitRules(room, ch) {
  const out = [];
  for (const [condition, rows] of Object.entries(room.limits || {})) {
    if (!Array.isArray(rows)) continue;
    for (const r of rows) if (r.channel === ch && r.limit != null) out.push({ condition, ...r });
  }
  return out;
}
const lower = r => r.comparator[0] === "<";

// One rule in words. Absolute: "SpO₂ low < 90". Relative: "drop ≥ 4 below baseline (93)".
function ruleWords(r, base, withName = true) {
  if (r.relative && typeof base === "number") {
    const delta = Math.abs(base - r.limit);
    return `${RELATIVE_WORD[r.comparator] || "change"} ≥ ${fmt(delta)} ${lower(r) ? "below" : "over"} baseline (${fmt(r.limit)})`;
  }
  return `${withName ? label(r.condition) + " " : ""}${comp(r.comparator)} ${fmt(r.limit)}`;
}

// The tile's limit label: per direction, the narrowest absolute rule (the first to alarm;
// the severe ones beyond it add nothing at a glance) and the rule relative to the baseline.
function limitText(room, ch, base) {
  const rules = limitRules(room, ch);
  const parts = [];
  for (const low of [true, false]) {
    const side = rules.filter(r => lower(r) === low);
    const abs = side.filter(r => !r.relative).sort((a, b) => low ? b.limit - a.limit : a.limit - b.limit)[0];
    if (abs) parts.push(ruleWords(abs, base));
    for (const r of side.filter(r => r.relative)) parts.push(ruleWords(r, base));
  }
  return parts.join(" · ");
}

// The BP column is narrow: per channel and direction only the limit that alarms first, and
// when it is the baseline-relative one, which rise or drop it is ("SBP ≥ 150 (rise ≥ 30)").
function bpLimitText(room, ch, base) {
  const parts = [];
  for (const low of [true, false]) {
    const side = limitRules(room, ch).filter(r => lower(r) === low)
      .sort((a, b) => (low ? b.limit - a.limit : a.limit - b.limit) || a.relative - b.relative);
    const r = side[0];
    if (!r) continue;
    const rel = r.relative && typeof base === "number";
    parts.push(`${comp(r.comparator)} ${fmt(r.limit)}` +
      (rel ? ` (${RELATIVE_WORD[r.comparator]} ≥ ${fmt(Math.abs(base - r.limit))})` : ""));
  }
  return parts.length ? `${label(ch)} ${parts.join(" · ")}` : "";
}

// The limit part of an alarm's text, in the tile label's words: "< 90", "< 93 (drop ≥ 4
// below baseline 97)". The comparator comes from the room's rule for that condition.
function alarmLimitText(room, a) {
  if (a.limit == null) return "";
  const rule = (room && limitRules(room, a.channel).find(r => r.condition === a.condition)) || null;
  let text = `${rule ? comp(rule.comparator) : "limit"} ${fmt(a.limit)}`;
  if (a.baseline != null && rule && rule.relative) {
    text += ` (${RELATIVE_WORD[rule.comparator] || "change"} ≥ ${fmt(Math.abs(a.baseline - a.limit))} ${lower(rule) ? "below" : "over"} baseline ${fmt(a.baseline)})`;
  }
  return text;
}

function presentPhys(room) { return (room.alarms || []).filter(a => a.kind !== "technical"); }
function topPriority(list) {
  return list.reduce((best, a) => (RANK[a.priority] || 0) > (RANK[best] || 0) ? a.priority : best, null);
}

// The tile's colour: "alarm-<prio>" while an alarm waits for acknowledgement (flashing),
// "acked-<prio>" while an acknowledged condition is still present (steady, still coloured).
function tileAlarmClass(room) {
  const phys = presentPhys(room);
  const unackedTop = topPriority(phys.filter(unacked));
  if (unackedTop) return "alarm-" + unackedTop;
  const ackedTop = topPriority(phys.filter(a => a.state === "acknowledged"));
  return ackedTop ? "acked-" + ackedTop : "";
}
const TILE_CLASSES = ["alarm-high", "alarm-medium", "alarm-low", "acked-high", "acked-medium", "acked-low"];

// "out-<prio>" when a value is beyond its limit band: the priority of that channel's alarm,
// or "out-pending" while the alarm's delay runs (beyond the limit, not alarming yet).
function outClass(room, channels, value, lim) {
  if (value == null || !lim) return "";
  const out = (lim.low != null && value < lim.low) || (lim.high != null && value > lim.high);
  if (!out) return "";
  const prio = topPriority(presentPhys(room).filter(a => channels.includes(a.channel)));
  return prio ? "out-" + prio : "out-pending";
}
const OUT_CLASSES = ["out", "out-high", "out-medium", "out-low", "out-pending"];
function setOut(e, cls) {
  for (const c of OUT_CLASSES) e.classList.toggle(c, c === cls || (c === "out" && !!cls));
}

// The first physiological alarm of this session that is no longer present, for the tile:
// a room that alarmed and calmed down still says so until the session ends.
function earlierAlarm(room, log) {
  const start = startedT(room);
  if (start == null || !IN_SESSION.has(room.phase)) return null;  // served phases (vocab.js)
  const now = new Set(presentPhys(room).map(a => a.condition));
  let first = null;
  for (const a of log) {
    if (a.kind === "technical" || a.state !== "active" || onset(a) < start || now.has(a.condition)) continue;
    if (!first || onset(a) < onset(first)) first = a;
  }
  return first;
}

// Phone: alarming rooms first (unacknowledged by priority, then acknowledged, then technical).
function tileRank(room) {
  const phys = presentPhys(room);
  const un = topPriority(phys.filter(unacked));
  if (un) return 3 - RANK[un];  // 0 high, 1 medium, 2 low
  if (phys.length) return 3;
  if ((room.alarms || []).some(a => a.kind === "technical" && unacked(a))) return 4;
  return 5;
}
function orderTiles(list) {
  const phone = PHONE_QUERY.matches;
  for (const { root, room } of list) {
    const order = phone ? String(tileRank(room)) : "";
    if (root.style.order !== order) root.style.order = order;
  }
}
PHONE_QUERY.addEventListener("change", () => { if (typeof queueRender === "function") queueRender(); });
