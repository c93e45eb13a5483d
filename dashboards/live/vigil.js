// Vigil live dashboard: state from the SSE stream, rendered into one tile per room.
// The page must never look alive when it is not: heartbeats arrive every second, and when
// they stop for STALE_MS the link indicator turns red and flashes.
"use strict";

const STALE_MS = 4000;
const ICON = { high: "▲▲▲", medium: "▲▲", low: "▲" };
const rooms = new Map();
let lastBeat = 0;
let source = null;

function fmt(v, digits = 0) {
  return v === null || v === undefined ? "—" : Number(v).toFixed(digits);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function vital(label, reading, base, digits) {
  const box = el("div", "vital");
  box.append(el("div", "label", label));
  const valid = reading && reading.value !== null && reading.status.length === 0;
  const v = el("div", "value" + (valid ? "" : " invalid"),
               reading ? fmt(reading.value, digits) : "—");
  v.dataset.channel = label;
  box.append(v);
  if (reading && reading.status.length) box.append(el("div", "base", reading.status.join(", ")));
  box.append(el("div", "base", "baseline " + fmt(base, digits)));
  return box;
}

function render() {
  const main = document.getElementById("rooms");
  main.replaceChildren();
  const all = [];
  for (const room of rooms.values()) {
    const tile = el("section", "room");
    tile.dataset.room = room.room;
    const prio = ["high", "medium", "low"].find(p => room.alarms.some(a => a.priority === p));
    if (prio) tile.classList.add("alarm-" + prio);
    const h = el("h2", null, room.name || room.room);
    h.append(el("span", "phase", room.phase.replace("_", " ")));
    tile.append(h);
    const vitals = el("div", "vitals");
    vitals.append(vital("SpO₂ %", room.latest.spo2, room.baseline.spo2, 0));
    vitals.append(vital("Pulse bpm", room.latest.pulse_rate, room.baseline.pulse_rate, 0));
    tile.append(vitals);
    const list = el("ul", "alarms");
    for (const a of room.alarms) {
      const text = `${ICON[a.priority]} ${a.priority.toUpperCase()} ${a.condition.replace("_", " ")}` +
                   (a.value !== null ? ` — ${fmt(a.value)} (limit ${fmt(a.limit)})` : "");
      const li = el("li", a.priority, text);
      li.dataset.condition = a.condition;
      list.append(li);
      all.push({ room: room.name || room.room, ...a });
    }
    tile.append(list);
    const devs = el("div", "devices");
    for (const d of room.devices || []) {
      const s = el("span", d.state === "connected" ? "" : "down",
                   `${d.id}: ${d.state}${d.simulated ? " (simulated)" : ""} `);
      devs.append(s);
    }
    tile.append(devs);
    main.append(tile);
  }
  const banner = document.getElementById("banner");
  if (all.length) {
    const order = { high: 0, medium: 1, low: 2 };
    all.sort((a, b) => order[a.priority] - order[b.priority]);
    const top = all[0];
    banner.className = "banner " + top.priority;
    banner.textContent = `${ICON[top.priority]} ${top.room}: ${top.condition.replace("_", " ")} ` +
                         `(${top.priority})` + (all.length > 1 ? ` and ${all.length - 1} more` : "");
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

function onMessage(msg) {
  if (msg.type === "snapshot") {
    rooms.clear();
    for (const r of msg.rooms) rooms.set(r.room, r);
  } else if (msg.type === "reading") {
    const r = rooms.get(msg.room);
    if (r) r.latest[msg.channel] = msg;
  } else if (msg.type === "alarm") {
    const r = rooms.get(msg.room);
    if (r) {
      r.alarms = r.alarms.filter(a => a.condition !== msg.condition);
      if (msg.state !== "cleared") r.alarms.push(msg);
    }
  } else if (msg.type === "phase") {
    const r = rooms.get(msg.room);
    if (r) r.phase = msg.phase;
  } else if (msg.type === "device") {
    const r = rooms.get(msg.room);
    if (r) for (const d of r.devices) if (d.id === msg.source) d.state = msg.state;
  }
  render();
}

function setLink(up, text) {
  const link = document.getElementById("link");
  link.className = up ? "link-up" : "link-down";
  link.textContent = text;
  document.body.dataset.link = up ? "up" : "down";
}

function connect() {
  if (source) source.close();
  source = new EventSource("/api/stream");
  for (const type of ["snapshot", "reading", "alarm", "phase", "device", "heartbeat"]) {
    source.addEventListener(type, ev => {
      lastBeat = Date.now();
      setLink(true, "Live");
      if (type !== "heartbeat") onMessage(JSON.parse(ev.data));
    });
  }
  source.onerror = () => setLink(false, "CONNECTION LOST — data not live, reconnecting…");
}

setInterval(() => {
  if (Date.now() - lastBeat > STALE_MS) {
    setLink(false, "NO DATA — the display is not live");
    if (source && source.readyState === EventSource.CLOSED) connect();
  }
}, 1000);
connect();
