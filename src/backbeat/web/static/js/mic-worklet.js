// AudioWorklet onset detector: 1024-point FFT every 256 samples, half-wave rectified spectral flux
// on log magnitudes, adaptive threshold (moving median + k * mean absolute deviation), 60 ms refractory
// time; each onset is classed kick / snare / hi-hat by the spectral centroid of the new energy (rise of
// linear power over the previous frame). Same algorithm and constants as backbeat/devices/onsets.py,
// which is tested against annotated drum recordings.

const N = 1024;
const HOP = 256;

function fft(re, im) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j], re[i]]; [im[i], im[j]] = [im[j], im[i]]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang), wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1, ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k, b = a + len / 2;
        const tr = re[b] * cr - im[b] * ci, ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr; im[b] = im[a] - ti; re[a] += tr; im[a] += ti;
        const ncr = cr * wr - ci * wi; ci = cr * wi + ci * wr; cr = ncr;
      }
    }
  }
}

class OnsetDetector extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const sens = (options.processorOptions && options.processorOptions.sensitivity) || 5;
    this.k = 4.25 - sens * 0.25;          // threshold multiplier: higher sensitivity, lower threshold
    this.buf = new Float32Array(N);
    this.pos = 0;
    this.sinceHop = 0;
    this.window = new Float32Array(N).map((_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N));
    this.prev = new Float32Array(N / 2);
    this.prevPower = new Float32Array(N / 2);
    this.power = new Float32Array(N / 2);
    this.history = [];
    this.lastOnset = -1;
    this.peak = 1e-6;
  }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    for (let i = 0; i < input.length; i++) {
      this.buf[this.pos] = input[i];               // ring buffer: pos is the oldest sample after this
      this.pos = (this.pos + 1) % N;
      if (++this.sinceHop >= HOP) {
        this.sinceHop = 0;
        this.frame(currentTime + (i + 1) / sampleRate);   // end of this frame
      }
    }
    return true;
  }
  frame(time) {
    const re = new Float32Array(N), im = new Float32Array(N);
    for (let i = 0; i < N; i++) re[i] = this.buf[(this.pos + i) % N] * this.window[i];
    fft(re, im);
    let flux = 0, wsum = 0, msum = 0;
    for (let b = 1; b < N / 2; b++) {
      const p = re[b] * re[b] + im[b] * im[b];
      const mag = Math.log1p(100 * Math.sqrt(p));
      const d = mag - this.prev[b];
      if (d > 0) flux += d;
      this.prev[b] = mag;
      const rise = p - this.prevPower[b];
      if (rise > 0) { wsum += rise * b; msum += rise; }
      this.power[b] = p;
    }
    [this.prevPower, this.power] = [this.power, this.prevPower];
    const h = this.history;
    h.push(flux);
    if (h.length > 43) h.shift();                  // ~250 ms of context at 44.1 kHz
    const sorted = [...h].sort((a, b) => a - b);
    const med = sorted[sorted.length >> 1];
    const mad = h.reduce((s, x) => s + Math.abs(x - med), 0) / h.length;
    const thr = med + this.k * mad + 1.0;
    if (flux > thr && time - this.lastOnset > 0.06) {
      this.lastOnset = time;
      this.peak = Math.max(this.peak * 0.99, flux);
      const centroidHz = msum > 0 ? (wsum / msum) * sampleRate / N : 0;
      const cls = centroidHz < 250 ? "kick" : centroidHz < 2000 ? "snare" : "hihat";
      // The onset happened about half a window before the frame end.
      this.port.postMessage({ time: time - (N / 2) / sampleRate, cls, centroidHz,
        strength: Math.min(1, flux / this.peak) });
    }
  }
}

registerProcessor("onset-detector", OnsetDetector);
