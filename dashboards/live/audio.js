// Alarm sounds by priority (IEC 60601-1-8 style, clinical-defaults.md "Signals on the
// dashboard"): high = 10-pulse burst every 10 s, medium = 3-pulse burst every 25 s, low = one
// tone when it starts; a lost link sounds a technical two-tone every 15 s.
// What should be sounding is published on <body data-audio="..."> (and data-audio-bursts) so
// staff tooling and tests can observe it even where the browser blocks sound.
"use strict";

const AUDIO_PATTERNS = {
  high: { every: 10, freq: 880, len: 0.1, at: [0, 0.15, 0.3, 0.6, 0.75, 1.2, 1.35, 1.5, 1.8, 1.95] },
  medium: { every: 25, freq: 660, len: 0.16, at: [0, 0.25, 0.5] },
  low: { every: 0, freq: 523, len: 0.25, at: [0] },
  technical: { every: 15, freq: 440, len: 0.2, at: [0, 0.35] },
};

class AlarmAudio {
  constructor() {
    this.ctx = null;
    this.level = "off";
    this.lastBurst = 0;
    this.bursts = 0;
    try { this.ctx = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { this.ctx = null; }
    setInterval(() => this.tick(), 250);
    this.publish();
  }

  get blocked() { return !this.ctx || this.ctx.state !== "running"; }

  async enable() {
    if (this.ctx && this.ctx.state !== "running") { try { await this.ctx.resume(); } catch (e) { /* stays blocked */ } }
    this.publish();
  }

  // level: "off" | "high" | "medium" | "low" | "technical"; lowOnset: a new low alarm began.
  set(level, lowOnset) {
    if (level !== this.level) {
      this.level = level;
      this.lastBurst = 0;  // a new or higher level sounds at once
    } else if (level === "low" && lowOnset) {
      this.lastBurst = 0;
    }
    this.tick();
  }

  tick() {
    const p = AUDIO_PATTERNS[this.level];
    const now = Date.now() / 1000;
    if (p && (this.lastBurst === 0 || (p.every > 0 && now - this.lastBurst >= p.every))) {
      this.lastBurst = now;
      this.bursts += 1;
      this.play(p);
    }
    this.publish();
  }

  play(p) {
    if (this.blocked) return;
    const t0 = this.ctx.currentTime + 0.02;
    for (const dt of p.at) {
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.type = "square";
      osc.frequency.value = p.freq;
      gain.gain.setValueAtTime(0, t0 + dt);
      gain.gain.linearRampToValueAtTime(0.15, t0 + dt + 0.01);
      gain.gain.setValueAtTime(0.15, t0 + dt + p.len - 0.02);
      gain.gain.linearRampToValueAtTime(0, t0 + dt + p.len);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(t0 + dt);
      osc.stop(t0 + dt + p.len + 0.01);
    }
  }

  publish() {
    const b = document.body;
    if (!b) return;
    if (b.dataset.audio !== this.level) b.dataset.audio = this.level;
    b.dataset.audioBursts = String(this.bursts);
    b.dataset.audioBlocked = this.blocked ? "true" : "false";
  }
}
