// The song clock: follows the <audio> element (which plays at the practice rate with pitch preserved)
// and interpolates between its coarse currentTime updates with performance.now(). Falls back to a
// free-running clock if the audio element does not advance (no audio device).

export class SongClock {
  constructor(audio) {
    this.audio = audio;
    this.rate = 1;
    this.anchorS = 0;
    this.anchorMs = performance.now();
    this.running = false;
    this.countInEndMs = 0;
    this.lastAudioS = -1;
    this.lastAudioChangeMs = 0;
    this.free = false;
  }
  /** Start from song time fromS after a count-in of countInS real seconds (0 for none). */
  async start(fromS, rate, countInS = 0) {
    this.rate = rate;
    // Loading a source resets playbackRate to defaultPlaybackRate: set both.
    this.audio.defaultPlaybackRate = rate;
    this.audio.playbackRate = rate;
    this.audio.preservesPitch = true;
    this.audio.currentTime = fromS;
    const now = performance.now();
    this.countInEndMs = now + countInS * 1000;
    this.anchorS = fromS;
    this.anchorMs = this.countInEndMs;
    this.running = true;
    this.free = false;
    this.lastAudioS = -1;
    if (countInS > 0) await new Promise((r) => setTimeout(r, countInS * 1000));
    if (!this.running) return;
    this.anchorMs = performance.now();
    this.lastAudioChangeMs = this.anchorMs;
    this.audio.playbackRate = this.rate;
    try {
      await this.audio.play();
    } catch (e) {
      console.warn("audio did not start, using a free-running clock:", e.message);
      this.free = true;
    }
  }
  seek(toS) {
    this.audio.currentTime = toS;
    this.anchorS = toS;
    this.anchorMs = performance.now();
    this.lastAudioS = -1;
  }
  stop() {
    this.running = false;
    this.audio.pause();
  }
  /** Song time (s) at a performance.now() timestamp. */
  timeAt(perfMs) {
    return this.anchorS + ((perfMs - this.anchorMs) / 1000) * this.rate;
  }
  /** performance.now() timestamp (ms) at which the song reaches songS (the inverse of timeAt). */
  perfAt(songS) {
    return this.anchorMs + ((songS - this.anchorS) / this.rate) * 1000;
  }
  /** Current song time; call once per frame to keep the clock locked to the audio. */
  now() {
    const perf = performance.now();
    if (this.running && !this.free && perf > this.countInEndMs) {
      const a = this.audio.currentTime;
      if (a !== this.lastAudioS) {
        this.lastAudioS = a;
        this.lastAudioChangeMs = perf;
        const predicted = this.timeAt(perf);
        const err = a - predicted;
        // Large jumps (seek, stall) re-anchor; small errors are slewed out gently.
        if (Math.abs(err) > 0.05) { this.anchorS = a; this.anchorMs = perf; }
        else { this.anchorS += err * 0.1; }
      } else if (perf - this.lastAudioChangeMs > 750 && !this.audio.paused) {
        this.free = true;
      }
    }
    return this.timeAt(perf);
  }
}

/** Metronome and count-in clicks on a Web Audio context, scheduled ahead of time. */
export class Clicker {
  constructor() {
    this.ctx = null;
  }
  ensure() {
    if (!this.ctx) this.ctx = new AudioContext({ latencyHint: "interactive" });
    if (this.ctx.state === "suspended") this.ctx.resume();
    return this.ctx;
  }
  /** Click at audio-context time t (accent for downbeats). */
  click(t, accent = false) {
    const ctx = this.ensure();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = accent ? 1760 : 1175;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.5, t + 0.002);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.06);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.08);
  }
  /** performance.now() time (ms) at which audio-context time t is heard. */
  perfAt(t) {
    const ctx = this.ensure();
    const ts = ctx.getOutputTimestamp();
    return ts.performanceTime + (t - ts.contextTime) * 1000;
  }
  /** Audio-context time to schedule a sound at so that it is heard at performance.now() time perfMs. */
  contextAt(perfMs) {
    const ctx = this.ensure();
    const ts = ctx.getOutputTimestamp();
    if (!ts.performanceTime) return ctx.currentTime + (perfMs - performance.now()) / 1000;  // not running yet
    return ts.contextTime + (perfMs - ts.performanceTime) / 1000;
  }
}
