// The live stream: one EventSource on /api/stream, reconnected when it errors or falls silent.
// The page must never look alive when it is not: heartbeats arrive every `heartbeat_s`; when the
// stream errors or they stop for `link_stale_s` (both served, vocab.js), a red NOT LIVE bar
// covers the top of the page, the tiles are struck through and a technical tone sounds.
"use strict";

let source = null;
let lastBeat = 0;
let lastConnect = 0;
let linkUp = false;
const ROOM_REFRESH_MS = 5000;  // snapshot-only keys (derived baseline, limits, next BP due)

function setLink(up, text) {
  linkUp = up;
  document.body.dataset.link = up ? "up" : "down";
  const link = $("link");
  link.className = up ? "link-up" : "link-down";
  setText(link, up ? "● Live" : "✖ NOT LIVE");
  if (!up) setText($("stale-text"), text);
  updateAudio();
}

function connect() {
  lastConnect = Date.now();
  if (source) source.close();
  // `?rooms=A,B` in the page's address: watch those rooms only (the stream sends no others).
  const watched = new URLSearchParams(location.search).get("rooms");
  source = new EventSource(watched ? "/api/stream?rooms=" + encodeURIComponent(watched) : "/api/stream");
  for (const type of ["snapshot", "reading", "alarm", "phase", "device", "heartbeat", "room"]) {
    source.addEventListener(type, ev => {
      lastBeat = Date.now();
      const msg = JSON.parse(ev.data);
      if (type === "heartbeat") { if (msg.t) clockOffset = msg.t - Date.now() / 1000; }
      if (!linkUp) setLink(true, "");
      if (type !== "heartbeat") onMessage(msg);
    });
  }
  source.onerror = async () => {
    setLink(false, "connection to Vigil lost. Values on this page are OUT OF DATE. Reconnecting…");
    // A closed stream may mean the login expired: check, and go to the login page if so.
    try {
      const r = await fetch("/api/auth/me", { credentials: "same-origin" });
      if (r.status === 401) location.replace("/login?next=" + encodeURIComponent(location.pathname + location.search + location.hash));
    } catch (e) { /* server down: keep retrying */ }
  };
}

setInterval(() => {
  if (!vocab) return;  // start() connects once the vocabulary is in
  const staleMs = 1000 * timing("link_stale_s");
  const silent = Date.now() - lastBeat;
  if (silent > staleMs) {
    setLink(false, lastBeat ? `no data from Vigil for ${Math.round(silent / 1000)} s. Values on this page are OUT OF DATE. Reconnecting…`
                            : "no data from Vigil yet. Connecting…");
    // EventSource retries by itself after an error; a stream that is open but silent (a
    // frozen server or proxy) it would keep forever, so we replace it.
    const closed = !source || source.readyState === EventSource.CLOSED;
    if ((closed || silent > 3 * staleMs) && Date.now() - lastConnect > 3 * staleMs) { lastConnect = Date.now(); connect(); }
  }
  queueRender();  // ages and countdowns move on
}, 1000);
// Snapshot-only keys (derived baseline, limits, next BP due) change without a stream message.
setInterval(() => { if (linkUp) for (const id of rooms.keys()) refreshRoom(id); }, ROOM_REFRESH_MS);
