// The room detail view (#room/<id>): alarms, plots, session status, baseline and limits,
// alarm history with attribution, and the session forms (start, baseline, note).
// record.js (notes, discharge, sessions) and lifecycle.js (dose, end) add to it.
"use strict";

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
  drawTrend($("plot-spo2"), { title: channelName("spo2"), t0, t1: now, series: [{ points: tr.spo2 || [], color: "#4fc3f7" }], baseline: b.spo2 ?? undefined, band: limitsFor(room, "spo2"), marks, minSpan: 8 });
  drawTrend($("plot-pulse"), { title: channelName("pulse_rate"), t0, t1: now, series: [{ points: tr.pulse_rate || [], color: "#69f0ae" }], baseline: b.pulse_rate ?? undefined, band: limitsFor(room, "pulse_rate"), marks, minSpan: 20 });
  // SBP and DBP each against their own band and baseline, in their own colour.
  const bpBand = (ch, rgb) => limitsFor(room, ch) && { ...limitsFor(room, ch), rgb };
  drawTrend($("plot-bp"), {
    title: `BP ${vocab.channels.sbp.unit}`, t0, t1: now, minSpan: 40,
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
  const rows = ["spo2", "pulse_rate", "sbp", "dbp", "map"];
  if (b.etco2 != null || latest(room, "etco2")) rows.push("etco2", "resp_rate");
  const key = JSON.stringify([b, room.limit_band ?? null]);
  const view = $("baseline-view");
  if (view.dataset.key === key) return;
  view.dataset.key = key;
  const table = el("table", "baseline");
  table.append(el("tr"));
  table.firstChild.append(el("th", "", ""), el("th", "", "Baseline"), el("th", "", "Limits"));
  for (const ch of rows) {
    const lim = limitsFor(room, ch);
    const tr = el("tr");
    tr.append(el("td", "", channelName(ch)), el("td", "", fmt(b[ch])), el("td", "", fmtLimits(lim)));
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
