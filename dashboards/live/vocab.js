// The page's vocabulary, served by Vigil (GET /api/vocabulary, monitor/vocabulary.py): condition
// labels and kinds, priorities in rank order, roles, session phases, channel names and units, and
// the clinic's timings. The page keeps no copy of Python's tables: the ones below start empty
// and are filled from the server before the stream connects (stream.js), and again after every
// reconnect (a restarted Vigil may run other rules).
"use strict";

let vocab = null;                  // the last vocabulary served
const ICON = {};                   // priority -> ▲ per rank
const RANK = {};                   // priority -> 1 (lowest) ...
const ROLE_RANK = {};              // role -> 0 (fewest rights) ...
const IN_SESSION = new Set();      // phases of a running session
const POST_DOSE_PHASES = new Set();
const PHASE_WORDS = {};            // phase -> how a control that does not apply names it

function applyVocabulary(v) {
  vocab = v;
  for (const t of [ICON, RANK, ROLE_RANK, PHASE_WORDS]) for (const k of Object.keys(t)) delete t[k];
  v.priorities.forEach((p, i) => { RANK[p] = i + 1; ICON[p] = "▲".repeat(i + 1); });
  v.roles.forEach((r, i) => { ROLE_RANK[r] = i; });
  IN_SESSION.clear(); for (const p of v.phases.in_session) IN_SESSION.add(p);
  POST_DOSE_PHASES.clear(); for (const p of v.phases.post_dose) POST_DOSE_PHASES.add(p);
  Object.assign(PHASE_WORDS, v.phases.words);
}

// Resolves true once the vocabulary is in; false when Vigil cannot be reached (or signed out).
async function loadVocabulary() {
  try {
    const r = await fetch("/api/vocabulary", { credentials: "same-origin" });
    if (!r.ok) return false;
    applyVocabulary(await r.json());
    if (typeof queueRender === "function") queueRender();
    return true;
  } catch (e) { return false; }
}

// A condition's or channel's words; an id the server did not name reads as itself.
function label(k) {
  const v = vocab || { conditions: {}, channels: {} };
  return (v.conditions[k] || v.channels[k] || {}).label || String(k).replace(/_/g, " ");
}
// A clinic-set timing in seconds (see monitor/vocabulary.py "timing").
function timing(name) { return vocab.timing[name]; }
// A channel with its unit, as columns and plots name it ("SpO₂ %", "EtCO₂ mmHg").
function channelName(ch) {
  const c = vocab.channels[ch] || { label: label(ch), unit: "" };
  return c.unit ? `${c.label} ${c.unit}` : c.label;
}
