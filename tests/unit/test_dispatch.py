"""The routers as aiogram walks them: nothing on the way runs in a thread, and the shopper's
path crosses few routers."""

from __future__ import annotations

from aiogram.dispatcher.event.handler import CallableObject

from handlers.routers import setup_routers


def _checks() -> list[tuple[str, str, CallableObject]]:
    """Every filter and handler of every router: (router, event, callable)."""
    found: list[tuple[str, str, CallableObject]] = []
    for router in setup_routers().chain_tail:
        for event, observer in router.observers.items():
            # The observer's own filters (`router.message.filter(...)`) guard all its handlers.
            found += [(router.name, event, f) for f in observer._handler.filters or []]
            for handler in observer.handlers:
                found.append((router.name, event, handler))
                found += [(router.name, event, f) for f in handler.filters or []]
    return found


def test_no_filter_or_handler_is_run_in_a_thread() -> None:
    # aiogram awaits a coroutine function or a Filter, and sends anything else (a `def`, a
    # magic filter `F...`) through asyncio.to_thread: about 20 µs a call instead of 1.
    checks = _checks()
    assert len(checks) > 50
    threaded = [f"{router}.{event}: {item.callback!r}" for router, event, item in checks
                if not item.awaitable]
    assert threaded == []


def test_the_routers_and_their_order() -> None:
    # A shopper's message is turned away by the staff chat's and the owners' first filters
    # and answered by the shoppers' router; the fallback takes what nobody else did.
    assert [r.name for r in setup_routers().chain_tail] == [
        "shopbot", "staff", "owners", "shoppers", "fallback"]
