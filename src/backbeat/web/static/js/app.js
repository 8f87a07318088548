// Backbeat front end: library, play, results, settings. Vanilla ES modules, no build step.

import { api } from "./api.js";
import { calibrateAudio, calibrateVideo } from "./calibration.js";
import { drawHistogram } from "./highway.js";
import { MicSource, midiAccess, midiInputs, MidiSource } from "./inputs.js";
import { PlaySession } from "./play.js";
import { ACTION_LABELS, ACTIONS, MIDI_PRESETS, prefs, setMidiPresets } from "./prefs.js";

const $ = (sel) => document.querySelector(sel);
const LEVELS = ["beginner", "easy", "medium", "hard", "expert"];
const LANES = ["kick", "red", "yellow", "blue", "green", "any"];

// Test hook: lets automated tests read the song clock and state.
window.__backbeat = { screen: "library", session: null, songTime: () => window.__backbeat.session?.clock.now() ?? null };

const state = { songs: [], selected: null, midiInputs: [], calibrations: {}, lastPlay: null };

function show(name) {
  document.querySelectorAll(".screen").forEach((s) => s.classList.toggle("active", s.id === `screen-${name}`));
  document.querySelectorAll(".nav-btn").forEach((b) => b.classList.toggle("active", b.dataset.nav === name));
  window.__backbeat.screen = name;
}
document.querySelectorAll(".nav-btn").forEach((b) => b.addEventListener("click", () => show(b.dataset.nav)));

function fmtTime(s) {
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}
function esc(text) {
  const d = document.createElement("div");
  d.textContent = text == null ? "" : String(text);
  return d.innerHTML;
}

// ---------------------------------------------------------------- library
async function loadLibrary() {
  state.songs = await api.songs();
  const list = $("#song-list");
  list.innerHTML = "";
  for (const song of state.songs) {
    const li = document.createElement("li");
    li.className = "song" + (state.selected && state.selected.id === song.id ? " selected" : "");
    li.dataset.songId = song.id;
    const levels = (song.levels || []).map((l) => `<span class="chip ok">${esc(l)}</span>`).join("");
    const status = song.status === "ready" ? "" :
      `<span class="chip ${song.status === "failed" ? "failed" : "busy"}">${esc(song.status)}</span>`;
    li.innerHTML = `<div class="title">${esc(song.title)}</div>
      <div class="meta">${esc(song.artist)} · ${fmtTime(song.duration_s || 0)}
      ${song.parts && song.parts.length > 1 ? " · " + song.parts.length + " parts" : ""}</div>
      <div class="levels">${levels}${status}</div>
      ${song.error ? `<div class="meta">${esc(song.error)}</div>` : ""}`;
    if (song.status === "ready") li.addEventListener("click", () => selectSong(song));
    list.appendChild(li);
  }
  if (state.songs.some((s) => s.status !== "ready" && s.status !== "failed")) setTimeout(loadLibrary, 1000);
}

function selectSong(song) {
  state.selected = song;
  document.querySelectorAll(".song").forEach((el) => el.classList.toggle("selected", el.dataset.songId === song.id));
  $("#setup").classList.remove("hidden");
  $("#setup-title").textContent = `Play “${song.title}”`;
  renderTempo(song);
  const sel = $("#loop-section");
  sel.innerHTML = `<option value="">whole song</option>` + (song.sections || []).map((s, i) =>
    `<option value="${i}">${esc(s.name)} (${fmtTime(s.start_s)}–${fmtTime(s.end_s)})</option>`).join("");
  renderPlayerRows();
}

/** The song's tempo, and buttons to analyse it again at twice or half of it (a beat level read wrong). */
function renderTempo(song) {
  const box = $("#setup-tempo");
  box.classList.toggle("hidden", !song.bpm);
  if (!song.bpm) return;
  $("#tempo-bpm").textContent = tempoText(song.bpm, song.meter);
  for (const [id, factor] of [["#tempo-double", 2], ["#tempo-half", 0.5]]) {
    const hint = song.bpm * factor;
    const button = $(id);
    button.disabled = hint < 55 || hint > 215;  // the analysed tempo range
    button.onclick = () => reanalyse(song, hint);
  }
}
/** "120 BPM, 4/4"; a compound meter (6/8, 12/8) is counted in dotted quarters, as drummers count it
 * ("56 BPM, 6/8 (dotted quarters)" for a chart tempo of 84 quarter notes a minute). */
export function tempoText(bpm, meter) {
  const [beats, unit] = (meter || "4/4").split("/").map(Number);
  if (unit === 8 && beats % 3 === 0) return `${Math.round(bpm * 2 / 3)} BPM, ${meter} (dotted quarters)`;
  return `${Math.round(bpm)} BPM, ${meter || "4/4"}`;
}
async function reanalyse(song, hint) {
  $("#setup").classList.add("hidden");
  await addSong(song.title, () => api.reanalyse(song.id, hint), "Re-analysing", "Could not re-analyse");
  const fresh = state.songs.find((s) => s.id === song.id);
  if (fresh && fresh.status === "ready") selectSong(fresh);
}

function inputOptions() {
  const opts = [["keyboard-full", "Keyboard"], ["keyboard-left", "Keyboard left half"],
    ["keyboard-right", "Keyboard right half"], ["midi", "MIDI (any kit)"]];
  state.midiInputs.forEach((m, i) => opts.push([`midi:${m.id}`, `MIDI kit ${i + 1}: ${m.name}`]));
  opts.push(["mic", "Microphone"]);
  return opts;
}

function renderPlayerRows() {
  const n = Number(document.querySelector("input[name=nplayers]:checked").value);
  const song = state.selected;
  const rows = $("#player-rows");
  const old = [...rows.querySelectorAll(".player-row")].map((r) => readRow(r));
  rows.innerHTML = "";
  const levels = (song && song.levels) || LEVELS;
  const parts = (song && song.parts) || ["drums"];
  for (let i = 0; i < n; i++) {
    const prev = old[i] || {};
    const defInput = n === 2 ? (i === 0 ? "keyboard-left" : "keyboard-right") : "keyboard-full";
    const row = document.createElement("div");
    row.className = "player-row";
    row.innerHTML = `<input class="p-name" value="${esc(prev.name || `Player ${i + 1}`)}">
      <select class="p-input">${inputOptions().map(([v, l]) => `<option value="${v}">${esc(l)}</option>`).join("")}</select>
      <select class="p-part">${parts.map((p) => `<option>${esc(p)}</option>`).join("")}</select>
      <select class="p-level">${levels.map((l) => `<option>${esc(l)}</option>`).join("")}</select>
      <select class="p-mode"><option value="pads">pads</option><option value="any_pad">any pad (rhythm only)</option></select>`;
    rows.appendChild(row);
    row.querySelector(".p-input").value = n === 2 && !old[1] ? defInput : prev.input || defInput;
    if (prev.part && parts.includes(prev.part)) row.querySelector(".p-part").value = prev.part;
    row.querySelector(".p-level").value = prev.level && levels.includes(prev.level) ? prev.level :
      (levels.includes("medium") ? "medium" : levels[levels.length - 1]);
    if (prev.mode) row.querySelector(".p-mode").value = prev.mode;
  }
}
function readRow(row) {
  const input = row.querySelector(".p-input").value;
  return { name: row.querySelector(".p-name").value.trim() || "Player", input,
    part: row.querySelector(".p-part").value, level: row.querySelector(".p-level").value,
    mode: row.querySelector(".p-mode").value,
    device: input.startsWith("keyboard") ? "keyboard" : input.startsWith("midi") ? "midi" : "mic" };
}
document.querySelectorAll("input[name=nplayers]").forEach((r) => r.addEventListener("change", renderPlayerRows));
$("#rate").addEventListener("input", () => { $("#rate-out").textContent = `${$("#rate").value} %`; });
$("#loop-section").addEventListener("change", () => {
  const i = $("#loop-section").value;
  const sec = i === "" ? null : state.selected.sections[Number(i)];
  $("#loop-a").value = sec ? sec.start_s.toFixed(1) : "";
  $("#loop-b").value = sec ? sec.end_s.toFixed(1) : "";
});

/** Show a song being added or analysed again: the request (upload, import, re-analysis) first, then the processing job's stages. */
async function addSong(name, start, verb = "Uploading", failure = "Could not add") {
  const box = $("#upload-progress");
  const label = box.querySelector(".progress-label");
  const bar = box.querySelector(".progress-bar");
  box.classList.remove("hidden");
  label.textContent = `${verb} ${name}…`;
  try {
    const resp = await start((f) => { bar.style.width = `${Math.round(f * 40)}%`; });
    await loadLibrary();
    for (;;) {
      const job = await api.job(resp.job_id);
      bar.style.width = `${40 + Math.round(job.progress * 60)}%`;
      label.textContent = `${name}: ${job.stage}${job.message ? " — " + job.message : ""}`;
      if (job.state === "done" || job.state === "failed") break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await loadLibrary();
  } catch (err) {
    label.textContent = `${failure} ${name}: ${err.message}`;
    bar.style.width = "0";
  }
}
$("#upload-input").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  await addSong(file.name, (progress) => api.upload(file, progress));
  e.target.value = "";
});
$("#import-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const path = $("#import-path").value.trim();
  if (!path) return;
  await addSong(path.split("/").pop(), () => api.importPath(path), "Importing");
  $("#import-path").value = "";
});

// ---------------------------------------------------------------- play
/** Start a run from the setup form, or carry on `resume` (a run this tab saved before a reload). */
async function startPlay(resume = null) {
  let song, players, practice;
  if (resume) {
    ({ players, practice } = resume);
    song = state.selected;
  } else {
    song = state.selected;
    players = [...document.querySelectorAll(".player-row")].map(readRow);
    const a = parseFloat($("#loop-a").value), b = parseFloat($("#loop-b").value);
    practice = { rate: Number($("#rate").value) / 100, countIn: $("#count-in").checked,
      metronome: $("#metronome").checked,
      fromS: Number.isFinite(a) ? a : null, toS: Number.isFinite(b) && b > (a || 0) ? b : null };
    practice.loop = practice.toS != null;
  }
  for (const p of players) {
    if (!state.calibrations[p.device]) {
      try { state.calibrations[p.device] = await api.calibration(p.device); } catch (_) { /* none yet */ }
    }
  }
  state.lastPlay = { song, players, practice };
  show("play");
  const session = new PlaySession({ song, players, practice, container: $("#highways"), audio: $("#song-audio"),
    calibrations: state.calibrations, resume,
    onStatus: (t) => { $("#song-clock").textContent = fmtTime(Math.max(0, t)); } });
  $("#song-audio").src = song.audio_url;
  session.onFinished = (results) => showResults(session.sessionId, results);
  $("#play-status").textContent = practice.rate < 1 ? `${Math.round(practice.rate * 100)} % speed` : "";
  try {
    await session.start();
  } catch (err) {
    if (resume) {  // the seat is gone (session over, another tab): back to the library
      console.warn("could not resume the run:", err.message);
      session.onFinished = null;
      await session.finish().catch(() => {});
      show("library");
      return;
    }
    $("#play-status").textContent = err.message;
    await session.finish().catch(() => {});
  }
}
$("#start-btn").addEventListener("click", () => startPlay());
$("#stop-btn").addEventListener("click", () => window.__backbeat.session?.finish());
$("#again-btn").addEventListener("click", () => { show("library"); startPlay(); });

/** After a reload in the middle of a run, join the same session again where the song was. */
function resumeAfterReload() {
  const saved = PlaySession.saved();
  if (!saved) return;
  const song = state.songs.find((s) => String(s.id) === String(saved.songId) && s.status === "ready");
  if (!song) { PlaySession.forget(); return; }
  state.selected = song;
  startPlay(saved);
}
$("#back-btn").addEventListener("click", () => { show("library"); loadLibrary(); });

// ---------------------------------------------------------------- results
function resultCard(name, r) {
  const card = document.createElement("div");
  card.className = "result-card";
  if (!r) { card.textContent = `${name}: no result`; return card; }
  const c = r.counts;
  const lanes = Object.entries(r.lanes).filter(([k, v]) => k !== "all" && v.notes > 0)
    .sort(([a], [b]) => LANES.indexOf(a) - LANES.indexOf(b));
  card.innerHTML = `<h3>${esc(name)}</h3>
    <div class="big">${(r.accuracy * 100).toFixed(1)} %</div>
    <div>Score <b>${r.score.toLocaleString()}</b> · max combo <b>${r.max_combo}</b> · ${r.notes_total} notes
      ${r.playback_rate < 1 ? ` · ${Math.round(r.playback_rate * 100)} % speed` : ""}</div>
    <div class="counts"><span style="color:var(--perfect)">Perfect <b>${c.perfect || 0}</b></span>
      <span style="color:var(--great)">Great <b>${c.great || 0}</b></span>
      <span style="color:var(--good)">Good <b>${c.good || 0}</b></span>
      <span style="color:var(--miss)">Miss <b>${c.miss || 0}</b></span>
      <span style="color:var(--muted)">Overhit <b>${c.overhit || 0}</b></span></div>
    <table class="lane-table"><tr><th>lane</th><th>notes</th><th>hits</th><th>early</th><th>late</th>
      <th>mean ms</th><th>sd ms</th></tr>
      ${lanes.map(([k, v]) => `<tr><td>${k}</td><td>${v.notes}</td><td>${v.hits}</td><td>${v.early}</td>
        <td>${v.late}</td><td>${v.mean_offset_ms.toFixed(1)}</td><td>${v.sd_offset_ms.toFixed(1)}</td></tr>`).join("")}
    </table><p class="hint">Timing of every hit (early ← → late)</p>
    <canvas class="histogram" style="width:100%;height:150px"></canvas>`;
  // Hit windows of the mode played (any-pad uses the forgiving beginner windows).
  const windowsMs = r.mode === "any_pad" ? [40, 80, 130] : [25, 50, 90];
  requestAnimationFrame(() => drawHistogram(card.querySelector("canvas"), r.histogram, { windowsMs }));
  return card;
}

async function showResults(sessionId, results) {
  show("results");
  const box = $("#results");
  box.innerHTML = "";
  for (const { player, result } of results) box.appendChild(resultCard(player.name, result));
  try {
    const sessions = await api.sessions();
    $("#session-list").innerHTML = sessions.slice(0, 10).map((s) =>
      `<li>${esc(s.song_title || s.song_id)} — ${esc(s.started_at)} — ${s.players.map((p) =>
        `${esc(p.player)} ${p.accuracy == null ? "" : (p.accuracy * 100).toFixed(1) + " %"}`).join(", ")}</li>`).join("");
  } catch (_) { /* the list is a nicety */ }
  window.__backbeat.results = results;
}

// ---------------------------------------------------------------- settings
function renderKeys() {
  const layout = $("#key-layout").value;
  const map = prefs.keys(layout);
  const table = $("#key-table");
  table.innerHTML = ACTIONS.map((a) => `<tr><td>${ACTION_LABELS[a]}</td>
    <td><button data-action="${a}">${esc(map[a] || "—")}</button></td></tr>`).join("");
  table.querySelectorAll("button").forEach((btn) => btn.addEventListener("click", () => {
    btn.classList.add("listening");
    btn.textContent = "press a key";
    const once = (e) => {
      e.preventDefault();
      const m = prefs.keys(layout);
      m[btn.dataset.action] = e.code;
      prefs.saveKeys(layout, m);
      window.removeEventListener("keydown", once, true);
      renderKeys();
    };
    window.addEventListener("keydown", once, true);
  }));
}
$("#key-layout").addEventListener("change", renderKeys);
$("#key-reset").addEventListener("click", () => { prefs.resetKeys($("#key-layout").value); renderKeys(); });

function renderMidiMap() {
  $("#midi-preset").value = prefs.midiPreset();
  $("#midi-map").value = Object.entries(prefs.midiMap()).map(([n, a]) => `${n} = ${a}`).join("\n");
}
$("#midi-preset").addEventListener("change", () => {
  const p = $("#midi-preset").value;
  if (p !== "custom") { prefs.saveMidi(p, null); renderMidiMap(); }
});
$("#midi-save").addEventListener("click", () => {
  const map = {};
  for (const line of $("#midi-map").value.split("\n")) {
    const m = line.match(/^\s*(\d+)\s*=\s*(\w+)\s*$/);
    if (m && ACTIONS.includes(m[2])) map[m[1]] = m[2];
  }
  prefs.saveMidi("custom", map);
  renderMidiMap();
});
async function connectMidi() {
  try {
    await midiAccess();
    state.midiInputs = await midiInputs();
    $("#midi-status").textContent = state.midiInputs.length
      ? `Inputs: ${state.midiInputs.map((m) => m.name).join(", ")}` : "No MIDI inputs found.";
    const monitor = new MidiSource("", () => {}, (note, vel) => { $("#midi-last").textContent = `note ${note} velocity ${vel}`; });
    await monitor.start().catch(() => {});
    if (state.selected) renderPlayerRows();
  } catch (err) {
    $("#midi-status").textContent = `MIDI unavailable: ${err.message}`;
  }
}
$("#midi-enable").addEventListener("click", connectMidi);

let mic = null;
$("#mic-sens").value = prefs.micSensitivity();
$("#mic-sens").addEventListener("change", () => prefs.saveMicSensitivity($("#mic-sens").value));
$("#mic-enable").addEventListener("click", async () => {
  if (mic) { mic.stop(); mic = null; $("#mic-enable").textContent = "Listen"; return; }
  mic = new MicSource((h) => { $("#mic-last").textContent = `${h.cls} (velocity ${h.velocity})`; });
  try { await mic.start(); $("#mic-enable").textContent = "Stop listening"; }
  catch (err) { $("#mic-last").textContent = `microphone unavailable: ${err.message}`; mic = null; }
});

/** Keep a device's offsets and show them (the record of GET or PUT .../calibration). */
function renderCalibration(device, c) {
  state.calibrations[device] = c;
  $("#cal-audio").textContent = Math.round(c.audio_offset_ms);
  $("#cal-video").textContent = Math.round(c.video_offset_ms);
}
async function showCalibration() {
  const device = $("#cal-device").value;
  try { renderCalibration(device, await api.calibration(device)); }
  catch (err) { $("#cal-status").textContent = err.message; }
}
$("#cal-device").addEventListener("change", showCalibration);
const calStatus = (t) => { $("#cal-status").textContent = t; };
// A finished run shows the saved offsets before its status line, so the two never disagree.
$("#cal-audio-btn").addEventListener("click", async () => {
  calStatus("Listen… tap on every click.");
  const device = $("#cal-device").value;
  try {
    const c = await calibrateAudio(device, calStatus);
    renderCalibration(device, c);
    calStatus(`Audio offset ${Math.round(c.audio_offset_ms)} ms from ${c.used} of ${c.taps} taps.`);
  } catch (err) { calStatus(err.message); showCalibration(); }
});
$("#cal-video-btn").addEventListener("click", async () => {
  calStatus("Watch the circle… tap when it flashes.");
  const device = $("#cal-device").value;
  try {
    const c = await calibrateVideo(device, $("#cal-flash"), calStatus);
    renderCalibration(device, c);
    calStatus(`Video offset ${Math.round(c.video_offset_ms)} ms from ${c.used} of ${c.taps} taps.`);
  } catch (err) { calStatus(err.message); showCalibration(); }
});

// ---------------------------------------------------------------- start
renderKeys();
renderMidiMap();
fetch("/api/midi-maps").then((r) => r.json()).then((maps) => { setMidiPresets(maps); renderMidiMap(); })
  .catch(() => { /* keep the built-in maps */ });
showCalibration();
loadLibrary().then(() => { window.__backbeat.ready = true; resumeAfterReload(); });
if (navigator.requestMIDIAccess && new URLSearchParams(location.search).has("midi")) connectMidi();
export { MIDI_PRESETS };
