"""Keep long-lived server objects out of the garbage collector's full passes.

A full collection visits every tracked object. A play server holds ~160 for
each open socket (the ASGI connection, its tasks, queues, the player's
engine), so at 500 players a full pass visits ~80,000 objects and stalls the
event loop for 20-80 ms, long enough to make judgments late. Objects that
outlive a join live as long as the socket, so :class:`HeapFreezer` moves them
to the collector's permanent generation (:func:`gc.freeze`) shortly after
joins, and full passes only see what is new since.

Frozen objects are never collected, so the cyclic garbage a closed socket
leaves in the frozen set stays until the next clean-up (unfreeze, one full
collection, freeze). Clean-ups run when the server has no open socket, when as
many sockets have closed since the last clean-up as are open now (at least
``churn_min``), and as a backstop when the frozen set has grown past
``growth_limit`` times its size after the last clean-up. A full collection
with sockets open stalls the loop, so the triggers are chosen to make it rare:
a server whose players stay never pays it, whatever their number.
"""

from __future__ import annotations

import asyncio
import gc

__all__ = ["HeapFreezer"]


class HeapFreezer:
    """Freeze what joins leave behind; clean up when the server is idle.

    Parameters
    ----------
    loop
        The server's event loop; freezes and clean-ups run on it.
    settle_s
        Delay after a join before freezing, so that a burst of joins is
        frozen once and what the join itself threw away has been freed.
    churn_min
        Fewest sockets closed since the last clean-up that trigger one while
        others are open.
    growth_limit
        Clean up when the frozen set is this many times larger than after the
        last clean-up, even with sockets open.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, *, settle_s: float = 1.0,
                 churn_min: int = 64, growth_limit: float = 4.0) -> None:
        self._loop = loop
        self._settle_s = settle_s
        self._churn_min = churn_min
        self._growth_limit = growth_limit
        self._open = 0
        self._closed_since_clean = 0
        self._pending: asyncio.TimerHandle | None = None
        self._limit = 0
        self.cleanups = 0

    def start(self) -> None:
        """Collect and freeze everything loaded so far (call once, after start-up)."""
        self._clean()

    def opened(self) -> None:
        """A socket has opened."""
        self._open += 1

    def joined(self) -> None:
        """A player has joined: freeze their long-lived objects soon."""
        self._schedule()

    def closed(self) -> None:
        """A socket has closed; the last one, or enough churn, triggers a clean-up soon."""
        self._open = max(0, self._open - 1)
        self._closed_since_clean += 1
        if self._open == 0 or self._churned():
            self._schedule()

    def _churned(self) -> bool:
        return self._closed_since_clean >= max(self._churn_min, self._open)

    def _schedule(self) -> None:
        if self._pending is None:
            self._pending = self._loop.call_later(self._settle_s, self._settle)

    def _settle(self) -> None:
        self._pending = None
        if self._open == 0 or self._churned():
            self._clean()
            return
        gc.collect(1)  # young cyclic garbage is collected now rather than frozen
        gc.freeze()
        if gc.get_freeze_count() > self._limit:
            self._clean()

    def _clean(self) -> None:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._limit = int(self._growth_limit * max(gc.get_freeze_count(), 10_000))
        self._closed_since_clean = 0
        self.cleanups += 1
