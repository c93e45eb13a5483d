// The room detail's session record: prominent baseline/advisory flags, the session's notes,
// the discharge checklist and the room's past sessions with links to their reports.
// Loaded after vigil.js and uses the page's helpers (el, setText, clock, session, detailId, ...);
// renderDetail() calls renderRecord(room) on every render, so everything here is keyed and
// rebuilt only when what it shows changes.
"use strict";

const DOSED_PHASES = new Set(["dosed", "recovery", "discharge_ready"]);
// The discharge criteria of clinical-defaults.md as the core states them now
// (snapshot.discharge.criteria: key, met, text with the actual values); the label names
// the criterion, the text says what the data shows.
const CRITERION_LABEL = {
  time: "Time since the dose", alarms: "No active alarm", bp: "Last two BP readings",
  spo2: "SpO₂ at target", pulse: "Pulse rate near baseline",
};
const OUTCOME_WORDS = { ready: "READY for discharge", not_ready: "NOT READY", override: "OVERRIDE: discharged although criteria unmet" };
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
  // Until a clinician confirms a baseline the relative limits are off: said on the tile for
  // as long as it lasts, not in a toast that is gone after 4 s.
  const noBaseline = IN_SESSION.has(room.phase) && !refused &&
    !["confirmed", "entered"].includes(room.baseline_status);
  const key = JSON.stringify([refused, advisories, noBaseline, room.phase]);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const items = [];
  if (refused) items.push(el("div", "flag refused", "⚠ Baseline refused (pathological): absolute limits only"));
  if (noBaseline) {
    items.push(el("div", "flag no-baseline", room.phase === "pre_dose"
      ? "⚠ No baseline confirmed yet: confirm it before the dose"
      : "⚠ No baseline confirmed: absolute limits only, relative limits off"));
  }
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
// why the room is not ready (with the values), and the reviews recorded so far.
function renderDischarge(room) {
  const d = room.discharge || {};
  const phase = String(room.phase || "");
  const criteria = d.criteria || [];
  const unmet = criteria.filter(c => !c.met);
  const key = JSON.stringify([phase, d.ready, criteria, d.outcome, d.reviews, d.reviewed_by, d.reviewed_t]);
  const list = $("discharge-checklist");
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  const status = $("discharge-status");
  status.className = "";
  if (d.outcome) {
    setText(status, `✔ Discharge review: ${OUTCOME_WORDS[d.outcome] || d.outcome} — ${d.reviewed_by || "?"} at ${clock(d.reviewed_t)}.`);
    status.className = d.outcome === "override" ? "warn" : "ok";
  } else if (d.reviewed_by) {  // a snapshot from before outcomes existed
    setText(status, `✔ Discharge review recorded by ${d.reviewed_by} at ${clock(d.reviewed_t)}.`);
    status.className = "ok";
  } else if (d.ready) {
    setText(status, "✔ Every criterion met: ready for discharge review.");
    status.className = "ok";
  } else if (DOSED_PHASES.has(phase)) {
    setText(status, `✖ Not ready for discharge: ${unmet.length} of ${criteria.length} criteria not met. ` +
      "Record “not ready”, or a clinician override with a reason.");
    status.className = "warn";
  } else {
    setText(status, "The discharge criteria are checked after the dose.");
  }
  renderReviews(d.reviews || []);
  // "Ready" applies only when every criterion holds; an override needs a reason.
  const override = $("outcome-override");
  if (override.checked) $("discharge-text").required = true;
  if (!DOSED_PHASES.has(phase)) { list.replaceChildren(); list.hidden = true; return; }
  list.replaceChildren(...criteria.map(c => checkItem(c.met, CRITERION_LABEL[c.key] || c.key, c.text)));
  list.hidden = false;
}

function renderReviews(reviews) {
  $("discharge-reviews").replaceChildren(...[...reviews].reverse().map(r => {
    const li = el("li", "review " + r.outcome);
    li.append(el("span", "note-t", clock(r.t)), el("span", "note-by", r.by || "?"),
      el("b", "outcome", OUTCOME_WORDS[r.outcome] || r.outcome));
    if (r.reason) li.append(el("span", "note-text", r.reason));
    if (r.unmet && r.unmet.length) li.append(el("span", "why", "unmet then: " + r.unmet.join("; ")));
    return li;
  }));
}

function checkItem(met, labelText, why) {
  const li = el("li", met ? "met" : "unmet");
  li.dataset.met = String(met);
  li.append(el("span", "mark", met ? "✔" : "✖"), el("span", "what", labelText));
  if (why && why !== labelText) li.append(el("span", "why", why));
  li.setAttribute("aria-label", `${met ? "met" : "not met"}: ${why || labelText}`);
  return li;
}

for (const r of document.querySelectorAll('#form-discharge input[name="outcome"]')) {
  r.addEventListener("change", () => { $("discharge-text").required = $("outcome-override").checked; });
}
$("form-discharge").addEventListener("submit", async ev => {
  ev.preventDefault();
  const picked = ev.target.querySelector('input[name="outcome"]:checked');
  if (!picked) { toast("Choose the outcome of the review: ready, not ready or override", true); return; }
  const args = { outcome: picked.value };
  const text = $("discharge-text").value.trim();
  if (picked.value === "override" && !text) { toast("An override needs a reason", true); $("discharge-text").focus(); return; }
  if (text) args.reason = text;
  if (await send(detailId(), "discharge_review", args)) { ev.target.reset(); $("discharge-text").required = false; }
});

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
