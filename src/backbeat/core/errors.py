"""The one exception root of Backbeat and its subclasses.

Every error a user can cause (a bad file, a bad argument, a hostile message)
is raised as a subclass of :class:`BackbeatError` with a message a person can
act on. Entry points (CLI, web) catch :class:`BackbeatError` and print or send
its message; anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path


class BackbeatError(Exception):
    """Root of all errors Backbeat raises on purpose."""


class InvalidArgumentError(BackbeatError, ValueError):
    """An argument is out of range or of the wrong kind."""


class AudioError(BackbeatError):
    """An audio file cannot be used.

    Parameters
    ----------
    path
        The file concerned.
    problem
        What is wrong with it, in words a user understands.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Rebuilt from its fields, so it crosses process boundaries (worker pools) intact.
        return (type(self), (self.path, self.problem))


class UnsupportedFormatError(AudioError):
    """The file is not audio, or uses a codec Backbeat cannot decode."""


class CorruptAudioError(AudioError):
    """The file is truncated or damaged."""


class SilentAudioError(AudioError):
    """The file decodes but holds no usable signal (silence, too short)."""


class AudioTooLongError(AudioError):
    """The file is longer than the configured limit."""


class ChartFormatError(BackbeatError):
    """A chart or MIDI file is malformed.

    Parameters
    ----------
    path
        The file concerned.
    problem
        What is wrong.
    where
        Line number, event index or section name, when known.
    """

    def __init__(self, path: str | Path, problem: str, where: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.where = where
        loc = f" ({where})" if where else ""
        super().__init__(f"{self.path}{loc}: {problem}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str | None]]:
        return (type(self), (self.path, self.problem, self.where))


class ChartRuleError(BackbeatError):
    """A generated chart breaks a rule of its difficulty level."""


class StorageError(BackbeatError):
    """The database cannot be opened, migrated or written."""


class ProtocolError(BackbeatError):
    """A network message is malformed, oversized or out of order."""


class ModelError(BackbeatError):
    """Shipped model weights are missing or do not match the code."""
