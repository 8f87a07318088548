"""Synthesized drum kits (808/909-style analogue voices) with random parameters, and bank augmentation.

Sampled kits cover acoustic drums well but electronic kits poorly (the held-out
HardElectro kit is the drum model's worst). Every call of :func:`synth_bank`
builds a new kit in the format of :func:`kits.load_bank` (GM key -> variants ->
velocity layers) from random voice parameters, so each training item can get a
kit of its own:

* kick: a sine with an exponential pitch drop (808 boom to 909 punch), a click,
  optional drive;
* snare: a two-partial tone body plus band-passed noise; hand claps (several
  noise bursts and a tail); side stick;
* hi-hats: six detuned square waves at metallic ratios (the 808 recipe) or
  noise, high-passed, short (closed/pedal) or long (open);
* toms: pitched sweeps like the kick, higher and ordered low to high;
* crash/ride: metallic partials plus noise with long decays, a bell for the ride.

:func:`pitch_shift_bank` varispeeds each class of a sampled kit by a few
semitones (tuning and drum size change the timbre of real kits the same way).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from kits import CLASS9_BY_KEY, SR

Bank = dict[int, list[list[tuple[int, np.ndarray]]]]

#: The drum classes in a fixed order: random draws per class follow it, so a seed gives the same kit
#: in every process (a set of strings iterates in an order that changes with each interpreter's hash seed).
CLASSES = tuple(dict.fromkeys(CLASS9_BY_KEY.values()))

#: The 808's six hi-hat/cymbal oscillator frequencies, Hz.
_METAL_HZ = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0])


def _t(dur_s: float) -> np.ndarray:
    return np.arange(int(dur_s * SR)) / SR


def _band(x: np.ndarray, lo_hz: float | None, hi_hz: float | None, order: int = 2) -> np.ndarray:
    if lo_hz and hi_hz:
        sos = butter(order, [lo_hz, min(hi_hz, 0.45 * SR)], btype="bandpass", fs=SR, output="sos")
    elif lo_hz:
        sos = butter(order, lo_hz, btype="highpass", fs=SR, output="sos")
    else:
        sos = butter(order, hi_hz, btype="lowpass", fs=SR, output="sos")
    return sosfilt(sos, x)


def _sweep(t: np.ndarray, f_start_hz: float, f_end_hz: float, tau_s: float) -> np.ndarray:
    """Sine whose frequency falls exponentially from f_start to f_end."""
    f = f_end_hz + (f_start_hz - f_end_hz) * np.exp(-t / tau_s)
    return np.sin(2 * np.pi * np.cumsum(f) / SR)


def _env(t: np.ndarray, decay_s: float, attack_s: float = 0.0005) -> np.ndarray:
    return np.minimum(t / attack_s, 1.0) * np.exp(-t / decay_s)


def _norm(x: np.ndarray) -> np.ndarray:
    return (x / (np.abs(x).max() + 1e-9) * 0.8).astype(np.float32)


def _kick(rng: np.random.Generator) -> np.ndarray:
    decay = rng.uniform(0.12, 0.9)
    t = _t(min(4 * decay + 0.05, 2.0))
    body = _sweep(t, rng.uniform(90, 320), rng.uniform(38, 68), rng.uniform(0.01, 0.06)) * _env(t, decay)
    click = _band(rng.standard_normal(len(t)), rng.uniform(1500, 4000), None)
    click *= _env(t, rng.uniform(0.002, 0.008))
    if rng.random() < 0.5:
        body = np.tanh(rng.uniform(1.5, 5.0) * body)
    return _norm(body + rng.uniform(0.0, 0.3) * click)


def _snare(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.6)
    f0 = rng.uniform(150, 260)
    tone = (np.sin(2 * np.pi * f0 * t) + 0.6 * np.sin(2 * np.pi * f0 * rng.uniform(1.5, 1.9) * t)) \
        * _env(t, rng.uniform(0.03, 0.12))
    noise = _band(rng.standard_normal(len(t)), rng.uniform(800, 2500), rng.uniform(6000, 14000)) \
        * _env(t, rng.uniform(0.06, 0.25))
    mix = rng.uniform(0.2, 0.8)
    return _norm((1 - mix) * tone + mix * noise * 3)


def _clap(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.6)
    noise = _band(rng.standard_normal(len(t)), rng.uniform(700, 1400), rng.uniform(2500, 6000))
    env = np.zeros(len(t))
    gap_s = rng.uniform(0.006, 0.013)
    for k in range(int(rng.integers(3, 5))):
        tk = t - k * gap_s
        env += np.where(tk >= 0, np.exp(-np.maximum(tk, 0) / 0.004), 0.0)
    tail_t = t - 3 * gap_s
    env += np.where(tail_t >= 0, 0.6 * np.exp(-np.maximum(tail_t, 0) / rng.uniform(0.05, 0.2)), 0.0)
    return _norm(noise * env)


def _stick(rng: np.random.Generator) -> np.ndarray:
    t = _t(0.12)
    x = _band(rng.standard_normal(len(t)), rng.uniform(1200, 2200), rng.uniform(3000, 6000)) * _env(t, 0.012)
    x += np.sin(2 * np.pi * rng.uniform(400, 900) * t) * _env(t, 0.02)
    return _norm(x)


def _metal(rng: np.random.Generator, dur_s: float, decay_s: float, lo_hz: float) -> np.ndarray:
    t = _t(dur_s)
    if rng.random() < 0.6:
        ratios = _METAL_HZ * rng.uniform(0.8, 1.6) * (1 + rng.uniform(-0.03, 0.03, len(_METAL_HZ)))
        x = np.sum([np.sign(np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3))) for f in ratios], axis=0)
        x = x + rng.uniform(0, 1.5) * rng.standard_normal(len(t))
    else:
        x = rng.standard_normal(len(t))
    return _band(x, lo_hz, None, order=4) * _env(t, decay_s)


def _hat(rng: np.random.Generator, open_: bool) -> np.ndarray:
    lo = rng.uniform(5000, 9000)
    if open_:
        return _norm(_metal(rng, 1.2, rng.uniform(0.18, 0.5), lo))
    return _norm(_metal(rng, 0.25, rng.uniform(0.015, 0.06), lo))


def _tom(rng: np.random.Generator, f_hz: float) -> np.ndarray:
    decay = rng.uniform(0.15, 0.5)
    t = _t(min(4 * decay, 1.5))
    x = _sweep(t, f_hz * rng.uniform(1.3, 2.2), f_hz, rng.uniform(0.02, 0.08)) * _env(t, decay)
    x += 0.15 * _band(rng.standard_normal(len(t)), 500, 5000) * _env(t, 0.01)
    return _norm(x)


def _crash(rng: np.random.Generator) -> np.ndarray:
    t = _t(2.5)
    x = _metal(rng, 2.5, rng.uniform(0.6, 1.8), rng.uniform(2500, 5000))
    x += 0.5 * _band(rng.standard_normal(len(t)), 3000, None) * _env(t, rng.uniform(0.3, 1.0))
    return _norm(x)


def _ride(rng: np.random.Generator, bell: bool) -> np.ndarray:
    t = _t(2.0)
    x = 0.6 * _metal(rng, 2.0, rng.uniform(0.8, 1.6), rng.uniform(3000, 6000))
    ping = np.sin(2 * np.pi * rng.uniform(2500, 4500) * t) * _env(t, rng.uniform(0.05, 0.2))
    x += rng.uniform(0.3, 0.8) * ping
    if bell:
        f = rng.uniform(700, 1200)
        x += sum(np.sin(2 * np.pi * f * r * t) for r in (1.0, 2.41, 3.9)) * _env(t, 0.6)
    return _norm(x)


def synth_bank(rng: np.random.Generator) -> Bank:
    """A new electronic kit from random voice parameters, in :func:`kits.load_bank` format."""
    bank: Bank = {}

    def put(key: int, wav: np.ndarray) -> None:
        bank[key] = [[(127, wav)]]

    kick = _kick(rng)
    put(35, kick)
    put(36, kick)
    put(37, _stick(rng))
    snare = _snare(rng)
    clap = _clap(rng)
    # Electronic snares are often claps, or claps layered on a snare.
    main = [snare, clap, _norm(snare + clap)][int(rng.integers(3))]
    for key in (38, 40):
        put(key, main)
    put(39, clap)
    put(42, _hat(rng, False))
    put(44, _hat(rng, False))
    put(46, _hat(rng, True))
    base_hz = rng.uniform(70, 110)
    for i, key in enumerate((41, 43, 45, 47, 48, 50)):
        put(key, _tom(rng, base_hz * 1.19 ** i))
    crash = _crash(rng)
    for key in (49, 52, 55, 57):
        put(key, crash)
    ride = _ride(rng, bell=False)
    for key in (51, 59):
        put(key, ride)
    put(53, _ride(rng, bell=True))
    return bank


def _varispeed(wav: np.ndarray, semitones: float) -> np.ndarray:
    ratio = 2 ** (semitones / 12)
    up, down = 100, max(1, round(100 * ratio))
    return resample_poly(wav, up, down).astype(np.float32)


def pitch_shift_bank(bank: Bank, rng: np.random.Generator, *, max_semitones: float = 3.0) -> Bank:
    """The bank with each drum class tuned up or down (varispeed) by its own random amount."""
    shift = {c: float(rng.uniform(-max_semitones, max_semitones)) for c in CLASSES}
    return {key: [[(vmax, _varispeed(w, shift[CLASS9_BY_KEY[key]])) for vmax, w in layers]
                  for layers in variants]
            for key, variants in bank.items()}


def _peak_sos(f_hz: float, gain_db: float, q: float) -> np.ndarray:
    """A peaking-EQ biquad (RBJ cookbook) as one second-order section."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * f_hz / SR
    alpha = np.sin(w) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w), 1 - alpha / a])
    return np.concatenate([b / den[0], den / den[0]])[None, :]


def timbre_eq_bank(bank: Bank, rng: np.random.Generator, *, max_db: float = 10.0) -> Bank:
    """The bank with each drum class re-voiced by its own random EQ.

    Each class gets one or two peaking filters (centre 60 Hz-12 kHz, log-uniform;
    gain up to ``max_db`` either way; Q 0.5-2), so one kit's hi-hat may carry a low
    thump and another's snare may be dark or thin, as unseen kits' voices do. The
    peak level of every sample is kept, so velocities keep their meaning.
    """
    sos = {}
    for c in CLASSES:
        sections = [_peak_sos(float(np.exp(rng.uniform(np.log(60.0), np.log(12000.0)))),
                              float(rng.uniform(-max_db, max_db)), float(rng.uniform(0.5, 2.0)))
                    for _ in range(int(rng.integers(1, 3)))]
        sos[c] = np.concatenate(sections)

    def voiced(w: np.ndarray, cls: str) -> np.ndarray:
        y = sosfilt(sos[cls], w)
        return (y * (np.abs(w).max() / (np.abs(y).max() + 1e-9))).astype(np.float32)

    return {key: [[(vmax, voiced(w, CLASS9_BY_KEY[key])) for vmax, w in layers] for layers in variants]
            for key, variants in bank.items()}
