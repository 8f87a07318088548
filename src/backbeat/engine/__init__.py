"""Deterministic judging and scoring of players' hits (pure: no clocks, no I/O).

Public API: :class:`PlayerEngine`, :class:`InputHit`, :class:`JudgmentEvent`,
:class:`EngineSettings`, :class:`PlayerResult`, :class:`SessionEngine`,
:class:`Replay` / :func:`simulate`, bots and calibration math.
"""

from backbeat.core.judgment import BEGINNER_WINDOWS, HitWindows, Judgment
from backbeat.engine.bots import bot_inputs, human_bot, perfect_bot
from backbeat.engine.calibration import CalibrationResult, calibrate_taps, robust_offset_ms
from backbeat.engine.inputs import InputHit, JudgmentEvent
from backbeat.engine.player import PlayerEngine, Target
from backbeat.engine.replay import Replay, ReplaySettings, notes_fingerprint, simulate, simulate_events
from backbeat.engine.results import DynamicsStats, LaneStats, PlayerResult, PlayerState, TimingHistogram
from backbeat.engine.session import CombinedResult, SessionEngine
from backbeat.engine.settings import EngineSettings

__all__ = [
    "BEGINNER_WINDOWS",
    "CalibrationResult",
    "CombinedResult",
    "DynamicsStats",
    "EngineSettings",
    "HitWindows",
    "InputHit",
    "Judgment",
    "JudgmentEvent",
    "LaneStats",
    "PlayerEngine",
    "PlayerResult",
    "PlayerState",
    "Replay",
    "ReplaySettings",
    "SessionEngine",
    "Target",
    "TimingHistogram",
    "bot_inputs",
    "calibrate_taps",
    "human_bot",
    "notes_fingerprint",
    "perfect_bot",
    "robust_offset_ms",
    "simulate",
    "simulate_events",
]
