// Session lifecycle controls (issue #13): what applies in the room's phase, and the questions
// asked before an action that cannot be undone.
// - Buttons and forms carry data-phases (phase ids or the served groups in_session, post_dose): outside those phases they are disabled, saying why
//   (after the end: no "Mark dose", no "End session").
// - "End session" asks first, warning when no discharge review cleared the patient.
// - "Mark dose" asks first when no baseline is confirmed; after the first dose it records a
//   top-up (route and amount if given): the BP schedule restarts, the baseline stays.
// Loaded after vigil.js and record.js; uses their helpers (send, rooms, detailId, session, ...)
// and the served phase words (vocab.js).
"use strict";

function applyPhases(room) {
  const phase = room.phase || "idle";
  for (const e of document.querySelectorAll("[data-phases]")) {
    // Phase ids, or a group the vocabulary names ("in_session", "post_dose").
    const applies = e.dataset.phases.split(" ").some(p => p === phase || (vocab.phases[p] || []).includes(phase));
    if (!e.dataset.role) e.disabled = !applies;  // no role rule: the phase alone decides
    else if (e.disabled) continue;  // the role already forbids it, and says so
    if (!applies) {
      e.disabled = true;
      e.title = e.dataset.phasesWhy || `does not apply: ${PHASE_WORDS[phase] || phase}`;
    }
  }
  setText($("btn-dose"), POST_DOSE_PHASES.has(phase) ? "Mark top-up dose" : "Mark dose");
}

// A modal question; resolves true when the user confirms. `warn` lines are shown in the
// warning colour above the question.
function ask({ title, text, warn = [], ok }) {
  const dlg = $("confirm");
  if (dlg.open) return Promise.resolve(false);  // a second click while it asks: not a yes
  setText($("confirm-title"), title);
  $("confirm-warn").replaceChildren(...warn.map(w => el("p", "warn", "⚠ " + w)));
  setText($("confirm-text"), text);
  setText($("confirm-ok"), ok);
  dlg.returnValue = "";
  dlg.showModal();
  return new Promise(resolve => dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true }));
}

function baselineConfirmed(room) {
  return room.baseline_status === "confirmed" || room.baseline_status === "entered";
}

$("form-dose").addEventListener("submit", async ev => {
  ev.preventDefault();
  const id = detailId(), room = rooms.get(id);
  if (!room) return;
  const args = {};
  const route = $("dose-route").value, amount = $("dose-amount").value;
  if (route) args.route = route;
  if (amount !== "") args.amount_mg = Number(amount);
  const what = [route, amount !== "" ? `${amount} mg` : ""].filter(Boolean).join(" ");
  const topUp = POST_DOSE_PHASES.has(room.phase);
  const warn = [];
  if (!baselineConfirmed(room)) warn.push("No baseline confirmed: the limits relative to the baseline stay off until one is.");
  if (topUp || warn.length) {
    const n = (session(room).doses || []).length + 1;
    const ok = await ask({
      title: topUp ? `Top-up dose ${n} in ${room.name || id}?` : `Dose in ${room.name || id}?`,
      warn,
      text: topUp ? `Record a top-up dose${what ? " (" + what + ")" : ""} now. The BP schedule and the post-dose ` +
                    "window restart from it; the baseline stays the one taken before the first dose."
                  : `Record the dose${what ? " (" + what + ")" : ""} now?`,
      ok: topUp ? "Record top-up dose" : "Mark dose anyway",
    });
    if (!ok) return;
  }
  if (await send(id, "dose", args)) ev.target.reset();
});

$("btn-end").addEventListener("click", async () => {
  const id = detailId(), room = rooms.get(id);
  if (!room) return;
  const s = session(room), d = room.discharge || {};
  const warn = [];
  if (!d.outcome) {
    const last = (d.reviews || [])[(d.reviews || []).length - 1];
    warn.push(last ? `The last discharge review says NOT READY (${last.by || "?"} at ${clock(last.t)}).`
                   : "No discharge review was recorded for this session.");
  }
  if ((room.alarms || []).length) warn.push(`${room.alarms.length} alarm(s) still present: ending clears them.`);
  const ok = await ask({
    title: `End the session in ${room.name || id}?`,
    warn,
    text: `${s.pseudonym ? "Patient " + s.pseudonym + ": m" : "M"}onitoring of this session stops and its record is closed.`,
    ok: "End session",
  });
  if (ok) send(id, "session_end");
});
