// The audible alarm: a two-tone WebAudio oscillator, repeated until every alert is acknowledged.
// Browsers allow audio only after a user gesture, hence the "enable sound" button.
export class Alarm {
  constructor() {
    this.ctx = null;
    this.timer = null;
    this.wanted = new Set(); // who wants it ringing: 'alerts' (the shell), extensions by name
  }

  get enabled() { return this.ctx !== null && this.ctx.state === 'running'; }

  async enable() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return false;
    if (!this.ctx) this.ctx = new Ctx();
    await this.ctx.resume();
    this.beep(0.15);
    return this.enabled;
  }

  // set(true) rings, set(false) stops; each source ('alerts' for the shell's unacknowledged
  // alerts, an extension's own name) is counted apart, so one cannot silence another's alarm.
  set(active, source = 'alerts') {
    if (active) this.wanted.add(source);
    else this.wanted.delete(source);
    this.apply();
  }

  stopAll() {
    this.wanted.clear();
    this.apply();
  }

  apply() {
    const active = this.wanted.size > 0;
    if (active && !this.timer) {
      this.beep();
      this.timer = setInterval(() => this.beep(), 1600);
    } else if (!active && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  get ringing() { return this.timer !== null; }

  beep(volume = 0.3) {
    if (!this.enabled) return;
    const now = this.ctx.currentTime;
    [[880, 0], [660, 0.3], [880, 0.6]].forEach(([freq, at]) => {
      const osc = this.ctx.createOscillator();
      const gain = this.ctx.createGain();
      osc.type = 'square';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(volume, now + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.25);
      osc.connect(gain).connect(this.ctx.destination);
      osc.start(now + at);
      osc.stop(now + at + 0.27);
    });
  }
}
