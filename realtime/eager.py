"""Run a coroutine at once in the caller, and make a task only if it must wait.

What Python 3.12's eager tasks do, for one use on 3.11 too: an outbox's writer
usually finishes without waiting (the socket takes the frame), and creating a
task per socket for every event was a fifth of the p99 latency of a
1,000-subscriber fan-out (docs/performance.md).
"""

import asyncio
from collections.abc import Coroutine
from typing import Any


def start_eagerly(coro: Coroutine[Any, Any, None]) -> "asyncio.Task[None] | None":
    """Step coro until it first waits: None if it finished, else the task finishing it.

    The first step runs in the caller's task, so an exception raised there
    reaches the caller, and coro must not depend on which task runs it
    (asyncio.timeout, current_task): the outbox's sends do neither.
    """
    try:
        awaited = coro.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_finish(coro, awaited))


async def _finish(coro: Coroutine[Any, Any, None], awaited: Any) -> None:
    """Go on stepping coro as a task would, each time what it waits on is done."""
    while True:
        error: BaseException | None = None
        try:
            if awaited is None:  # a bare yield, as in asyncio.sleep(0)
                await asyncio.sleep(0)
            else:
                awaited._asyncio_future_blocking = False
                await _done(awaited)
        except asyncio.CancelledError as cancelled:
            # As Task.cancel does: cancel what the coroutine waits on, so it
            # meets CancelledError where it awaited; if that is already done,
            # throw the cancellation in.
            if awaited is None or not awaited.cancel():
                error = cancelled
        try:
            awaited = coro.throw(error) if error is not None else coro.send(None)
        except StopIteration:
            return


async def _done(future: "asyncio.Future[Any]") -> None:
    """Wait until future is done, without taking its result or its exception."""
    if future.done():
        return
    waiter = asyncio.get_running_loop().create_future()

    def wake(_: object) -> None:
        if not waiter.done():
            waiter.set_result(None)

    future.add_done_callback(wake)
    try:
        await waiter
    finally:
        future.remove_done_callback(wake)
