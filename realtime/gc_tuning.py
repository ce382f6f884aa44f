"""Garbage-collector settings for a long-running server process.

CPython's defaults (700, 10, 10) collect every 700 net allocations, and a full
collection walks every tracked object: with a thousand chat connections that
paused the event loop for 80-320 ms at a time, which was most of the chat
benchmark's p99 (docs/performance.md). So, once the app is built, objects that
live as long as the process (modules, settings, URL patterns) are frozen out
of collections, and collections run less often.
"""

import gc

from django.conf import settings


def tune() -> None:
    """Freeze start-up objects and apply REALTIME_GC_THRESHOLDS; call once."""
    if settings.REALTIME_GC_FREEZE:
        gc.collect()
        gc.freeze()
    gc.set_threshold(*settings.REALTIME_GC_THRESHOLDS)
