"""Drum kits as one-shot sample banks, for fast numpy rendering of training audio.

A *bank* maps a General MIDI percussion key to one or more variants, each a
list of velocity layers ``(velocity_max 1-127, samples float32 mono 44.1 kHz)``.

Sources (all installed Debian packages, redistributable):

* SoundFont kits (``fluid-soundfont-gm`` FluidR3_GM drum kits, ``avldrums``
  AVL Black Pearl / Red Zeppelin, ``musescore-general-soundfont-small``
  MuseScore General .sf3, ``timgm6mb-soundfont`` TimGM6mb, ``csound-soundfont`` sf_GMbank,
  ``opl3-soundfont`` OPL-3 FM): every key is rendered once per velocity layer by the fluidsynth
  command line and sliced.
* Hydrogen drum kits (``hydrogen-drumkits``; the tenth set's GMRockKit and
  TR808EmulationKit from ``hydrogen-data``): ``drumkit.xml`` is parsed and its
  wav/flac/aiff samples loaded with their velocity layers; instrument names are
  mapped to GM keys by keyword.
* Sonic Pi's one-shots (``sonic-pi-samples``, CC0): kicks, snares, an acoustic
  kit's hats, toms and cymbals; :func:`sonic_pi_bank` draws a kit from them per item.

Banks are cached as ``cache/banks/<kit>.npz`` (plain arrays, no pickle), as sampled;
:func:`load_bank` then puts GM sounds on the keys where a kit leaves the GM drum map
(:data:`ORCHESTRA_BASE`, :data:`AVL_KITS`).
"""

from __future__ import annotations

import functools
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import mido
import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SR = 44100
REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "cache"
SF2_DIR = Path("/usr/share/sounds/sf2")
HYDROGEN_DIR = Path("/usr/share/hydrogen/data/drumkits")
SONIC_PI_DIR = Path("/usr/share/sonic-pi/samples")

#: GM keys we sample from every kit.
GM_KEYS = (35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 55, 57, 59)
SF2_VELOCITIES = (25, 50, 75, 100, 127)
SAMPLE_S = 2.5

#: key -> class9 (KD SD HHC HHO LT MT HT CR RD).
CLASS9_BY_KEY = {
    35: "KD", 36: "KD", 37: "SD", 38: "SD", 39: "SD", 40: "SD",
    41: "LT", 43: "LT", 45: "MT", 47: "MT", 48: "HT", 50: "HT",
    42: "HHC", 44: "HHC", 46: "HHO",
    49: "CR", 52: "CR", 55: "CR", 57: "CR", 51: "RD", 53: "RD", 59: "RD",
}
CLASS5_BY_CLASS9 = {"KD": "KD", "SD": "SD", "HHC": "HH", "HHO": "HH", "LT": "TT", "MT": "TT", "HT": "TT",
                    "CR": "CY", "RD": "CY"}

#: MuseScore General (``musescore-general-soundfont-small``, MIT; parts CC0/PD), an .sf3 (Ogg Vorbis samples).
MUSESCORE_SF3 = "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"
#: FluidR3_GM variant presets of the base kits (other kick/snare/hi-hat samples or tunings). Room 1 and
#: Jazz 1 are left out: their kick, snare, hi-hat and crash are those of Standard 1 and Standard 2.
_FLUID_VARIANTS = (("standard1", 1), ("standard2", 2), ("standard3", 3), ("standard4", 4), ("standard5", 5),
                   ("standard6", 6), ("standard7", 7), ("room3", 11), ("room5", 13), ("room7", 15),
                   ("power1", 17), ("power3", 19), ("jazz3", 35), ("brush1", 41), ("orchestra", 48))
_MUSESCORE_KITS = (("standard", 0), ("standard2", 2), ("standard5", 5), ("room", 8), ("room3", 11),
                   ("power", 16), ("power2", 18), ("electronic", 24), ("jazz", 32), ("jazz2", 34),
                   ("brush", 40), ("brush2", 42), ("orchestra", 48))  # its TR-808 is FluidR3's
#: TimGM6mb (``timgm6mb-soundfont``, GPL-2): small, lo-fi GM kits.
_TIM_KITS = (("standard", 0), ("room", 8), ("power", 16), ("electronic", 24), ("tr808", 25),
             ("brush", 40))  # its Jazz kit has the Standard kit's kick, snare, hi-hat and crash

#: Csound's GM bank (``csound-soundfont``, public domain): its own samples, not FluidR3's.
_CSOUND_KITS = (("standard", 0), ("room", 8), ("power", 16), ("electronic", 24), ("tr808", 25),
                ("brush", 40), ("orchestra", 48))  # its Jazz kit is its Standard kit

#: SoundFont kits: name -> (sf2 file, or an absolute path; bank, program, channel).
SF2_KITS: dict[str, tuple[str, int, int, int]] = {
    "fluid_standard": ("FluidR3_GM.sf2", 128, 0, 9),
    "fluid_room": ("FluidR3_GM.sf2", 128, 8, 9),
    "fluid_power": ("FluidR3_GM.sf2", 128, 16, 9),
    "fluid_electronic": ("FluidR3_GM.sf2", 128, 24, 9),
    "fluid_tr808": ("FluidR3_GM.sf2", 128, 25, 9),
    "fluid_jazz": ("FluidR3_GM.sf2", 128, 32, 9),
    "fluid_brush": ("FluidR3_GM.sf2", 128, 40, 9),
    "avl_black_pearl": ("Black_Pearl_4_LV2.sf2", 0, 0, 0),
    "avl_red_zeppelin": ("Red_Zeppelin_4_LV2.sf2", 0, 0, 0),
    # Added for the fourth training set (``build_dataset.py --extra-kit-p``); see EXTRA_KITS.
    **{f"fluid_{name}": ("FluidR3_GM.sf2", 128, prog, 9) for name, prog in _FLUID_VARIANTS},
    **{f"ms_{name}": (MUSESCORE_SF3, 128, prog, 9) for name, prog in _MUSESCORE_KITS},
    **{f"tim_{name}": ("TimGM6mb.sf2", 128, prog, 9) for name, prog in _TIM_KITS},
    # Added for the fifth training set (``build_dataset.py --fifth-kit-p``); see FIFTH_KITS.
    **{f"cs_{name}": ("sf_GMbank.sf2", 128, prog, 9) for name, prog in _CSOUND_KITS},
    "opl3_fm": ("OPL-3_FM_128M.sf2", 128, 0, 9),  # FM-synthesized drums (CC BY-SA 4.0)
}
HYDROGEN_KITS = ("BJA_Pacific", "ColomboAcousticDrumkit", "ElectricEmpireKit", "HardElectro1",
                 "Millo_MultiLayered2", "Millo-Drums_v.1", "VariBreaks", "The Black Pearl 1.0",
                 "Audiophob", "ForzeeStereo", "Millo_MultiLayered3", "rumpf_kit_z01_h2")

#: Kits never used for training or threshold tuning (evaluation only).
EVAL_KITS = ("avl_red_zeppelin", "h2_ForzeeStereo", "h2_HardElectro1")
#: Training kits added after the first three sets: FluidR3 variant presets, MuseScore General, TimGM6mb.
EXTRA_KITS = tuple(k for k in SF2_KITS if k.startswith(("ms_", "tim_"))
                   or k[len("fluid_"):] in dict(_FLUID_VARIANTS))
#: Training kits added for the fifth set: Csound's GM bank and OPL-3 FM drums. Drawn only by
#: ``build_dataset.py --fifth-kit-p``; not in :data:`TRAIN_KITS`, which other recipes index by seed.
FIFTH_KITS = tuple(k for k in SF2_KITS if k.startswith(("cs_", "opl3_")))
#: Training kits added for the tenth set (``build_dataset.py --tenth-kit-p``), both GPL (``hydrogen-data``),
#: and the Sonic Pi pool drawn per item by :func:`sonic_pi_bank`.
TENTH_KITS = ("h2_GMRockKit", "h2_TR808EmulationKit", "sonic_pi")
#: Training kits of the first four sets; the ones of the first three sets come first, in their
#: original order.
TRAIN_KITS = tuple(k for k in [*SF2_KITS, *("h2_" + h for h in HYDROGEN_KITS)]
                   if k not in (*EVAL_KITS, *EXTRA_KITS, *FIFTH_KITS)) + EXTRA_KITS
#: Training kits whose samples carry a permissive licence (MIT, CC0, CC BY, CC BY-SA), per their metadata.
#: The fifth set's kits are all permissive too (public domain, CC BY-SA 4.0).
PERMISSIVE_KITS = tuple(k for k in TRAIN_KITS if k.startswith(("fluid_", "ms_"))
                        or k in ("h2_Audiophob", "h2_BJA_Pacific", "h2_rumpf_kit_z01_h2"))

# Ordered keyword rules: first match wins.
_NAME_RULES: list[tuple[str, int | None]] = [
    (r"cowbell|conga|whistle|zap|fx|agogo|tambourine|click|drum [12]|swish|choke|flink|roll|"
     r"sample:|djembe|cajon|bongo|clave|wood|maraca|water|snap", None),
    (r"kick|bass ?drum|\bbd\b", 36),
    (r"side stick|stick|rim click", 37),
    (r"clap", 39),
    (r"snare", 38),
    (r"pedal", 44),
    (r"semi|open|\bop\b|opened|free|hat ring|\bohh", 46),
    (r"hat|hh", 42),
    (r"floor|\btom low|low tom", 43),
    (r"\btom mid|middle tom|\bmid\b|\btom 2\b", 47),
    (r"\btom", 50),
    (r"china", 52),
    (r"splash", 55),
    (r"bell|cup", 53),
    (r"crash", 49),
    (r"ride", 51),
    (r"cymbal", 49),
]


def key_for_name(name: str) -> int | None:
    """GM key for a Hydrogen instrument name, or None to skip it."""
    low = name.lower()
    for pattern, key in _NAME_RULES:
        if re.search(pattern, low):
            return key
    return None


def _render_sf2(kit: str) -> dict[int, list[list[tuple[int, np.ndarray]]]]:
    sf2, bank, program, channel = SF2_KITS[kit]
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=500000))  # 120 bpm: 960 ticks per second
    tr.append(mido.Message("control_change", channel=channel, control=0, value=bank // 128, time=0))
    tr.append(mido.Message("program_change", channel=channel, program=program, time=0))
    step = int(SAMPLE_S * 960)
    order = [(k, v) for k in GM_KEYS for v in SF2_VELOCITIES]
    first = True
    for key, vel in order:
        tr.append(mido.Message("note_on", channel=channel, note=key, velocity=vel, time=960 if first else 0))
        tr.append(mido.Message("note_off", channel=channel, note=key, velocity=0, time=step // 2))
        tr.append(mido.Message("note_on", channel=channel, note=0, velocity=0, time=step - step // 2))
        first = False
    with tempfile.TemporaryDirectory() as tmp:
        mpath, wpath = Path(tmp) / "k.mid", Path(tmp) / "k.wav"
        mid.save(mpath)
        subprocess.run(["fluidsynth", "-ni", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(SR),
                        "-F", str(wpath), str(SF2_DIR / sf2), str(mpath)],
                       check=True, capture_output=True)
        audio, sr = sf.read(wpath, dtype="float32", always_2d=True)
    assert sr == SR
    mono = audio.mean(axis=1)
    bank_out: dict[int, list[list[tuple[int, np.ndarray]]]] = {}
    n = int(SAMPLE_S * SR)
    for i, (key, vel) in enumerate(order):
        start = SR + i * n
        seg = mono[start:start + n].copy()
        if len(seg) < n or np.abs(seg).max() < 1e-4:
            continue
        bank_out.setdefault(key, [[]])[0].append((vel, _trim(seg)))
    return bank_out


def _trim(seg: np.ndarray, *, floor_db: float = -60.0) -> np.ndarray:
    peak = float(np.abs(seg).max()) or 1.0
    above = np.nonzero(np.abs(seg) > peak * 10 ** (floor_db / 20))[0]
    end = int(above[-1]) + 1 if len(above) else len(seg)
    out = seg[:end].astype(np.float32)
    fade = min(256, len(out))
    out[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return out


def _load_wave(path: Path) -> np.ndarray | None:
    try:
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception:
        return None
    mono = audio.mean(axis=1)
    if sr != SR:
        g = np.gcd(int(sr), SR)
        mono = resample_poly(mono, SR // g, int(sr) // g).astype(np.float32)
    return mono[: int(4.0 * SR)]


def _load_hydrogen(name: str) -> dict[int, list[list[tuple[int, np.ndarray]]]]:
    kit_dir = HYDROGEN_DIR / name
    root = ET.parse(kit_dir / "drumkit.xml").getroot()
    m = re.match(r"\{.*\}", root.tag)
    ns = m.group(0) if m else ""
    bank_out: dict[int, list[list[tuple[int, np.ndarray]]]] = {}
    for ins in root.iter(ns + "instrument"):
        nm = ins.find(ns + "name")
        key = key_for_name(nm.text or "") if nm is not None else None
        if key is None:
            continue
        vol_el = ins.find(ns + "volume")
        vol = float(vol_el.text) if vol_el is not None and vol_el.text else 1.0
        layers: list[tuple[int, np.ndarray]] = []
        for layer in ins.iter(ns + "layer"):
            fn = layer.find(ns + "filename")
            hi = layer.find(ns + "max")
            gain = layer.find(ns + "gain")
            if fn is None or not fn.text:
                continue
            wav = _load_wave(kit_dir / fn.text)
            if wav is None:
                continue
            g = vol * (float(gain.text) if gain is not None and gain.text else 1.0)
            layers.append((max(1, round(127 * float(hi.text if hi is not None and hi.text else 1.0))),
                           _trim(wav * g)))
        if not layers:
            fn = ins.find(ns + "filename")
            if fn is not None and fn.text:
                wav = _load_wave(kit_dir / fn.text)
                if wav is not None:
                    layers.append((127, _trim(wav * vol)))
        if layers:
            layers.sort(key=lambda t: t[0])
            bank_out.setdefault(key, []).append(layers)
    return bank_out


def _save(bank: dict[int, list[list[tuple[int, np.ndarray]]]], path: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    for key, variants in bank.items():
        for vi, layers in enumerate(variants):
            for li, (vmax, wav) in enumerate(layers):
                arrays[f"k{key}_v{vi}_l{li}_m{vmax}"] = wav
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def _load(path: Path) -> dict[int, list[list[tuple[int, np.ndarray]]]]:
    bank: dict[int, dict[int, list[tuple[int, int, np.ndarray]]]] = {}
    with np.load(path, allow_pickle=False) as z:
        for name in z.files:
            k, v, li, vm = (int(p[1:]) for p in name.split("_"))
            bank.setdefault(k, {}).setdefault(v, []).append((li, vm, z[name]))
    return {k: [[(vm, w) for _, vm, w in sorted(layers, key=lambda t: t[0])]
                for _, layers in sorted(vs.items())]
            for k, vs in bank.items()}


#: Sonic Pi one-shots by the GM keys they play (the keys the renders use, and their aliases): each entry is
#: one voice, its files from soft to hard (velocity layers).
SONIC_PI_VOICES: dict[tuple[int, ...], tuple[tuple[str, ...], ...]] = {
    (36, 35): (*((f"bd_{n}",) for n in ("808", "ada", "boom", "fat", "gas", "haus", "klub", "mehackit",
                                        "pure", "sone", "tek", "zome", "zum")),
               ("drum_bass_soft", "drum_bass_hard"), ("drum_heavy_kick",), ("elec_soft_kick",),
               ("elec_hollow_kick",)),
    (38, 40): (*((f"sn_{n}",) for n in ("dolf", "dub", "generic", "zome")),
               *((f"elec_{n}",) for n in ("snare", "hi_snare", "lo_snare", "mid_snare", "filt_snare")),
               ("drum_snare_soft", "drum_snare_hard")),
    (42,): (("drum_cymbal_closed",),),
    (44,): (("drum_cymbal_pedal",),),
    (46,): (("drum_cymbal_open",),),
    (43, 41): (("drum_tom_lo_soft", "drum_tom_lo_hard"), ("elec_fuzz_tom",)),
    (45, 47): (("drum_tom_mid_soft", "drum_tom_mid_hard"),),
    (48, 50): (("drum_tom_hi_soft", "drum_tom_hi_hard"),),
    (49, 55): (("drum_cymbal_soft", "drum_cymbal_hard"), ("elec_cymbal",)),
    (57, 52): (("drum_splash_soft", "drum_splash_hard"),),
}


@functools.cache
def _sonic_pi_sample(name: str) -> np.ndarray:
    wav = _load_wave(SONIC_PI_DIR / f"{name}.flac")
    if wav is None:
        raise FileNotFoundError(f"Sonic Pi sample {name}.flac not found (install sonic-pi-samples)")
    return _trim(wav)


def sonic_pi_bank(base: dict[int, list[list[tuple[int, np.ndarray]]]],
                  rng: np.random.Generator) -> dict[int, list[list[tuple[int, np.ndarray]]]]:
    """A kit drawn from Sonic Pi's one-shots: one random voice per key of :data:`SONIC_PI_VOICES`;
    ``base``'s sounds for the keys Sonic Pi lacks (the ride)."""
    bank = dict(base)
    for keys, voices in SONIC_PI_VOICES.items():
        files = voices[int(rng.integers(len(voices)))]
        tops = np.linspace(127, 0, len(files), endpoint=False)[::-1].round().astype(int)
        waves = [_sonic_pi_sample(f) for f in files]
        scale = 0.8 / (max(float(np.abs(w).max()) for w in waves) + 1e-9)  # soft layers stay softer
        layers = [(int(top), w * np.float32(scale)) for top, w in zip(tops, waves, strict=True)]
        bank.update({key: [layers] for key in keys})
    return bank


#: Kits whose presets leave the General MIDI drum map at keys the renders play. The Orchestra kits (GS
#: layout) play timpani on keys 41-53, where GM has the toms, hi-hats, crash and ride: :func:`load_bank`
#: takes those keys from the same SoundFont's Standard kit. AVL's four-piece kits have a hi-hat swish on
#: 48 and a crash choke on 50, GM's high toms, and one rack tom: its centre (45) and edge (47) hits play
#: the high toms (:data:`AVL_KEY_STAND_INS`, :func:`played_key`). Until session 17 these sounds were
#: rendered and annotated as the GM instrument of their key (timpani as hi-hats, a hi-hat swish as a tom).
ORCHESTRA_BASE = {"fluid_orchestra": "fluid_standard", "ms_orchestra": "ms_standard",
                  "cs_orchestra": "cs_standard"}
ORCHESTRA_TIMPANI_KEYS = range(41, 54)
AVL_KITS = ("avl_black_pearl", "avl_red_zeppelin")
AVL_KEY_STAND_INS = {48: 45, 50: 47}


def played_key(kit: str, key: int) -> int:
    """The key of ``kit``'s preset that sounds GM ``key``'s instrument (for renders by fluidsynth)."""
    return AVL_KEY_STAND_INS.get(key, key) if kit in AVL_KITS else key


def load_bank(kit: str) -> dict[int, list[list[tuple[int, np.ndarray]]]]:
    """The sample bank of ``kit`` (``fluid_*``, ``avl_*`` or ``h2_<hydrogen dir>``), cached, with GM
    sounds on the keys where the kit leaves the GM map (:data:`ORCHESTRA_BASE`, :data:`AVL_KITS`)."""
    path = CACHE / "banks" / f"{kit}.npz"
    if path.exists():
        bank = _load(path)
    else:
        bank = _render_sf2(kit) if kit in SF2_KITS else _load_hydrogen(kit[3:])
        _save(bank, path)
    if kit in ORCHESTRA_BASE:
        standard = load_bank(ORCHESTRA_BASE[kit])
        bank.update({key: standard[key] for key in ORCHESTRA_TIMPANI_KEYS if key in bank and key in standard})
    if kit in AVL_KITS:
        bank.update({key: bank[src] for key, src in AVL_KEY_STAND_INS.items() if key in bank and src in bank})
    return bank


if __name__ == "__main__":
    for kit in [*SF2_KITS, *("h2_" + h for h in HYDROGEN_KITS)]:
        b = load_bank(kit)
        classes = sorted({CLASS9_BY_KEY[k] for k in b})
        print(f"{kit:28s} keys={len(b):2d} classes={classes}")
