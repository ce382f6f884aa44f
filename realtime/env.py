"""Typed readers of environment variables, for realtime/settings.py.

An unset or empty variable means the default; a malformed one raises
ImproperlyConfigured naming the variable.
"""

import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    """The variable's value; unset and empty both mean the default."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(_env_number(name, default, int))


def env_float(name: str, default: float) -> float:
    return float(_env_number(name, default, float))


def _env_number(name: str, default: float, kind: type[int] | type[float]) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{name} must be a {kind.__name__}, got {raw!r}"
        ) from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_gc_thresholds(name: str, default: str) -> tuple[int, int, int]:
    raw = env_list(name, default)
    try:
        thresholds = tuple(int(item) for item in raw)
    except ValueError:
        thresholds = ()
    if len(thresholds) != 3 or min(thresholds) < 1:
        raise ImproperlyConfigured(
            f"{name} must be three positive integers like 50000,20,100, got {raw!r}"
        )
    young, middle, old = thresholds
    return young, middle, old
