// User preferences kept in localStorage: key maps, MIDI note maps, mic sensitivity.

export const ACTIONS = ["kick", "red", "yellow_cym", "yellow_tom", "blue_cym", "blue_tom", "green_cym",
  "green_tom"];
export const ACTION_LABELS = {
  kick: "Kick", red: "Snare (red)", yellow_cym: "Hi-hat (yellow cymbal)", yellow_tom: "High tom (yellow)",
  blue_cym: "Ride (blue cymbal)", blue_tom: "Mid tom (blue)", green_cym: "Crash (green cymbal)",
  green_tom: "Floor tom (green)",
};
/** Action -> [pad 0..4, cymbal flag]. */
export const ACTION_PAD = {
  kick: [0, false], red: [1, false], yellow_cym: [2, true], yellow_tom: [2, false],
  blue_cym: [3, true], blue_tom: [3, false], green_cym: [4, true], green_tom: [4, false],
};

export const DEFAULT_KEYS = {
  full: { kick: "Space", red: "KeyF", yellow_tom: "KeyG", blue_tom: "KeyH", green_tom: "KeyJ",
    yellow_cym: "KeyT", blue_cym: "KeyY", green_cym: "KeyU" },
  left: { kick: "KeyC", red: "KeyA", yellow_tom: "KeyS", blue_tom: "KeyD", green_tom: "KeyF",
    yellow_cym: "KeyW", blue_cym: "KeyE", green_cym: "KeyR" },
  right: { kick: "KeyN", red: "KeyH", yellow_tom: "KeyJ", blue_tom: "KeyK", green_tom: "KeyL",
    yellow_cym: "KeyU", blue_cym: "KeyI", green_cym: "KeyO" },
};

// MIDI note -> action. Hi-hat pedal (44) is ignored by default, as in the games.
const GM = { 35: "kick", 36: "kick", 37: "red", 38: "red", 39: "red", 40: "red", 42: "yellow_cym",
  46: "yellow_cym", 48: "yellow_tom", 50: "yellow_tom", 45: "blue_tom", 47: "blue_tom", 41: "green_tom",
  43: "green_tom", 51: "blue_cym", 53: "blue_cym", 59: "blue_cym", 49: "green_cym", 52: "green_cym",
  55: "green_cym", 57: "green_cym" };
// Built-in copy, replaced at start-up by the server's maps (GET /api/midi-maps).
export const MIDI_PRESETS = {
  gm: GM,
  // Roland TD: heads and rims, hi-hat bow/edge, crash edges, ride bow/edge/bell.
  roland: { ...GM, 22: "yellow_cym", 26: "yellow_cym", 58: "green_tom" },
  alesis: { ...GM },
  // Yamaha DTX default kit sends snare on 31 and kick on 33 besides the GM keys.
  yamaha: { ...GM, 31: "red", 33: "kick", 34: "red" },
};

/** Replace the built-in presets with the server's (preset -> {note: action}). */
export function setMidiPresets(maps) {
  for (const [name, map] of Object.entries(maps)) MIDI_PRESETS[name] = map;
}

function load(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : structuredClone(fallback);
  } catch (_) {
    return structuredClone(fallback);
  }
}

export const prefs = {
  keys(layout) { return load(`backbeat.keys.${layout}`, DEFAULT_KEYS[layout]); },
  saveKeys(layout, map) { localStorage.setItem(`backbeat.keys.${layout}`, JSON.stringify(map)); },
  resetKeys(layout) { localStorage.removeItem(`backbeat.keys.${layout}`); },
  midiPreset() { return localStorage.getItem("backbeat.midi.preset") || "gm"; },
  midiMap() {
    const preset = this.midiPreset();
    if (preset === "custom") return load("backbeat.midi.custom", GM);
    return MIDI_PRESETS[preset] || GM;
  },
  saveMidi(preset, map) {
    localStorage.setItem("backbeat.midi.preset", preset);
    if (preset === "custom") localStorage.setItem("backbeat.midi.custom", JSON.stringify(map));
  },
  micSensitivity() { return Number(localStorage.getItem("backbeat.mic.sens") || 5); },
  saveMicSensitivity(v) { localStorage.setItem("backbeat.mic.sens", String(v)); },
};
