"""Job kinds: any app registers the work a job can do with @job_kind."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class TransientJobError(Exception):
    """Raise from a job for errors worth retrying (with backoff and jitter)."""


class JobCancelled(Exception):
    """Raised by Progress.check_cancelled() when the job's owner cancelled it."""


class InvalidParams(ValueError):
    """Parameters that do not match the kind's declaration."""


@dataclass(frozen=True)
class Param:
    type: type
    help: str = ""
    required: bool = True


@dataclass(frozen=True)
class JobKind:
    name: str
    title: str
    func: Callable[..., dict[str, Any]]
    params: dict[str, Param] = field(default_factory=dict)

    def clean_params(self, raw: Any) -> dict[str, Any]:
        """The params checked against the declaration; InvalidParams otherwise."""
        if not isinstance(raw, dict):
            raise InvalidParams("params must be an object")
        unknown = set(raw) - set(self.params)
        if unknown:
            raise InvalidParams(f"unknown params: {', '.join(sorted(unknown))}")
        cleaned: dict[str, Any] = {}
        for name, param in self.params.items():
            if name not in raw:
                if param.required:
                    raise InvalidParams(f"{name} is required")
                continue
            value = raw[name]
            if not isinstance(value, param.type) or isinstance(value, bool) != (
                param.type is bool
            ):
                raise InvalidParams(f"{name} must be {param.type.__name__}")
            cleaned[name] = value
        return cleaned

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.name,
            "title": self.title,
            "params": {
                name: {
                    "type": p.type.__name__,
                    "required": p.required,
                    "help": p.help,
                }
                for name, p in self.params.items()
            },
        }


_kinds: dict[str, JobKind] = {}


def job_kind(
    name: str, *, title: str, params: dict[str, Param] | None = None
) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register `func(progress, **params) -> result dict` as a job kind."""

    def register(func: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        _kinds[name] = JobKind(name=name, title=title, func=func, params=params or {})
        return func

    return register


def get_kind(name: str) -> JobKind | None:
    return _kinds.get(name)


def all_kinds() -> list[JobKind]:
    return sorted(_kinds.values(), key=lambda kind: kind.name)
