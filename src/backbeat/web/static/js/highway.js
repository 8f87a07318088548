// Scrolling note highway on a canvas, in perspective, lanes laid out like a kit:
// kick is a bar across the highway; red (snare), yellow, blue, green lanes; cymbals are drawn as
// flat discs with a rim, toms as rounded drum heads.

export const LANE_COLORS = ["#ff8a3d", "#ef4b4b", "#f5d142", "#3d8bff", "#37c871"];
const LOOKAHEAD_S = 1.6;
const DEPTH = 2.2;

export class Highway {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{notes: Array<{t:number,pad:number,cymbal:boolean}>, beats: Array<{t:number,pos:number}>}} chart
   */
  constructor(canvas, chart) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.notes = chart.notes;
    this.beats = chart.beats || [];
    this.state = new Array(this.notes.length).fill(0);   // 0 pending, 1 hit, 2 missed
    this.flash = [0, 0, 0, 0, 0];
    this.first = 0;
    this.resize();
  }
  resize() {
    const dpr = window.devicePixelRatio || 1;
    const r = this.canvas.getBoundingClientRect();
    this.w = Math.max(200, r.width);
    this.h = Math.max(200, r.height);
    this.canvas.width = Math.round(this.w * dpr);
    this.canvas.height = Math.round(this.h * dpr);
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  markNote(index, hit) { if (index >= 0 && index < this.state.length) this.state[index] = hit ? 1 : 2; }
  pulse(pad, nowMs) { this.flash[pad] = nowMs; }

  // Perspective: p = 0 at the strike line, 1 at the horizon.
  project(p, laneX) {
    const s = 1 / (1 + DEPTH * p);
    const s1 = 1 / (1 + DEPTH);
    const k = (s - s1) / (1 - s1);
    const top = this.h * 0.06, strike = this.h * 0.86;
    const cx = this.w / 2;
    return { x: cx + (laneX - cx) * s, y: top + (strike - top) * k, s };
  }

  draw(songTimeS, nowMs) {
    const { ctx, w, h } = this;
    this.drawnSongS = songTimeS;
    const half = Math.min(w * 0.46, h * 0.42);
    const left = w / 2 - half, right = w / 2 + half, laneW = (right - left) / 4;
    ctx.clearRect(0, 0, w, h);
    const bg = ctx.createLinearGradient(0, 0, 0, h);
    bg.addColorStop(0, "#0b0c12"); bg.addColorStop(1, "#1d2030");
    ctx.fillStyle = bg;
    ctx.fillRect(0, 0, w, h);

    // Highway surface.
    const a = this.project(1, left), b = this.project(1, right), c = this.project(0, right), d = this.project(0, left);
    ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.lineTo(c.x, c.y + 30); ctx.lineTo(d.x, d.y + 30);
    ctx.closePath();
    const surf = ctx.createLinearGradient(0, a.y, 0, d.y);
    surf.addColorStop(0, "#151724"); surf.addColorStop(1, "#262a3d");
    ctx.fillStyle = surf; ctx.fill();
    ctx.strokeStyle = "#3a3f5a"; ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const p0 = this.project(1, left + i * laneW), p1 = this.project(0, left + i * laneW);
      ctx.beginPath(); ctx.moveTo(p0.x, p0.y); ctx.lineTo(p1.x, p1.y + 30); ctx.stroke();
    }
    // Beat lines.
    for (const beat of this.beats) {
      const p = (beat.t - songTimeS) / LOOKAHEAD_S;
      if (p < -0.05 || p > 1) continue;
      const l = this.project(Math.max(p, 0), left), r = this.project(Math.max(p, 0), right);
      ctx.strokeStyle = beat.pos === 1 ? "rgba(255,255,255,0.45)" : "rgba(255,255,255,0.15)";
      ctx.lineWidth = beat.pos === 1 ? 2 : 1;
      ctx.beginPath(); ctx.moveTo(l.x, l.y); ctx.lineTo(r.x, r.y); ctx.stroke();
    }
    // Strike line with pads.
    const sl = this.project(0, left), sr = this.project(0, right);
    const kickAge = nowMs - this.flash[0];
    ctx.fillStyle = kickAge < 120 ? "rgba(255,138,61,0.8)" : "rgba(255,138,61,0.35)";
    ctx.fillRect(sl.x, sl.y - 4, sr.x - sl.x, 8);
    for (let lane = 0; lane < 4; lane++) {
      const pad = lane + 1;
      const x = this.project(0, left + (lane + 0.5) * laneW).x;
      const age = nowMs - this.flash[pad];
      ctx.beginPath();
      ctx.ellipse(x, sl.y, laneW * 0.38, laneW * 0.14, 0, 0, Math.PI * 2);
      ctx.lineWidth = 3;
      ctx.strokeStyle = LANE_COLORS[pad];
      ctx.stroke();
      if (age < 120) {
        ctx.fillStyle = LANE_COLORS[pad] + "aa";
        ctx.fill();
      }
    }
    // Notes, far to near so near ones draw on top.
    while (this.first < this.notes.length && this.notes[this.first].t < songTimeS - 0.5) this.first++;
    let last = this.first;
    while (last < this.notes.length && this.notes[last].t < songTimeS + LOOKAHEAD_S) last++;
    for (let i = last - 1; i >= this.first; i--) {
      const n = this.notes[i];
      if (this.state[i] === 1) continue;
      const p = (n.t - songTimeS) / LOOKAHEAD_S;
      if (p < -0.12) continue;
      const missed = this.state[i] === 2;
      const color = missed ? "#555a70" : LANE_COLORS[n.pad];
      if (n.pad === 0) {
        const l = this.project(Math.max(p, -0.1), left), r = this.project(Math.max(p, -0.1), right);
        ctx.fillStyle = color;
        ctx.fillRect(l.x, l.y - 5 * l.s, r.x - l.x, 10 * l.s);
        continue;
      }
      const q = this.project(Math.max(p, -0.1), left + (n.pad - 0.5) * laneW);
      const rw = laneW * 0.4 * q.s, rh = laneW * 0.16 * q.s;
      if (n.cymbal) {
        ctx.beginPath();
        ctx.ellipse(q.x, q.y, rw * 1.05, rh * 0.75, 0, 0, Math.PI * 2);
        ctx.fillStyle = color; ctx.fill();
        ctx.lineWidth = 2 * q.s; ctx.strokeStyle = "rgba(255,255,255,0.85)"; ctx.stroke();
        ctx.beginPath(); ctx.ellipse(q.x, q.y, rw * 0.18, rh * 0.2, 0, 0, Math.PI * 2);
        ctx.fillStyle = "#fff"; ctx.fill();
      } else {
        ctx.beginPath();
        ctx.roundRect(q.x - rw, q.y - rh, rw * 2, rh * 2, rh);
        ctx.fillStyle = color; ctx.fill();
        ctx.lineWidth = 2 * q.s; ctx.strokeStyle = "rgba(0,0,0,0.5)"; ctx.stroke();
        ctx.fillStyle = "rgba(255,255,255,0.35)";
        ctx.fillRect(q.x - rw * 0.7, q.y - rh * 0.55, rw * 1.4, rh * 0.35);
      }
    }
  }
}

/** Timing histogram: offsets in ms (negative early) as bars, with the hit windows shaded. */
export function drawHistogram(canvas, histogram, { windowsMs = [25, 50, 90] } = {}) {
  const ctx = canvas.getContext("2d");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 380, h = canvas.clientHeight || 140;
  canvas.width = w * dpr; canvas.height = h * dpr;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#151724"; ctx.fillRect(0, 0, w, h);
  const counts = histogram.counts || [];
  const edges = counts.map((_, i) => histogram.start_ms + i * histogram.bin_ms);
  edges.push(histogram.start_ms + counts.length * histogram.bin_ms);
  if (!counts.length) {
    ctx.fillStyle = "#9a9db2"; ctx.fillText("no hits", 10, 20); return;
  }
  const lo = edges[0], hi = edges[edges.length - 1];
  const xOf = (ms) => 10 + ((ms - lo) / (hi - lo)) * (w - 20);
  const shades = ["rgba(125,249,255,0.12)", "rgba(55,200,113,0.08)", "rgba(245,209,66,0.06)"];
  for (let i = windowsMs.length - 1; i >= 0; i--) {
    ctx.fillStyle = shades[i];
    ctx.fillRect(xOf(-windowsMs[i]), 0, xOf(windowsMs[i]) - xOf(-windowsMs[i]), h - 18);
  }
  const max = Math.max(1, ...counts);
  for (let i = 0; i < counts.length; i++) {
    const x0 = xOf(edges[i]), x1 = xOf(edges[i + 1]);
    const bh = (counts[i] / max) * (h - 30);
    ctx.fillStyle = Math.abs((edges[i] + edges[i + 1]) / 2) <= windowsMs[0] ? "#7df9ff" : "#ff8a3d";
    ctx.fillRect(x0 + 1, h - 18 - bh, Math.max(1, x1 - x0 - 2), bh);
  }
  ctx.strokeStyle = "#fff"; ctx.beginPath(); ctx.moveTo(xOf(0), 0); ctx.lineTo(xOf(0), h - 18); ctx.stroke();
  ctx.fillStyle = "#9a9db2"; ctx.font = "11px system-ui";
  ctx.fillText(`early ${lo} ms`, 10, h - 4);
  ctx.fillText("0", xOf(0) - 3, h - 4);
  ctx.fillText(`late +${hi} ms`, w - 80, h - 4);
}
