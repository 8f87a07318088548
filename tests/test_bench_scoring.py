"""The benchmark's drum scoring over a set's summed counts (bench/analysis.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
analysis = pytest.importorskip("analysis")


def test_summed_counts_weigh_files_by_their_hits_and_keep_false_hits_of_files_without_any() -> None:
    counts: dict[str, np.ndarray] = {}
    # A file with 9 crashes, all found (one 40 ms late: inside the ±50 ms window).
    ref = np.arange(9.0)
    analysis.add_counts(counts, "cymbal", ref, ref + np.r_[np.zeros(8), 0.04])
    # A file with a single crash, missed.
    analysis.add_counts(counts, "cymbal", np.array([3.0]), np.array([], dtype=float))
    # A file without crashes and one false crash: no file F, but it counts against precision.
    analysis.add_counts(counts, "cymbal", np.array([], dtype=float), np.array([1.0]))
    assert counts["cymbal"].tolist() == [9, 10, 10]  # matched, annotated, detected
    assert analysis.summed_f(counts) == "cymbal=0.900"  # the mean of the two files' F would be 0.5


def test_summed_counts_leave_out_keys_without_annotated_hits() -> None:
    counts: dict[str, np.ndarray] = {}
    analysis.add_counts(counts, "tom", np.array([], dtype=float), np.array([2.0, 4.0]))
    analysis.add_counts(counts, "kick", np.array([0.0, 0.5]), np.array([0.52, 0.0]))
    assert analysis.summed_f(counts) == "kick=1.000"


def test_dev_renders_hits_are_scored_as_the_kit_sounds_them(tmp_path: Path) -> None:
    """AVL Black Pearl's key 48 is a hi-hat swish: a hi-hat in dev-renders, a tom in any other set."""
    dev = analysis.SETS["dev-renders"][0]
    stem = dev / "drummer1__session3__13"
    if not stem.with_suffix(".onsets.tsv").exists():
        pytest.skip(f"dev-renders not found at {dev}")
    rows = analysis.read_onset_rows(stem)
    swishes = [r for r in rows if r["render_pitch"] == "48"]
    assert swishes and all((r["class5"], r["class9"]) == ("HH", "HHO") for r in swishes)
    copy = tmp_path / stem.name
    copy.with_suffix(".onsets.tsv").write_text(stem.with_suffix(".onsets.tsv").read_text())
    assert all(r["class5"] == "TT" for r in analysis.read_onset_rows(copy) if r["render_pitch"] == "48")
    heard = analysis.read_onset_velocities(stem)
    assert len(heard["hihat"][0]) == sum(r["class5"] == "HH" for r in rows)
