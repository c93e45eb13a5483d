// Trend plots drawn on <canvas> by hand (no library, no CDN: the clinic may have no internet).
// drawTrend(canvas, opts): series of [t, value] points over [t0, t1], a baseline line, limit
// bands (the acceptable range, shaded; one per channel when a plot holds several, each in its
// series' colour), vertical marks (dose, alarm onsets) and a legend in the series' colours.
"use strict";

const PLOT_FONT = "12px system-ui, sans-serif";

function niceStep(span, ticks) {
  const raw = span / Math.max(ticks, 1);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

// Time-axis steps: whole minutes at least, so no two ticks carry the same hh:mm label.
const TIME_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200];
function timeStep(span, ticks) {
  const raw = span / Math.max(ticks, 1);
  return TIME_STEPS.find(s => s >= raw) || TIME_STEPS[TIME_STEPS.length - 1];
}

function hhmm(t) {
  if (typeof zoneHM === "function") return zoneHM(t);  // the clinic's zone (helpers.js)
  const d = new Date(t * 1000);
  return d.getHours().toString().padStart(2, "0") + ":" + d.getMinutes().toString().padStart(2, "0");
}

function drawTrend(canvas, opts) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const compact = !!opts.compact;
  const pad = compact ? { l: 2, r: 2, t: 2, b: 2 } : { l: 40, r: 8, t: 16, b: 20 };
  const t1 = opts.t1, t0 = Math.min(opts.t0, t1 - 60);
  const values = [];
  for (const s of opts.series) for (const p of s.points) if (p[0] >= t0) values.push(p[1]);
  const bands = (opts.bands || (opts.band ? [{ ...opts.band }] : [])).filter(b => b && (b.low != null || b.high != null));
  const baselines = opts.baselines || (typeof opts.baseline === "number" ? [{ v: opts.baseline }] : []);
  for (const v of [...baselines.map(b => b.v), ...bands.flatMap(b => [b.low, b.high])]) {
    if (typeof v === "number" && isFinite(v)) values.push(v);
  }
  let lo = opts.yMin, hi = opts.yMax;
  if (values.length) {
    lo = Math.min(lo ?? Infinity, ...values);
    hi = Math.max(hi ?? -Infinity, ...values);
  }
  if (lo === undefined || hi === undefined || !isFinite(lo) || !isFinite(hi)) { lo = 0; hi = 100; }
  if (hi - lo < (opts.minSpan || 10)) { const mid = (hi + lo) / 2; lo = mid - (opts.minSpan || 10) / 2; hi = mid + (opts.minSpan || 10) / 2; }
  const m = (hi - lo) * 0.08; lo -= m; hi += m;
  const X = t => pad.l + (t - t0) / (t1 - t0) * (w - pad.l - pad.r);
  const Y = v => pad.t + (hi - v) / (hi - lo) * (h - pad.t - pad.b);
  g.font = PLOT_FONT;
  // Limit bands: the acceptable range, so a value outside it stands out. Several channels in
  // one plot (SBP, DBP) each get their own band in their own colour.
  for (const band of bands) {
    const rgb = band.rgb || "80, 160, 110";
    const top = Y(band.high != null ? Math.min(band.high, hi) : hi);
    const bot = Y(band.low != null ? Math.max(band.low, lo) : lo);
    g.fillStyle = `rgba(${rgb}, ${bands.length > 1 ? 0.1 : 0.16})`;
    g.fillRect(pad.l, top, w - pad.l - pad.r, bot - top);
    g.strokeStyle = `rgba(${rgb}, 0.7)`;
    g.setLineDash([2, 3]);
    for (const v of [band.low, band.high]) {
      if (v == null || v < lo || v > hi) continue;
      g.beginPath(); g.moveTo(pad.l, Y(v)); g.lineTo(w - pad.r, Y(v)); g.stroke();
    }
    g.setLineDash([]);
  }
  if (!compact) {
    g.fillStyle = "#8a96a8"; g.strokeStyle = "rgba(138,150,168,0.2)";
    const ys = niceStep(hi - lo, 4);
    for (let v = Math.ceil(lo / ys) * ys; v <= hi; v += ys) {
      g.beginPath(); g.moveTo(pad.l, Y(v)); g.lineTo(w - pad.r, Y(v)); g.stroke();
      g.fillText(String(Math.round(v)), 4, Y(v) + 4);
    }
    const xs = timeStep(t1 - t0, Math.max(2, Math.floor(w / 90)));
    let prevLabel = null;
    for (let t = Math.ceil(t0 / xs) * xs; t <= t1; t += xs) {
      const text = hhmm(t);
      if (text !== prevLabel) g.fillText(text, X(t) - 16, h - 4);
      prevLabel = text;
    }
    let x = pad.l + 4;
    if (opts.title) { g.fillStyle = "#d8e0ea"; g.fillText(opts.title, x, 12); x += g.measureText(opts.title).width + 10; }
    // The legend: each series' name in its own colour, after a dot of that colour.
    for (const s of opts.series) {
      if (!s.name) continue;
      g.fillStyle = s.color;
      g.beginPath(); g.arc(x + 4, 8, 4, 0, 2 * Math.PI); g.fill();
      g.fillText(s.name, x + 11, 12);
      x += 11 + g.measureText(s.name).width + 10;
    }
  }
  for (const b of baselines) {
    if (typeof b.v !== "number") continue;
    const color = b.color || "#c8d0dc";
    g.strokeStyle = color; g.setLineDash([6, 4]); g.lineWidth = 1;
    g.beginPath(); g.moveTo(pad.l, Y(b.v)); g.lineTo(w - pad.r, Y(b.v)); g.stroke();
    g.setLineDash([]);
    if (!compact) { g.fillStyle = color; g.fillText(b.label || "baseline", pad.l + 4, Y(b.v) - 3); }
  }
  for (const mark of opts.marks || []) {
    if (mark.t < t0 || mark.t > t1) continue;
    g.strokeStyle = mark.color; g.lineWidth = compact ? 1 : 2;
    g.setLineDash(mark.dash ? [4, 3] : []);
    g.beginPath(); g.moveTo(X(mark.t), pad.t); g.lineTo(X(mark.t), h - pad.b); g.stroke();
    g.setLineDash([]);
    if (!compact && mark.label) {
      // Labels near the right edge go left of their line so they stay readable.
      const tw = g.measureText(mark.label).width;
      const x = X(mark.t) + 3 + tw > w - pad.r ? X(mark.t) - 3 - tw : X(mark.t) + 3;
      g.fillStyle = mark.color; g.fillText(mark.label, x, pad.t + 10 + (mark.row || 0) * 13);
    }
  }
  g.lineWidth = compact ? 1.5 : 2;
  for (const s of opts.series) {
    g.strokeStyle = s.color; g.fillStyle = s.color;
    const pts = s.points.filter(p => p[0] >= t0);
    if (s.dots) {
      for (const p of pts) { g.beginPath(); g.arc(X(p[0]), Y(p[1]), 3, 0, 2 * Math.PI); g.fill(); }
      continue;
    }
    g.beginPath();
    let prev = null;
    for (const p of pts) {
      // A gap of more than 30 s is drawn as a gap: no invented data.
      if (prev && p[0] - prev[0] > 30) g.moveTo(X(p[0]), Y(p[1]));
      else if (prev) g.lineTo(X(p[0]), Y(p[1]));
      else g.moveTo(X(p[0]), Y(p[1]));
      prev = p;
    }
    g.stroke();
  }
}
