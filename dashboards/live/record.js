// The room detail's session record: prominent baseline/advisory flags, the session's notes,
// the discharge checklist and the room's past sessions with links to their reports.
// Loaded after vigil.js and uses its helpers (el, setText, clock, session, detailId, ...);
// renderDetail() calls renderRecord(room) on every render, so everything here is keyed and
// rebuilt only when what it shows changes.
"use strict";

const DOSED_PHASES = new Set(["dosed", "recovery", "discharge_ready"]);
// The discharge criteria of clinical-defaults.md, in order; `match` finds the core's text for
// an unmet one in snapshot.discharge.unmet (that text carries the configured numbers).
const DISCHARGE_CRITERIA = [
  { label: "2 h since the dose", match: /since the dose|no dose marked/i },
  { label: "No active alarm", match: /^alarms present/i },
  { label: "Last two BP readings within 20 % of baseline or below 140/90", match: /BP readings/i },
  { label: "SpO₂ at target for the last 15 min", match: /^SpO2/i },
  { label: "Pulse rate within 20 % of baseline", match: /pulse rate/i },
];
const REPORT_FORMATS = [
  ["html", "HTML"], ["pdf", "PDF"], ["csv", "CSV"], ["fhir", "FHIR"], ["recording", "Recording"],
];
const SESSIONS_REFRESH_MS = 30000;
const sessionLists = { room: null, key: "", fetched: 0, busy: false };

function renderRecord(room) {
  renderFlags(room);
  renderNotes(room);
  renderDischarge(room);
  renderSessions(room);
}

// A refused (pathological) baseline and pre-dose advisories sit at the top of the detail view:
// they change what the limits mean, so nobody should have to find them in a panel.
function renderFlags(room) {
  const box = $("detail-flags");
  const refused = room.baseline_status === "refused";
  const reasons = room.baseline_refused || [];
  const advisories = room.advisories || [];
  const key = JSON.stringify([refused, reasons, advisories]);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const items = [];
  if (refused) {
    const f = el("div", "flag refused");
    f.append(el("strong", "", "⚠ BASELINE REFUSED (pathological)"),
      el("span", "", reasons.length ? ": " + reasons.join("; ") : ""),
      el("p", "", "No limits relative to this baseline are derived: only the absolute limits " +
        "alarm until a clinician enters a baseline or confirms the limits explicitly."));
    items.push(f);
  }
  for (const a of advisories) {
    const f = el("div", "flag advisory");
    f.append(el("strong", "", "ℹ PRE-DOSE ADVISORY"), el("span", "", ": " + a));
    items.push(f);
  }
  box.replaceChildren(...items);
  box.hidden = !items.length;
}

// On the tile: one line each, so the central station sees them without opening the room.
function renderTileFlags(box, room) {
  const refused = room.baseline_status === "refused";
  const advisories = room.advisories || [];
  const key = JSON.stringify([refused, advisories]);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const items = [];
  if (refused) items.push(el("div", "flag refused", "⚠ Baseline refused (pathological): absolute limits only"));
  if (advisories.length) items.push(el("div", "flag advisory", `ℹ Pre-dose advisory: ${advisories.join("; ")}`));
  box.replaceChildren(...items);
  box.hidden = !items.length;
}

function renderNotes(room) {
  const notes = session(room).notes || [];
  const list = $("notes-list");
  const key = JSON.stringify(notes);
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...[...notes].reverse().map(n => {
    const li = el("li", "note");
    li.append(el("span", "note-t", clock(n.t)), el("span", "note-by", n.by || "?"), el("span", "note-text", n.text));
    return li;
  }));
  if (!notes.length) list.append(el("li", "empty", "No notes in this session yet."));
}

// Which criteria stand between the patient and discharge, as a checklist: the clinician sees
// why the room is not ready, not only that it is not.
function renderDischarge(room) {
  const d = room.discharge || {};
  const phase = String(room.phase || "");
  const unmet = d.unmet || [];
  const key = JSON.stringify([phase, d.ready, unmet, d.reviewed_by, d.reviewed_t]);
  const list = $("discharge-checklist");
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  const status = $("discharge-status");
  status.className = "";
  if (d.reviewed_by) {
    setText(status, `✔ Discharge review recorded by ${d.reviewed_by} at ${clock(d.reviewed_t)}.`);
    status.className = "ok";
  } else if (d.ready) {
    setText(status, "✔ Every criterion met: ready for discharge review.");
    status.className = "ok";
  } else if (DOSED_PHASES.has(phase)) {
    setText(status, `✖ Not ready for discharge: ${unmet.length} of the criteria not met. ` +
      "The review can be recorded once every one is met.");
    status.className = "warn";
  } else {
    setText(status, "The discharge criteria are checked after the dose.");
  }
  if (!DOSED_PHASES.has(phase) && !d.reviewed_by) { list.replaceChildren(); list.hidden = true; return; }
  const left = [...unmet];
  const items = DISCHARGE_CRITERIA.map(c => {
    const i = left.findIndex(u => c.match.test(u));
    const text = i >= 0 ? left.splice(i, 1)[0] : null;
    return checkItem(text === null, c.label, text);
  });
  for (const text of left) items.push(checkItem(false, text, null));  // a criterion we do not know
  list.replaceChildren(...items);
  list.hidden = false;
}

function checkItem(met, labelText, why) {
  const li = el("li", met ? "met" : "unmet");
  li.dataset.met = String(met);
  li.append(el("span", "mark", met ? "✔" : "✖"), el("span", "what", labelText));
  if (why && why !== labelText) li.append(el("span", "why", why));
  li.setAttribute("aria-label", `${met ? "met" : "not met"}: ${why || labelText}`);
  return li;
}

// The room's sessions, newest first, each with its reports. Fetched when the detail view
// opens, when the room's session changes, and every 30 s while it stays open.
function renderSessions(room) {
  const s = session(room);
  const key = JSON.stringify([room.room, s.started_t, s.dose_t, s.ended_t, room.phase]);
  const stale = Date.now() - sessionLists.fetched > SESSIONS_REFRESH_MS;
  if (sessionLists.busy || (key === sessionLists.key && !stale)) return;
  sessionLists.key = key;
  loadSessions(room.room);
}

async function loadSessions(roomId) {
  sessionLists.busy = true;
  sessionLists.fetched = Date.now();
  const status = $("sessions-status");
  try {
    const r = await fetch(`/api/sessions?room=${encodeURIComponent(roomId)}`, { credentials: "same-origin" });
    // 404: a room the journal has never seen (no session yet).
    const list = r.status === 404 ? [] : r.ok ? await r.json() : null;
    if (list === null) { setText(status, `Sessions could not be loaded (${r.status}).`); return; }
    if (detailId() !== roomId) return;  // the user moved on
    list.sort((a, b) => b.started - a.started);
    $("sessions-body").replaceChildren(...list.map(sessionRow));
    setText(status, list.length ? "" : "No sessions recorded in this room yet.");
  } catch (e) {
    setText(status, "Sessions could not be loaded: Vigil is not reachable.");
  } finally {
    sessionLists.busy = false;
  }
}

function sessionRow(s) {
  const tr = el("tr", "session-row");
  tr.dataset.session = s.id;
  const day = zoneDay(s.started);  // the clinic's zone, year first: never ambiguous
  const links = el("td", "reports");
  for (const [fmtName, text] of REPORT_FORMATS) {
    const a = el("a", "report", text);
    a.href = `/api/sessions/${encodeURIComponent(s.id)}/report?format=${fmtName}`;
    a.dataset.format = fmtName;
    if (fmtName === "html") { a.target = "_blank"; a.rel = "noopener"; }
    links.append(a);
  }
  const cells = [
    ["Started", `${day} ${clock(s.started)}`],
    ["Patient", s.patient || "—"],
    ["Dose", s.dose_t ? `${clock(s.dose_t)}${s.dosed_by ? " · " + s.dosed_by : ""}` : "—"],
    ["Ended", s.ended ? clock(s.ended) : "open"],
  ].map(([name, text]) => {
    const td = el("td", "", text);
    td.dataset.label = name;  // the phone layout shows it, having no header row
    return td;
  });
  tr.append(...cells, links);
  return tr;
}

window.addEventListener("hashchange", () => { sessionLists.key = ""; });
$("sessions-refresh").addEventListener("click", () => { sessionLists.key = ""; sessionLists.fetched = 0; queueRender(); });
