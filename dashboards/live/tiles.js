// Tiles: one per room (name, phase, alarms, vitals against their limits, SpO₂ sparkline, dose
// and BP clocks, technical alarms and devices) and the banners across the top of the page.
// glance.js words the limits and colours; resp.js draws the respiration box.
"use strict";

const tiles = new Map();       // room id -> tile elements
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
        <div class="vital v-spo2"><div class="label">${channelName("spo2")}</div><div class="value" data-channel="spo2"></div><div class="base"></div><div class="flags"></div></div>
        <div class="vital v-pulse"><div class="label">${channelName("pulse_rate")}</div><div class="value" data-channel="pulse_rate"></div><div class="base"></div><div class="flags"></div></div>
        <div class="vital v-bp"><div class="label">BP ${vocab.channels.sbp.unit}</div><div class="value bp" data-channel="bp"></div><div class="age"></div><div class="base"></div></div>
        <div class="vital v-resp" hidden><div class="label">${channelName("resp_rate")} · ${channelName("etco2")}</div><div class="value resp" data-channel="resp"></div><div class="base"></div></div>
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

