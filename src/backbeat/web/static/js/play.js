// A play-along run: song clock, one highway + WebSocket + input source per player, practice options.

import { api } from "./api.js";
import { Clicker, SongClock } from "./clock.js";
import { Highway } from "./highway.js";
import { makeSource } from "./inputs.js";

const PROTOCOL = 1;
const TICK_MS = 250;
/** sessionStorage key of the run in progress, so that a reload of the page resumes it. */
const SAVE_KEY = "backbeat.play";

/**
 * One player's connection to /ws/play: sends hits and ticks, receives judgments and the result.
 * `resume` ({seq, pending}, saved before a page reload) carries on a seat this tab already held.
 */
class PlayerRun {
  constructor({ sessionId, player, part, level, mode, rate, device, fromS, toS }, view, resume = null) {
    // batch: the server may send several messages in one frame, as a JSON array (see onMessage).
    this.join = { v: PROTOCOL, type: "join", session: sessionId, player, part, level, mode, rate, device,
      batch: true };
    if (fromS != null) this.join.from_s = fromS;
    if (toS != null) this.join.to_s = toS;
    this.view = view;
    this.seq = resume ? resume.seq : 0;
    this.result = null;
    this.error = null;
    this.judgments = [];
    this.storedSeq = -1;
    this.pending = resume ? resume.pending : [];  // hits sent but not yet known to be stored
    this.retries = 0;
    this.ending = false;
    this.resuming = !!resume;
  }
  open() {
    return new Promise((resolve, reject) => {
      this.joinWaiter = { resolve, reject };
      this.connect();
    });
  }
  /** (Re)connect and join; after a dropped connection the server resumes the seat from the stored hits. */
  connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws/play`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify(this.join));
    ws.onmessage = (e) => {
      const data = JSON.parse(e.data);
      if (Array.isArray(data)) for (const msg of data) this.onMessage(ws, msg);
      else this.onMessage(ws, data);
    };
    ws.onclose = (e) => {
      if (ws !== this.ws) return;
      // Lost connection (not a refusal by the server, not the end): reconnect and carry on.
      const dropped = ([1001, 1006, 1011, 1012, 1013].includes(e.code) || this.staleSeat) && !this.ending &&
        !this.error;
      this.staleSeat = false;
      if (dropped && this.retries < 40) {
        this.view.status("connection lost, reconnecting…");
        setTimeout(() => this.connect(), Math.min(2000, 250 * 2 ** this.retries++));
        return;
      }
      if (this.onClosed) this.onClosed(e);
      if (this.joinWaiter && e.code !== 1000) {
        this.joinWaiter.reject(new Error(`connection closed (${e.code}) ${e.reason}`));
        this.joinWaiter = null;
      }
    };
  }
  /** One server message (a frame holds one, or an array of several: the join asked for batches). */
  onMessage(ws, msg) {
    if (msg.type === "joined") {
      this.retries = 0;
      this.resuming = false;
      this.storedSeq = Math.max(this.storedSeq, msg.last_seq);
      this.seq = Math.max(this.seq, msg.last_seq + 1);
      // Resend what the server never stored (hits sent while the connection was down).
      for (const h of this.unacked()) ws.send(JSON.stringify(h));
      if (this.joinWaiter) { this.joinWaiter.resolve(msg); this.joinWaiter = null; }
      if (msg.resumed) this.view.status("reconnected");
    } else if (msg.type === "judgment") {
      this.storedSeq = Math.max(this.storedSeq, msg.stored);
      this.onJudgment(msg);
    } else if (msg.type === "stored") this.storedSeq = Math.max(this.storedSeq, msg.seq);
    else if (msg.type === "result") { this.result = msg.result; if (this.onResult) this.onResult(msg); }
    else if (msg.type === "error") {
      // While reconnecting (or resuming after a reload), the server may not have noticed the old
      // connection die yet: keep trying (a little only when resuming: it may be a duplicated tab).
      const stale = msg.code === "duplicate_player" && (this.resuming ? this.retries < 6 : this.retries > 0);
      if (stale) { this.staleSeat = true; return; }
      this.error = msg;
      this.view.status(msg.message);
      if (this.joinWaiter) { this.joinWaiter.reject(new Error(msg.message)); this.joinWaiter = null; }
    }
  }
  unacked() {
    this.pending = this.pending.filter((h) => h.seq > this.storedSeq);
    return this.pending;
  }
  send(obj) { if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj)); }
  hit(tSongS, pad, velocity, cymbal) {
    this.lastSendMs = performance.now();
    const msg = { v: PROTOCOL, type: "hit", seq: this.seq++, t_song_s: tSongS, pad, velocity, cymbal };
    this.pending.push(msg);
    if (this.pending.length > 256) this.unacked();
    this.send(msg);
  }
  tick(tSongS) {
    // A hit advances the server's clock too: no tick needed right after one.
    if (this.lastSendMs && performance.now() - this.lastSendMs < TICK_MS) return;
    this.send({ v: PROTOCOL, type: "tick", t_song_s: tSongS });
  }
  onJudgment(msg) {
    this.judgments.push(msg);
    this.view.judgment(msg);
  }
  /** Ask for the result; resolves with it once the server has stored everything. */
  end() {
    return new Promise((resolve) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) { resolve(this.result); return; }
      this.ending = true;
      this.onResult = () => resolve(this.result);
      this.onClosed = () => resolve(this.result);
      this.send({ v: PROTOCOL, type: "end" });
    });
  }
}

/** The DOM and canvas of one player's highway, with score, combo and judgment text. */
class PlayerView {
  constructor(container, name, chart) {
    this.el = document.createElement("div");
    this.el.className = "highway";
    this.el.innerHTML = `<canvas></canvas>
      <div class="hud"><div><div class="score">0</div><div class="who"></div></div>
      <div class="combo"></div></div><div class="judgment"></div>`;
    container.appendChild(this.el);
    this.el.querySelector(".who").textContent = `${name} · ${chart.level} · ${chart.part}`;
    this.highway = new Highway(this.el.querySelector("canvas"), chart);
    this.scoreEl = this.el.querySelector(".score");
    this.comboEl = this.el.querySelector(".combo");
    this.judgEl = this.el.querySelector(".judgment");
    this.counts = {};
  }
  judgment(msg) {
    if (msg.note_index != null) this.highway.markNote(msg.note_index, msg.judgment !== "miss");
    this.counts[msg.judgment] = (this.counts[msg.judgment] || 0) + 1;
    this.scoreEl.textContent = msg.score.toLocaleString();
    this.comboEl.textContent = msg.combo > 1 ? `${msg.combo} combo · x${msg.multiplier}` : "";
    const off = msg.offset_ms == null ? "" : ` ${msg.offset_ms > 0 ? "+" : ""}${Math.round(msg.offset_ms)} ms`;
    this.judgEl.className = `judgment ${msg.judgment}`;
    this.judgEl.textContent = msg.judgment.toUpperCase() + off;
    this.judgTime = performance.now();
  }
  status(text) { this.judgEl.className = "judgment miss"; this.judgEl.textContent = text; }
  frame(songS, nowMs) {
    this.highway.draw(songS, nowMs);
    if (this.judgTime && nowMs - this.judgTime > 600) { this.judgEl.textContent = ""; this.judgTime = 0; }
  }
}

/**
 * A play session: players = [{name, input, part, level, mode, device}], practice =
 * {rate, fromS, toS, countIn, metronome}.
 */
export class PlaySession {
  constructor({ song, players, practice, container, audio, onStatus, calibrations, resume }) {
    this.song = song;
    this.resume = resume || null;  // a run saved before a page reload (see save())
    this.players = players;
    this.practice = practice;
    this.container = container;
    this.audio = audio;
    this.onStatus = onStatus || (() => {});
    this.calibrations = calibrations || {};
    this.clock = new SongClock(audio);
    this.clicker = new Clicker();
    this.slots = [];
    this.stopped = false;
    this.frames = 0;
    this.passes = [];
    this.looping = false;
  }

  async start() {
    const { song, practice } = this;
    this.container.innerHTML = "";
    const resume = this.resume;
    const session = resume ? { id: resume.sessionId }
      : await api.createSession(song.id, { players: this.players.map((p) => p.name) });
    this.sessionId = session.id;
    for (const [i, p] of this.players.entries()) {
      const chart = await api.chart(song.id, p.part, p.level);
      const view = new PlayerView(this.container, p.name, chart);
      const run = new PlayerRun({ sessionId: session.id, player: p.name, part: p.part, level: p.level,
        mode: p.mode || "pads", rate: practice.rate, device: p.device, fromS: practice.fromS,
        toS: practice.toS }, view, resume ? resume.runs[i] : null);
      const slot = { player: p, chart, view, run, source: null };
      const videoS = (this.calibrations[p.device]?.video_offset_ms || 0) / 1000;
      slot.videoS = videoS;
      slot.source = makeSource(p.input, (h) => {
        const t = this.clock.timeAt(h.timeMs);
        view.highway.pulse(h.pad, performance.now());
        run.hit(t, h.pad, h.velocity, h.cymbal);
      });
      this.slots.push(slot);
    }
    window.__backbeat.session = this;
    await Promise.all(this.slots.map((s) => s.run.open()));
    for (const s of this.slots) await s.source.start();
    this.duration = this.slots[0].chart.duration_s;
    const fromS = resume ? resume.songS : practice.fromS || 0;
    const beatS = this.beatPeriodAt(fromS);
    const countInS = practice.countIn && !resume ? (beatS * 4) / practice.rate : 0;
    if (countInS > 0) {
      const ctx = this.clicker.ensure();
      for (let i = 0; i < 4; i++) this.clicker.click(ctx.currentTime + 0.05 + (i * beatS) / practice.rate, i === 0);
    }
    this.onResize = () => this.slots.forEach((s) => s.view.highway.resize());
    window.addEventListener("resize", this.onResize);
    this.startedMs = performance.now();
    this.raf = requestAnimationFrame((t) => this.frame(t));
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.metroTimer = setInterval(() => this.metronome(), 25);
    this.nextMetroBeat = 0;
    this.onPageHide = () => this.save();
    window.addEventListener("pagehide", this.onPageHide);
    await this.clock.start(fromS, practice.rate, countInS);
  }

  /** Remember the run in this tab (session, song position, each player's unstored hits) for a reload. */
  save() {
    if (this.stopped || this.looping || !this.sessionId || this.slots.length !== this.players.length) return;
    const record = { songId: this.song.id, sessionId: this.sessionId, players: this.players,
      practice: this.practice, songS: Math.max(0, this.clock.now()),
      runs: this.slots.map((s) => ({ seq: s.run.seq, pending: s.run.unacked() })) };
    try { sessionStorage.setItem(SAVE_KEY, JSON.stringify(record)); } catch (_) { /* storage full or off */ }
  }
  /** The run saved in this tab before a reload, or null. */
  static saved() {
    try { return JSON.parse(sessionStorage.getItem(SAVE_KEY) || "null"); } catch (_) { return null; }
  }
  static forget() {
    try { sessionStorage.removeItem(SAVE_KEY); } catch (_) { /* nothing saved */ }
  }

  beatPeriodAt(timeS) {
    const beats = this.slots[0].chart.beats;
    for (let i = 1; i < beats.length; i++) if (beats[i].t > timeS) return beats[i].t - beats[i - 1].t;
    return 0.5;
  }

  metronome() {
    if (!this.practice.metronome || this.stopped) return;
    const beats = this.slots[0].chart.beats;
    const now = this.clock.now();
    while (this.nextMetroBeat < beats.length && beats[this.nextMetroBeat].t < now) this.nextMetroBeat++;
    while (this.nextMetroBeat < beats.length && beats[this.nextMetroBeat].t < now + 0.12 * this.practice.rate) {
      const b = beats[this.nextMetroBeat++];
      // Heard when the song clock (the time judgments and the highway use) reaches the beat.
      this.clicker.click(this.clicker.contextAt(this.clock.perfAt(b.t)), b.pos === 1);
    }
  }

  tick() {
    if (this.stopped) return;
    const t = this.clock.now();
    for (const s of this.slots) s.run.tick(t);
    this.save();
    const endS = this.practice.toS != null ? this.practice.toS : this.duration;
    if (t > endS + 0.3 && !this.looping) {
      if (this.practice.toS != null && this.practice.loop) this.restartLoop();
      else this.finish();
    }
  }

  async restartLoop() {
    // Each pass through the loop is its own scored run, in a new session.
    if (this.looping) return;
    this.looping = true;
    const results = await Promise.all(this.slots.map((s) => s.run.end()));
    this.passes.push(this.slots.map((s, i) => ({ player: s.player, result: results[i] })));
    const session = await api.createSession(this.song.id, { players: this.players.map((p) => p.name) });
    this.sessionId = session.id;
    for (const s of this.slots) {
      const j = s.run.join;
      s.run = new PlayerRun({ sessionId: session.id, player: j.player, part: j.part, level: j.level, mode: j.mode,
        rate: j.rate, device: j.device, fromS: j.from_s, toS: j.to_s }, s.view);
      s.view.highway.state.fill(0);
      s.view.highway.first = 0;
      await s.run.open();
    }
    this.clock.seek(this.practice.fromS || 0);
    this.nextMetroBeat = 0;
    this.looping = false;
  }

  frame(t) {
    if (this.stopped) return;
    const song = this.clock.now();
    this.frameSongS = song;
    this.frames++;
    for (const s of this.slots) s.view.frame(song + s.videoS, t);
    this.onStatus(song);
    this.raf = requestAnimationFrame((x) => this.frame(x));
  }

  async finish() {
    if (this.stopped) return this.results;
    this.stopped = true;
    PlaySession.forget();
    window.removeEventListener("resize", this.onResize);
    window.removeEventListener("pagehide", this.onPageHide);
    clearInterval(this.tickTimer);
    clearInterval(this.metroTimer);
    cancelAnimationFrame(this.raf);
    for (const s of this.slots) s.source.stop();
    this.clock.stop();
    const results = await Promise.all(this.slots.map((s) => s.run.end()));
    this.results = this.slots.map((s, i) => ({ player: s.player, result: results[i] }));
    if (this.onFinished) this.onFinished(this.results);
    return this.results;
  }
}
