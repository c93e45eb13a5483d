// Respiration on the dashboard: the tile's RR / EtCO₂ box (APNEA when the monitor flags no
// breath), the room detail's respiration plot and its EtCO₂ baseline field. Shown only for
// rooms whose devices report respiration (a capnograph or a multiparameter monitor over HL7).
// Helpers from helpers.js, state.js and vocab.js.
"use strict";

const RESP_CHANNELS = ["resp_rate", "etco2", "apnea"];

function hasResp(room) { return RESP_CHANNELS.some(ch => latest(room, ch)); }

function renderRespTile(box, room) {
  if (!box) return;
  box.hidden = !hasResp(room);
  if (box.hidden) return;
  const rr = latest(room, "resp_rate"), co2 = latest(room, "etco2"), ap = latest(room, "apnea");
  // A flagged apnea (the monitor's CO₂ line blocked: `line_blocked`) is not the patient's.
  const apnea = !!ap && ap.value === 1 && isValid(ap);
  const v = box.querySelector(".value");
  const num = r => (r && r.value != null ? fmt(r.value) : "—");
  setText(v, apnea ? "APNEA" : `${num(rr)} / ${num(co2)}`);
  v.classList.toggle("apnea", apnea);
  v.classList.toggle("invalid", !apnea && !isValid(rr) && !isValid(co2));
  const lr = limitsFor(room, "resp_rate"), lc = limitsFor(room, "etco2");
  // The value beyond its limit in its alarm's colour (glance.js), as SpO2 and pulse are.
  const val = r => (isValid(r) ? r.value : null);
  setOut(v, apnea ? "" : outClass(room, ["resp_rate"], val(rr), lr) || outClass(room, ["etco2"], val(co2), lc));
  const b = baseline(room);
  setText(box.querySelector(".base"), `limits RR ${fmtLimits(lr)} · EtCO₂ ${fmtLimits(lc)}` +
    (b.etco2 != null ? ` · baseline EtCO₂ ${fmt(b.etco2)}` : ""));
}

function renderRespDetail(room, t0, t1, marks) {
  const canvas = $("plot-resp");
  const show = hasResp(room);
  for (const field of document.querySelectorAll("#form-baseline .resp-only")) field.hidden = !show;
  if (!canvas) return;
  canvas.hidden = !show;
  if (!show) return;
  const tr = trends.get(room.room) || {};
  drawTrend(canvas, {
    title: "Respiration", t0, t1, minSpan: 20, yMin: 0,  // the legend names each series in its colour
    series: [{ name: channelName("resp_rate"), points: tr.resp_rate || [], color: "#ea80fc" }, { name: channelName("etco2"), points: tr.etco2 || [], color: "#ffff8d" }],
    baseline: baseline(room).etco2 ?? undefined, band: limitsFor(room, "etco2"), marks,
  });
}
