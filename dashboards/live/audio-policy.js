// Audio policy: the loudest unacknowledged alarm not under a pause sounds (audio.js plays it).
// A pause lasts what the clinic set (`audio_pause_s`, in each room's snapshot) and silences
// what was sounding; a new alarm of higher priority sounds through it. A lost link sounds the
// technical tone. After a reload the browser blocks sound until a click: a bar says so.
"use strict";

const seenLow = new Set();  // low alarms already announced (a low alarm sounds once)
const pauseS = room => room.audio_pause_s ?? timing("audio_pause_s");
function pauseLabel(room) {
  const s = pauseS(room);
  return `Pause audio ${s % 60 ? dur(s) : s / 60 + " min"}`;
}
function updateAudio() {
  let level = 0, lowOnset = false;
  const now = serverNow();
  for (const r of rooms.values()) {
    const alarms = (r.alarms || []).filter(unacked);
    const until = r.audio_paused_until;
    const paused = until && until > now;
    const pauseStart = paused ? until - pauseS(r) : 0;
    // A pause silences what was sounding; a new alarm of higher priority sounds through it.
    const pausedRank = paused ? Math.max(0, ...alarms.filter(a => onset(a) <= pauseStart).map(a => RANK[a.priority] || 0)) : 0;
    for (const a of alarms) {
      const rank = RANK[a.priority] || 0;
      if (paused && (onset(a) <= pauseStart || rank <= pausedRank)) continue;
      level = Math.max(level, rank);
      const key = `${r.room}|${a.condition}|${onset(a)}`;
      if (a.priority === "low" && !seenLow.has(key)) { seenLow.add(key); lowOnset = true; }
    }
  }
  const name = level === 3 ? "high" : level === 2 ? "medium" : level === 1 ? "low" : (!linkUp && lastBeat ? "technical" : "off");
  audio.set(name, lowOnset);
  // After a reload the browser keeps audio blocked until a click or key: a bar across the
  // screen says so for as long as it lasts, not a small button a nurse may never notice.
  const btn = $("sound");
  btn.hidden = !audio.blocked;
  document.body.classList.toggle("sound-blocked", audio.blocked);
}
setText($("sound"), "✖ SOUND IS BLOCKED — alarms are silent on this screen. Click here or anywhere to enable sound.");
$("sound").addEventListener("click", async () => { await audio.enable(); updateAudio(); });
for (const type of ["pointerdown", "keydown"]) {
  document.addEventListener(type, async () => { if (audio.blocked) { await audio.enable(); updateAudio(); } });
}

