"""HeapFreezer: long-lived objects leave the collector's full passes; garbage does not stay frozen."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from backbeat.web.heap import HeapFreezer


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def _thaw() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.collect()


async def _settle(freezer: HeapFreezer) -> None:
    await asyncio.sleep(0.05)


def test_join_freezes_what_lives_on() -> None:
    async def run() -> None:
        freezer = HeapFreezer(asyncio.get_running_loop(), settle_s=0.01)
        freezer.start()
        freezer.opened()
        kept = [Cycle() for _ in range(100)]
        assert any(o is kept for o in gc.get_objects())
        freezer.joined()
        await _settle(freezer)
        assert not any(o is kept for o in gc.get_objects()), "joined objects should be frozen"
        assert freezer.cleanups == 1

    asyncio.run(run())


def test_last_close_collects_garbage_that_was_frozen() -> None:
    async def run() -> None:
        freezer = HeapFreezer(asyncio.get_running_loop(), settle_s=0.01)
        freezer.start()
        freezer.opened()
        freezer.opened()
        garbage = Cycle()
        ref = weakref.ref(garbage)
        freezer.joined()
        await _settle(freezer)
        del garbage
        gc.collect()
        assert ref() is not None, "a frozen cycle is out of the collector's reach"
        freezer.closed()
        await _settle(freezer)
        assert ref() is not None and freezer.cleanups == 1, "one socket is still open"
        freezer.closed()
        await _settle(freezer)
        assert ref() is None and freezer.cleanups == 2

    asyncio.run(run())


def test_growth_past_the_limit_cleans_up_with_sockets_open() -> None:
    async def run() -> None:
        freezer = HeapFreezer(asyncio.get_running_loop(), settle_s=0.01, growth_limit=1.0)
        freezer.start()
        freezer.opened()
        garbage = [Cycle() for _ in range(20_000)]
        refs = [weakref.ref(g) for g in garbage[:10]]
        freezer.joined()
        del garbage
        await _settle(freezer)
        assert freezer.cleanups == 2
        assert all(r() is None for r in refs)

    asyncio.run(run())


def test_churn_cleans_up_with_sockets_open() -> None:
    async def run() -> None:
        freezer = HeapFreezer(asyncio.get_running_loop(), settle_s=0.01, churn_min=3)
        freezer.start()
        for _ in range(5):
            freezer.opened()
        garbage = Cycle()
        ref = weakref.ref(garbage)
        freezer.joined()
        await _settle(freezer)
        del garbage
        freezer.closed()
        freezer.closed()
        await _settle(freezer)
        assert ref() is not None and freezer.cleanups == 1, "two of five closed: below churn_min"
        freezer.closed()  # three closed, two open
        await _settle(freezer)
        assert ref() is None and freezer.cleanups == 2
        freezer.opened()
        freezer.closed()  # the count starts again after a clean-up
        await _settle(freezer)
        assert freezer.cleanups == 2

    asyncio.run(run())


def test_players_who_stay_never_pay_a_clean_up() -> None:
    async def run() -> None:
        freezer = HeapFreezer(asyncio.get_running_loop(), settle_s=0.01)
        freezer.start()
        kept = []
        for _ in range(600):
            freezer.opened()
            kept.append([Cycle() for _ in range(160)])
            freezer.joined()
        await _settle(freezer)
        assert freezer.cleanups == 1, "only the start-up clean-up"

    asyncio.run(run())


def test_burst_of_joins_freezes_once() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        freezer = HeapFreezer(loop, settle_s=0.01)
        calls: list[int] = []
        real_settle = freezer._settle

        def counting() -> None:
            calls.append(1)
            real_settle()

        freezer._settle = counting  # type: ignore[method-assign]
        freezer.opened()
        for _ in range(50):
            freezer.joined()
        await _settle(freezer)
        assert calls == [1]

    asyncio.run(run())
