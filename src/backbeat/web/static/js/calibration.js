// Calibration: tap along to a click (audio offset) or to a flash (video offset). The raw tap offsets
// go to the server, which drops outliers and stores the median per device.

import { api } from "./api.js";
import { Clicker } from "./clock.js";
import { makeSource } from "./inputs.js";

const PERIOD_S = 0.6;
const COUNT = 16;
const WARMUP = 3;

function nearestOffsets(taps, cues) {
  const out = [];
  for (const tap of taps) {
    let best = null;
    for (const c of cues) if (best === null || Math.abs(tap - c) < Math.abs(tap - best)) best = c;
    if (best !== null && Math.abs(tap - best) < (PERIOD_S * 1000) / 2) out.push(tap - best);
  }
  return out;
}

function listenAll(onTap) {
  const sources = [makeSource("keyboard-full", onTap), makeSource("keyboard-left", onTap),
    makeSource("keyboard-right", onTap)];
  const any = (e) => { if (!e.repeat && !sources.some((s) => s.byCode[e.code])) onTap({ timeMs: e.timeStamp }); };
  window.addEventListener("keydown", any);
  sources.forEach((s) => s.start());
  const midi = makeSource("midi", onTap);
  midi.start().catch(() => {});
  return () => { sources.forEach((s) => s.stop()); midi.stop(); window.removeEventListener("keydown", any); };
}

/** Audio calibration: clicks every PERIOD_S; returns the stored calibration. */
export async function calibrateAudio(device, status) {
  const clicker = new Clicker();
  const ctx = clicker.ensure();
  const t0 = ctx.currentTime + 0.3;
  const cues = [];
  for (let i = 0; i < COUNT; i++) {
    clicker.click(t0 + i * PERIOD_S, i % 4 === 0);
    if (i >= WARMUP) cues.push(clicker.perfAt(t0 + i * PERIOD_S));
  }
  const taps = [];
  window.__backbeat.calibration = { kind: "audio", cues };   // test hook: when each click sounds
  const stop = listenAll((h) => { taps.push(h.timeMs); status(`${taps.length} taps`); });
  await new Promise((r) => setTimeout(r, (0.3 + COUNT * PERIOD_S + 0.4) * 1000));
  stop();
  return api.saveCalibration(device, { kind: "audio", offsets_ms: nearestOffsets(taps, cues) });
}

/** Video calibration: a flash every PERIOD_S, timed by the frame that shows it. */
export async function calibrateVideo(device, flashEl, status) {
  const cues = [];
  const taps = [];
  window.__backbeat.calibration = { kind: "video", cues };   // test hook: when each flash is shown
  const stop = listenAll((h) => { taps.push(h.timeMs); status(`${taps.length} taps`); });
  const start = performance.now() + 300;
  await new Promise((resolve) => {
    let shown = -1;
    const frame = (t) => {
      const i = Math.floor((t - start) / (PERIOD_S * 1000));
      const phase = (t - start) % (PERIOD_S * 1000);
      const on = i >= 0 && phase < 90;
      if (on && i !== shown) { shown = i; if (i >= WARMUP) cues.push(t); }
      flashEl.classList.toggle("on", on);
      if (i >= COUNT) { flashEl.classList.remove("on"); resolve(); } else requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  await new Promise((r) => setTimeout(r, 300));
  stop();
  return api.saveCalibration(device, { kind: "video", offsets_ms: nearestOffsets(taps, cues) });
}
