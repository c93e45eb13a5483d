// Vigil live dashboard: state from the SSE stream, one tile per room, a room detail view.
// This file holds who is signed in, the render loop, the actions (acknowledge, pause, forms
// send) and the start; the rest by responsibility, loaded before it (index.html):
//   vocab.js        labels, priorities, phases, roles and timings served by Vigil
//   helpers.js      DOM, number and clinic-time formatting helpers
//   state.js        room state: the snapshot normalised, stream messages applied, trends
//   stream.js       the SSE connection, reconnects and the NOT LIVE bar
//   audio-policy.js which alarm sounds (pause, break-through) and the "sound blocked" bar
//   tiles.js        one tile per room and the alarm banners
//   detail.js       the room detail view and its session forms
// then resp.js, record.js and lifecycle.js (respiration, records, session lifecycle).
"use strict";

let me = { username: "", role: "viewer" };
let renderQueued = false;
const audio = new AlarmAudio();

// -- actions ------------------------------------------------------------------------------
async function send(roomId, event, args = {}) {
  try {
    const r = await fetch(`/api/rooms/${encodeURIComponent(roomId)}/events`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ event, args }),
    });
    if (r.ok) {
      // 200: the core applied it ("ok" or "ok: <what it did>"); 202: queued, not applied yet.
      const body = await r.json().catch(() => ({}));
      const said = r.status === 202 ? "queued" : (body.outcome && body.outcome !== "ok" ? body.outcome : "done");
      toast(`${label(event)}: ${said} (${me.username})`);
      // The room's derived state (pause, session, baseline) is in its snapshot: fetch it.
      setTimeout(() => refreshRoom(roomId), 300);
      return true;
    }
    const body = await r.json().catch(() => ({}));
    toast(`${label(event)} refused: ${typeof body.detail === "string" ? body.detail : r.status}`, true);
  } catch (e) {
    toast(`${label(event)} NOT sent: Vigil is not reachable`, true);
  }
  return false;
}

document.addEventListener("click", ev => {
  const b = ev.target.closest("button[data-action]");
  if (!b) return;
  ev.preventDefault();
  if (b.dataset.action === "ack") send(b.dataset.room, "ack", { condition: b.dataset.condition });
  else if (b.dataset.action === "pause") send(b.dataset.room, "audio_pause", {});
});

function can(role) { return ROLE_RANK[me.role] >= ROLE_RANK[role]; }
function applyRoles() {
  for (const b of document.querySelectorAll("[data-role]")) {
    const ok = can(b.dataset.role);
    b.disabled = !ok;
    b.title = ok ? "" : `needs role ${b.dataset.role}`;
  }
  // Controls that do not apply in the room's phase are disabled, saying why (lifecycle.js).
  const room = rooms.get(detailId());
  if (room && typeof applyPhases === "function") applyPhases(room);
}

function render() {
  renderQueued = false;
  for (const room of rooms.values()) renderTile(room);
  orderTiles([...rooms.values()].filter(r => tiles.has(r.room)).map(r => ({ root: tiles.get(r.room).root, room: r })));
  renderBanners();
  renderDetail();
  applyRoles();  // buttons just built get the signed-in role's rights too
  updateAudio();
}
function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(render);
  setTimeout(() => { if (renderQueued) render(); }, 300);  // rAF pauses in background tabs
}
window.addEventListener("hashchange", () => { $("detail-alarms").dataset.key = ""; queueRender(); window.scrollTo(0, 0); });
window.addEventListener("resize", queueRender);

$("logout").addEventListener("click", async () => {
  await fetch("/api/auth/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } }).catch(() => {});
  location.replace("/login");
});

async function start() {
  setLink(false, "connecting to Vigil…");
  // Nothing is drawn without who is signed in and the served vocabulary (labels, roles,
  // timings): until Vigil answers both, the NOT LIVE bar says it is connecting.
  for (;;) {
    try {
      const r = await fetch("/api/auth/me", { credentials: "same-origin" });
      if (r.status === 401) { location.replace("/login?next=" + encodeURIComponent(location.pathname + location.search + location.hash)); return; }
      if (r.ok) { me = await r.json(); if (await loadVocabulary()) break; }
    } catch (e) { /* Vigil not reachable yet */ }
    await new Promise(ok => setTimeout(ok, 2000));
  }
  setText($("who"), `${me.username} (${me.role})`);
  $("admin-link").hidden = !can("admin");  // the admin page: admin.html
  setZone(me.timezone);
  applyRoles();
  connect();
}
start();
