// The clinic-wide alarm log and the shift hand-off, both from the journal (/api/alarms,
// /api/handoff).
"use strict";

let conditions = {};  // the served words of each condition (GET /api/vocabulary)
const words = (id) => (conditions[id] || {}).label || id.replaceAll("_", " ");

async function loadLog() {
  const f = $("form-log");
  const q = new URLSearchParams();
  for (const k of ["from", "to", "room", "priority", "acknowledged_by"]) if (f[k].value) q.set(k, f[k].value);
  let r;
  try { r = await api("GET", "/api/alarms?" + q); } catch (e) { $("log-summary").textContent = `Not loaded: ${e.message}`; return; }
  const median = r.median_time_to_ack_s === null ? "—" : secs(r.median_time_to_ack_s);
  $("log-summary").textContent = `${r.count} alarm${r.count === 1 ? "" : "s"} from ${clock(r.from)} to ${clock(r.to)}; ${r.acknowledged} acknowledged, median time to acknowledge ${median}.` +
    (r.truncated ? ` TOO MANY ALARMS: the log is complete only until ${clock(r.complete_until)}; choose a shorter range.` : "");
  const body = $("log").tBodies[0];
  body.replaceChildren(...r.episodes.map((e) => el("tr", { "data-room": e.room },
    el("td", {}, clock(e.started)), el("td", {}, e.room), el("td", {}, words(e.condition), el("span", { class: "muted" }, e.kind === "technical" ? " (technical)" : "")),
    el("td", { class: "p-" + e.priority }, e.priority),
    el("td", {}, e.acknowledged_by || (e.acknowledged ? "?" : "not acknowledged")),
    el("td", { class: "num" }, secs(e.time_to_ack_s)),
    el("td", { class: "num" }, e.duration_s === null ? "still on" : secs(e.duration_s)),
    el("td", { class: "num" }, e.escalations))));
  if (!r.episodes.length) body.append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No alarms match.")));
}

function item(t, text) { return el("li", {}, el("span", { class: "muted" }, hms(t) + " "), text); }

async function loadHandoff() {
  const hours = $("form-handoff").hours.value || 8;
  const r = await api("GET", `/api/handoff?hours=${encodeURIComponent(hours)}`);
  $("handoff").replaceChildren(...r.rooms.map((room) => {
    const sessions = room.sessions.map((s) => item(s.started,
      `session ${s.patient || s.id} started by ${s.started_by || "?"}` + (s.dose_t ? `, dose ${hms(s.dose_t)} by ${s.dosed_by || "?"}` : "") +
      (s.ended ? `, ended ${hms(s.ended)}` : ", still running")));
    const alarms = room.alarms.map((a) => item(a.started, el("span", { class: "p-" + a.priority },
      `${words(a.condition)} (${a.priority})` + (a.acknowledged_by ? ` — acknowledged by ${a.acknowledged_by} after ${secs(a.time_to_ack_s)}` : " — not acknowledged") +
      (a.ended ? "" : " — STILL ON"))));
    const events = room.events.map((e) => item(e.t, `${words(e.event)} by ${e.by || "?"}` + (e.args && e.args.text ? `: “${e.args.text}”` : "") + (e.outcome && e.outcome !== "ok" ? ` (${e.outcome})` : "")));
    const none = (what) => el("li", { class: "muted" }, `no ${what}`);
    return el("section", { class: "card", "data-room": room.room },
      el("h3", {}, room.name),
      el("strong", {}, "Sessions"), el("ul", {}, sessions.length ? sessions : none("sessions")),
      el("strong", {}, "Alarms"), el("ul", {}, alarms.length ? alarms : none("alarms")),
      el("strong", {}, "Doses, notes, reviews"), el("ul", {}, events.length ? events : none("entries")));
  }));
}

$("form-log").addEventListener("submit", (e) => { e.preventDefault(); loadLog(); });
$("form-handoff").addEventListener("submit", (e) => { e.preventDefault(); loadHandoff(); });

(async () => {
  const me = await signedIn();
  conditions = (await api("GET", "/api/vocabulary")).conditions;
  $("admin-link").hidden = me.role !== "admin";
  await Promise.all([loadHandoff(), loadLog()]);
  document.body.dataset.ready = "1";
})().catch((e) => { $("log-summary").textContent = e.message; });
