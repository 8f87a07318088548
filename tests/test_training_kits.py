"""Training-side kit lists and render options (training/kits.py, training/render.py); no audio rendering."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

TRAINING = Path(__file__).resolve().parents[1] / "training"
sys.path.insert(0, str(TRAINING))

kits = pytest.importorskip("kits")
render = pytest.importorskip("render")

#: The kits the first three training sets drew from, in the order their seeds index them.
FIRST_SETS_KITS = (
    "fluid_standard", "fluid_room", "fluid_power", "fluid_electronic", "fluid_tr808", "fluid_jazz",
    "fluid_brush", "avl_black_pearl", "h2_BJA_Pacific", "h2_ColomboAcousticDrumkit", "h2_ElectricEmpireKit",
    "h2_Millo_MultiLayered2", "h2_Millo-Drums_v.1", "h2_VariBreaks", "h2_The Black Pearl 1.0", "h2_Audiophob",
    "h2_Millo_MultiLayered3", "h2_rumpf_kit_z01_h2",
)


def test_held_out_kits_are_never_training_kits() -> None:
    assert kits.EVAL_KITS == ("avl_red_zeppelin", "h2_ForzeeStereo", "h2_HardElectro1")
    assert not set(kits.EVAL_KITS) & set(kits.TRAIN_KITS)
    assert not set(kits.EVAL_KITS) & set(kits.EXTRA_KITS)
    assert not set(kits.EVAL_KITS) & set(kits.PERMISSIVE_KITS)


def test_first_sets_kit_order_is_unchanged() -> None:
    base = tuple(k for k in kits.TRAIN_KITS if k not in kits.EXTRA_KITS)
    assert base == FIRST_SETS_KITS
    assert set(kits.EXTRA_KITS) <= set(kits.TRAIN_KITS)


def test_fifth_set_kits_stay_out_of_the_earlier_recipes_pools() -> None:
    """Other recipes (the meter and tuning sets) index TRAIN_KITS by seed; new kits would change them."""
    assert not set(kits.FIFTH_KITS) & set(kits.TRAIN_KITS)
    assert not set(kits.FIFTH_KITS) & set(kits.EXTRA_KITS)
    assert all(k.startswith(("ms_", "tim_", "fluid_")) for k in kits.EXTRA_KITS)
    assert all(kits.SF2_KITS[k][0] in ("sf_GMbank.sf2", "OPL-3_FM_128M.sf2") for k in kits.FIFTH_KITS)
    assert "cs_jazz" not in kits.FIFTH_KITS  # a copy of the Standard kit


def test_tenth_set_kits_stay_out_of_the_earlier_recipes_pools() -> None:
    pools = {*kits.TRAIN_KITS, *kits.EXTRA_KITS, *kits.FIFTH_KITS, *kits.EVAL_KITS}
    assert not set(kits.TENTH_KITS) & pools
    assert kits.TENTH_KITS[-1] == "sonic_pi"
    assert all(k.startswith("h2_") for k in kits.TENTH_KITS[:-1])


def test_permissive_kits_leave_out_gpl_sources() -> None:
    perm = set(kits.PERMISSIVE_KITS)
    assert not any(k.startswith(("tim_", "avl_")) for k in perm)
    assert "h2_ElectricEmpireKit" not in perm
    assert {"ms_standard", "fluid_standard3", "h2_Audiophob"} <= perm


def _groove() -> object:
    beats = np.arange(0, 8.0, 0.5)
    events = [(float(t), 36, 36, 100) for t in beats[::2]] + [(float(t), 38, 38, 90) for t in beats[1::2]]
    return render.Groove("t", sorted(events), beats, (np.arange(len(beats)) % 4) + 1, 8.0, 120.0)


def test_the_band_subdivides_compound_beats_in_three() -> None:
    """6/8 is annotated in dotted quarters; its band plays eighths, three to a beat, not two."""
    g = _groove()
    g68 = render.Groove("t68", g.events, g.beats_s, g.positions, g.duration_s, g.bpm, beat_subdivision=3)
    for groove, n_sub in ((g, 2), (g68, 3)):
        dense = render.accompaniment_midi(groove, np.random.default_rng(1), dense=True)
        starts = np.array([n.start for n in dense.instruments[-1].notes])
        steps = np.unique(np.round(starts / (0.5 / n_sub)))  # the beat is 0.5 s
        assert np.array_equal(steps, np.arange(n_sub * len(groove.beats_s)))
    assert render.crop(g68, 1.0, 4.0).beat_subdivision == 3


def test_dense_band_adds_a_driven_guitar() -> None:
    g = _groove()
    plain = render.accompaniment_midi(g, np.random.default_rng(1))
    dense = render.accompaniment_midi(g, np.random.default_rng(1), dense=True)
    assert len(dense.instruments) > len(plain.instruments) or len(dense.instruments) == 5
    assert dense.instruments[-1].program in render._DRIVEN_GUITARS
    assert len(dense.instruments[-1].notes) >= 3 * 2 * 15  # eighth notes, three strings, 16 beats


def test_free_bass_plays_on_the_grid_whatever_the_kick_does() -> None:
    g = _groove()  # kicks on beats 1 and 3 only
    kicks = {round(t, 3) for t, _, k, _ in g.events if k == 36}
    off_kick = 0
    for seed in range(12):
        for bass_rng in (None, np.random.default_rng(100 + seed)):
            pm = render.accompaniment_midi(g, np.random.default_rng(seed), bass_rng=bass_rng)
            bass = [i for i in pm.instruments if i.program in render._BASS][:1]
            starts = np.array([n.start for i in bass for n in i.notes])
            if bass_rng is None:
                assert {round(t, 3) for t in starts if t < g.duration_s} <= kicks
            else:
                assert np.allclose(starts / 0.25, np.round(starts / 0.25), atol=1e-6)  # the eighth-note grid
                off_kick += sum(round(t, 3) not in kicks for t in starts)
    assert off_kick > 50


def test_free_bass_times_start_every_bar_or_follow_a_style() -> None:
    for seed in range(40):
        times, intervals = render.free_bass_times([0.0, 2.0, 4.0], 0.5, 4, 2, np.random.default_rng(seed))
        assert len(times) == len(intervals) and times == sorted(times)
        assert {0.0, 2.0, 4.0, 6.0} <= {round(t, 6) for t in times}
        assert set(intervals) <= {0, 7, 12}


def test_loud_master_is_bounded_and_keeps_length() -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(kits.SR) * 0.1).astype(np.float32)
    x[1000:1010] = 3.0
    y = render.loud_master(x, np.random.default_rng(2))
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.isfinite(y).all() and np.abs(y).max() <= 1.0 / np.tanh(1.5) + 1e-6
    assert np.abs(y).max() / np.sqrt(np.mean(y ** 2)) < np.abs(x).max() / np.sqrt(np.mean(x ** 2))


def _hits_groove(times_s: list[float], beats_s: list[float], duration_s: float) -> object:
    events = [(t, 36, 36, 100) for t in times_s]
    positions = np.arange(len(beats_s)) % 4 + 1
    return render.Groove("g", events, np.array(beats_s), positions, duration_s, 120.0)


def test_warp_moves_notes_and_beats_with_the_tempo_curve() -> None:
    g = _hits_groove([0.0, 0.5, 1.0, 1.5], [0.0, 0.5, 1.0, 1.5], 2.0)
    # Twice the tempo from 1 s on: what was 1 s later is now 0.5 s later.
    ratio = np.where(np.arange(2001) * 0.001 < 1.0, 1.0, 2.0)
    w = render.warp(g, ratio)
    np.testing.assert_allclose([e[0] for e in w.events], [0.0, 0.5, 1.0, 1.25], atol=2e-3)
    np.testing.assert_allclose(w.beats_s, [0.0, 0.5, 1.0, 1.25], atol=2e-3)
    assert w.duration_s == pytest.approx(1.5, abs=2e-3)
    assert w.bpm == pytest.approx(120.0 * 2.0 / 1.5, rel=1e-2)
    np.testing.assert_array_equal(w.positions, g.positions)
    assert [e[1:] for e in w.events] == [e[1:] for e in g.events]


def test_warp_keeps_the_last_ratio_beyond_the_curve_and_rejects_bad_curves() -> None:
    g = _hits_groove([3.0], [0.0, 3.0], 4.0)
    w = render.warp(g, np.full(1001, 0.5))  # half tempo, curve covers only the first second
    assert w.events[0][0] == pytest.approx(6.0, abs=1e-6)
    assert w.duration_s == pytest.approx(8.0, abs=1e-6)
    for bad in (np.array([1.0]), np.array([1.0, 0.0]), np.ones((2, 2))):
        with pytest.raises(ValueError):
            render.warp(g, bad)


def test_meter_generator_plays_a_given_meter_at_its_tempo() -> None:
    from dataclasses import replace

    grooves = pytest.importorskip("meter_grooves")
    fast = replace(grooves.METERS[0], bpm=(180.0, 180.0))
    for seed in range(3):
        g = grooves.performance(np.random.default_rng(seed), duration_s=20.0, meter=fast)
        assert g.name.endswith("4-4") and set(np.unique(g.positions)) == {1, 2, 3, 4}
        assert 60.0 / float(np.median(np.diff(g.beats_s))) == pytest.approx(180.0, rel=0.1)


def test_song_band_follows_the_crop_grid_from_before_its_start() -> None:
    """The sixth set's song band: notes on the groove's beat grid, none before 0 s, sections that change."""
    build = pytest.importorskip("build_dataset")
    beats = 0.3 + np.arange(0, 20.0, 0.5)  # the crop starts 0.3 s before a downbeat, 120 BPM
    g = render.Groove("t", [(float(t), 36, 36, 100) for t in beats[::2]], beats,
                      (np.arange(len(beats)) % 4) + 1, 20.0, 120.0)
    for seed in range(5):
        pm = build.song_band_midi(g, np.random.default_rng(seed))
        notes = [n for inst in pm.instruments for n in inst.notes]
        assert notes and min(n.start for n in notes) >= 0.0
        bass = [inst for inst in pm.instruments if inst.program in (33, 34, 38, 39, 35, 32)]
        for inst in bass:  # the bass plays on beats, whatever the kick does
            on_grid = np.abs((np.array([n.start for n in inst.notes]) - 0.3) / 0.5 % 1.0 - 0.5)
            assert np.all(on_grid > 0.49)


def test_mixed_kit_takes_each_drum_group_whole_from_one_source(monkeypatch: pytest.MonkeyPatch) -> None:
    build_dataset = pytest.importorskip("build_dataset")
    names = ("a", "b", "c", "d")
    # Kit i's one-shots are 10 samples of value i; a synthesized sound is longer.
    banks = {name: {k: [[(127, np.full(10, i, dtype=np.float32))]] for k in kits.CLASS9_BY_KEY}
             for i, name in enumerate(names)}
    monkeypatch.setattr(build_dataset, "load_bank", lambda kit: banks[kit])
    rng = np.random.default_rng(3)
    sources_seen = set()
    for _ in range(20):
        bank = build_dataset.mixed_bank("a", names, rng)
        assert set(bank) == set(kits.CLASS9_BY_KEY)
        per_group = []
        for group in build_dataset.KIT_GROUPS:
            wavs = [bank[k][0][0][1] for k in bank if kits.CLASS9_BY_KEY[k] in group]
            source = {float(w[0]) if w.size == 10 else -1.0 for w in wavs}
            assert len(source) == 1, group  # the hi-hat's closed and open sounds, the toms: one kit
            per_group.append(source.pop())
        sources_seen.add(len(set(per_group)))
    assert max(sources_seen) >= 3  # the groups of one kit come from several kits


def test_sonic_pi_kit_takes_whole_voices_and_keeps_the_base_kit_elsewhere(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A file's one-shot is 100 samples holding the file name's length, so voices can be told apart.
    monkeypatch.setattr(kits, "_sonic_pi_sample", lambda name: np.full(100, len(name), dtype=np.float32))
    base = {k: [[(127, np.zeros(10, dtype=np.float32))]] for k in kits.CLASS9_BY_KEY}
    bank = kits.sonic_pi_bank(base, np.random.default_rng(0))
    for keys, voices in kits.SONIC_PI_VOICES.items():
        layers = [bank[k][0] for k in keys]
        assert all(lay is layers[0] for lay in layers)  # aliases play the same voice
        tops = [vmax for vmax, _ in layers[0]]
        peaks = [float(w.max()) for _, w in layers[0]]
        assert tops == sorted(tops) and tops[-1] == 127
        assert max(peaks) == pytest.approx(0.8)  # one scale per voice: a soft layer stays softer
        assert len(layers[0]) in {len(v) for v in voices}
    assert bank[51] is base[51]  # Sonic Pi has no ride


def test_timbre_eq_voices_each_class_once_and_keeps_peaks() -> None:
    synth_kit = pytest.importorskip("synth_kit")
    noise = np.random.default_rng(1).standard_normal(4000).astype(np.float32)
    bank = {k: [[(64, noise * 0.3), (127, noise)]] for k in (36, 38, 42, 44)}
    out = synth_kit.timbre_eq_bank(bank, np.random.default_rng(2))
    for k, variants in out.items():
        for (vmax, w), (vmax0, w0) in zip(variants[0], bank[k][0], strict=True):
            assert vmax == vmax0 and w.dtype == np.float32
            assert float(np.abs(w).max()) == pytest.approx(float(np.abs(w0).max()), rel=1e-5)
    np.testing.assert_allclose(out[42][0][1][1], out[44][0][1][1])  # both closed hi-hat: one EQ
    assert not np.allclose(out[36][0][1][1], out[38][0][1][1])  # kick and snare: EQs of their own
    assert not np.allclose(out[36][0][1][1], noise)


def test_bank_augmentations_draw_the_same_for_a_seed_in_any_process() -> None:
    """Per-class draws must not follow a set's iteration order, which changes with the hash seed."""
    import subprocess

    script = (
        "import numpy as np, synth_kit\n"
        "bank = {k: [[(127, np.sin(np.arange(3000) * 0.1).astype(np.float32))]] for k in (36, 38, 42, 49)}\n"
        "for f in (synth_kit.pitch_shift_bank, synth_kit.timbre_eq_bank):\n"
        "    out = f(bank, np.random.default_rng(0))\n"
        "    print([round(float(out[k][0][0][1].sum()), 4) for k in sorted(out)])\n"
    )
    runs = {subprocess.run([sys.executable, "-c", script], cwd=TRAINING, capture_output=True, text=True,
                           env={"PYTHONHASHSEED": str(seed), "PATH": ""}, check=True).stdout
            for seed in (1, 2, 3)}
    assert len(runs) == 1


def test_banks_put_gm_sounds_where_a_kit_leaves_the_gm_map(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    """Orchestra kits' timpani keys come from their SoundFont's Standard kit; AVL's high toms are its rack
    tom's centre and edge hits, not its hi-hat swish (48) and crash choke (50); other kits load as sampled."""
    monkeypatch.setattr(kits, "CACHE", tmp_path)
    for kit, base in (("fluid_orchestra", 1000.0), ("fluid_standard", 2000.0), ("avl_black_pearl", 3000.0)):
        kits._save({key: [[(127, np.full(10, base + key, dtype=np.float32))]] for key in kits.GM_KEYS},
                   tmp_path / "banks" / f"{kit}.npz")

    def sound(kit: str, key: int) -> float:
        return float(kits.load_bank(kit)[key][0][0][1][0])

    for key in kits.GM_KEYS:
        assert sound("fluid_orchestra", key) == (2000.0 if 41 <= key <= 53 else 1000.0) + key
        assert sound("fluid_standard", key) == 2000.0 + key
        played = {48: 45, 50: 47}.get(key, key)
        assert sound("avl_black_pearl", key) == 3000.0 + played
        assert kits.played_key("avl_black_pearl", key) == played  # fluidsynth renders play the same keys
        assert kits.played_key("fluid_standard", key) == key
