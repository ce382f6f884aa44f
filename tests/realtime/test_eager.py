"""start_eagerly: a coroutine runs in the caller until it must wait, then as a task."""

import asyncio

import pytest

from realtime.eager import start_eagerly

pytestmark = pytest.mark.asyncio


async def test_a_coroutine_that_never_waits_finishes_in_the_caller():
    done: list[str] = []

    async def work() -> None:
        done.append("ran")

    assert start_eagerly(work()) is None
    assert done == ["ran"]


async def test_a_coroutine_that_waits_goes_on_as_a_task_with_results_and_errors():
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    seen: list[object] = []

    async def work() -> None:
        seen.append("started")
        seen.append(await first)
        await asyncio.sleep(0)  # a bare yield
        try:
            await second
        except KeyError as error:
            seen.append(error.args[0])

    task = start_eagerly(work())
    assert seen == ["started"] and isinstance(task, asyncio.Task)
    first.set_result("value")
    await asyncio.sleep(0.01)
    second.set_exception(KeyError("failure"))
    await asyncio.wait_for(task, 1)
    assert seen == ["started", "value", "failure"]


async def test_cancelling_the_task_cancels_what_the_coroutine_waits_on():
    loop = asyncio.get_running_loop()
    never = loop.create_future()
    seen: list[str] = []

    async def work() -> None:
        try:
            await never
        except asyncio.CancelledError:
            seen.append("cancelled where it waited")
            raise

    task = start_eagerly(work())
    assert task is not None
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["cancelled where it waited"]
    assert never.cancelled()


async def test_a_cancel_after_the_awaited_future_finished_is_thrown_in():
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    seen: list[str] = []

    async def work() -> None:
        await ready
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    task = start_eagerly(work())
    assert task is not None
    ready.set_result(None)
    task.cancel()  # before the task has resumed the coroutine
    with pytest.raises(asyncio.CancelledError):
        await task
    # `ready` could not be cancelled any more, so the cancellation was thrown
    # in where the coroutine awaited it, before the sleep.
    assert seen == []
    assert task.cancelled()
