// Input sources: keyboard (whole / left half / right half), Web MIDI kits, microphone.
// Every source calls onHit({pad, cymbal, velocity, timeMs, source}) where timeMs is on the
// performance.now() clock (event.timeStamp), so hits are timed when they happened, not when handled.

import { ACTION_PAD, prefs } from "./prefs.js";

export class KeyboardSource {
  constructor(layout, onHit) {
    this.layout = layout;
    this.onHit = onHit;
    this.byCode = {};
    for (const [action, code] of Object.entries(prefs.keys(layout))) this.byCode[code] = action;
    this.handler = (e) => {
      if (e.repeat) return;
      const action = this.byCode[e.code];
      if (!action) return;
      e.preventDefault();
      const [pad, cymbal] = ACTION_PAD[action];
      this.onHit({ pad, cymbal, velocity: 100, timeMs: e.timeStamp, source: `keyboard-${layout}` });
    };
  }
  start() { window.addEventListener("keydown", this.handler); }
  stop() { window.removeEventListener("keydown", this.handler); }
}

let midiAccessPromise = null;
export function midiAccess() {
  if (!navigator.requestMIDIAccess) return Promise.reject(new Error("this browser has no Web MIDI"));
  if (!midiAccessPromise) midiAccessPromise = navigator.requestMIDIAccess({ sysex: false });
  return midiAccessPromise;
}

export async function midiInputs() {
  const access = await midiAccess();
  const out = [];
  access.inputs.forEach((input) => out.push({ id: input.id, name: input.name || input.id }));
  return out;
}

/** A MIDI kit: one input by id, or every input when inputId is empty. Velocity is kept. */
export class MidiSource {
  constructor(inputId, onHit, onRaw = null) {
    this.inputId = inputId || "";
    this.onHit = onHit;
    this.onRaw = onRaw;
    this.inputs = [];
    this.map = prefs.midiMap();
    this.handler = (e) => {
      const [status, note, velocity] = e.data;
      if ((status & 0xf0) !== 0x90 || velocity === 0) return;
      if (this.onRaw) this.onRaw(note, velocity);
      const action = this.map[note];
      if (!action) return;
      const [pad, cymbal] = ACTION_PAD[action];
      this.onHit({ pad, cymbal, velocity, timeMs: e.timeStamp, source: `midi-${this.inputId || "any"}` });
    };
  }
  async start() {
    const access = await midiAccess();
    access.inputs.forEach((input) => {
      if (!this.inputId || input.id === this.inputId) {
        input.addEventListener("midimessage", this.handler);
        this.inputs.push(input);
      }
    });
    if (!this.inputs.length) throw new Error(`MIDI input ${this.inputId || ""} not found`);
  }
  stop() {
    for (const input of this.inputs) input.removeEventListener("midimessage", this.handler);
    this.inputs = [];
  }
}

/** Microphone onsets from an AudioWorklet (spectral flux, adaptive threshold, centroid bands). */
export class MicSource {
  constructor(onHit, { sensitivity = prefs.micSensitivity() } = {}) {
    this.onHit = onHit;
    this.sensitivity = sensitivity;
    this.ctx = null;
    this.stream = null;
  }
  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    this.ctx = new AudioContext({ latencyHint: "interactive" });
    await this.ctx.audioWorklet.addModule("/static/js/mic-worklet.js");
    const src = this.ctx.createMediaStreamSource(this.stream);
    const node = new AudioWorkletNode(this.ctx, "onset-detector", {
      processorOptions: { sensitivity: this.sensitivity },
    });
    node.port.onmessage = (e) => {
      const { time, cls, strength } = e.data;
      // Map audio-context time to the performance clock.
      const ts = this.ctx.getOutputTimestamp();
      const timeMs = ts.performanceTime + (time - ts.contextTime) * 1000;
      const pad = { kick: 0, snare: 1, hihat: 2 }[cls];
      const velocity = Math.max(1, Math.min(127, Math.round(strength * 127)));
      this.onHit({ pad, cymbal: pad === 2, velocity, timeMs, source: "mic", cls });
    };
    src.connect(node);
    this.node = node;
  }
  stop() {
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.ctx) this.ctx.close();
    this.ctx = null;
    this.stream = null;
  }
}

/** Make a source from a player's input choice: "keyboard-full|left|right", "midi:<id>", "mic". */
export function makeSource(choice, onHit) {
  if (choice.startsWith("keyboard-")) return new KeyboardSource(choice.slice(9), onHit);
  if (choice.startsWith("midi")) return new MidiSource(choice.split(":")[1] || "", onHit);
  if (choice === "mic") return new MicSource(onHit);
  throw new Error(`unknown input ${choice}`);
}
