"""One instance of a helper per event loop (a server process runs one loop)."""

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def per_loop(factory: Callable[[], T]) -> Callable[[], T]:
    """A getter that builds `factory()` once per running event loop."""
    instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T]
    instances = weakref.WeakKeyDictionary()

    def get() -> T:
        loop = asyncio.get_running_loop()
        found = instances.get(loop)
        if found is None:
            found = instances[loop] = factory()
        return found

    return get
