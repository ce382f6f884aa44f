"""The wire protocol of /ws/: parsing client frames and building server frames.

Every frame is a JSON object with a `type`. docs/protocol.md is the reference;
keep the two in step.
"""

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

TOPIC_RE = re.compile(r"[A-Za-z0-9_\-.]{1,90}")

ErrorCode = Literal[
    "bad_json",
    "bad_frame",
    "unknown_type",
    "bad_topic",
    "forbidden",
    "too_large",
    "rate_limited",
    "not_subscribed",
    "too_many_connections",
    "invalid",
    "too_many_subscriptions",
    "unavailable",
    "lagged",
    "internal",
]

# Close codes (4000-4999 are the application's; see docs/protocol.md).
CLOSE_SERVICE_RESTART = 1012
CLOSE_SLOW_CONSUMER = 4008
CLOSE_IDLE = 4002
CLOSE_SESSION_ENDED = 4001
CLOSE_TOO_MANY_CONNECTIONS = 4029


class ProtocolError(Exception):
    """A client frame that is refused; becomes an `error` frame, never a crash."""

    def __init__(self, code: ErrorCode, message: str, *, topic: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.topic = topic
        self.ref: str | int | None = None


@dataclass(frozen=True)
class Since:
    offset: int
    epoch: str


@dataclass(frozen=True)
class ClientFrame:
    """A validated client frame; fields a type does not use are None."""

    type: str
    ref: str | int | None = None
    topic: str | None = None
    event: str | None = None
    data: Any = None
    since: Since | None = None
    history: int = 0


CLIENT_TYPES = {"subscribe", "unsubscribe", "publish", "ping", "presence"}
EVENT_RE = re.compile(r"[A-Za-z0-9_\-.:]{1,64}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_json(text: str) -> Any:
    """Parse strict JSON (no NaN/Infinity); raise ProtocolError("bad_json")."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("bad_json", "frame is not valid JSON") from exc


def check_topic(topic: Any) -> str:
    """Return the topic if it is a well-formed name, else raise bad_topic."""
    if not isinstance(topic, str) or not TOPIC_RE.fullmatch(topic):
        raise ProtocolError(
            "bad_topic",
            "topic must be 1-90 ASCII letters, digits, '-', '_' or '.'",
        )
    return topic


def _parse_ref(raw: dict[str, Any]) -> str | int | None:
    ref = raw.get("ref")
    if ref is None or (isinstance(ref, str) and len(ref) <= 64):
        return ref
    if isinstance(ref, int) and not isinstance(ref, bool) and abs(ref) < 2**53:
        return ref
    raise ProtocolError("bad_frame", "ref must be a string (<= 64 chars) or integer")


def _parse_since(raw: Any) -> Since | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProtocolError("bad_frame", "since must be {offset, epoch}")
    offset, epoch = raw.get("offset"), raw.get("epoch")
    if (
        not isinstance(offset, int)
        or isinstance(offset, bool)
        or not 0 <= offset < 2**63
        or not isinstance(epoch, str)
        or len(epoch) > 64
    ):
        raise ProtocolError("bad_frame", "since must be {offset: int >= 0, epoch: str}")
    return Since(offset=offset, epoch=epoch)


def _parse_history(raw: Any, limit: int) -> int:
    if raw is None:
        return 0
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= limit:
        raise ProtocolError("bad_frame", f"history must be an integer 0-{limit}")
    return raw


def parse_client_frame(text: str, *, max_history: int) -> ClientFrame:
    """Validate one text frame from a client; raise ProtocolError if it is bad."""
    raw = decode_json(text)
    if not isinstance(raw, dict):
        raise ProtocolError("bad_frame", "frame must be a JSON object")
    ref = _parse_ref(raw)
    try:
        return _parse_fields(raw, ref, max_history)
    except ProtocolError as error:
        error.ref = ref
        raise


def _parse_fields(
    raw: dict[str, Any], ref: str | int | None, max_history: int
) -> ClientFrame:
    frame_type = raw.get("type")
    if not isinstance(frame_type, str):
        raise ProtocolError("bad_frame", "frame needs a string 'type'")
    if frame_type not in CLIENT_TYPES:
        raise ProtocolError("unknown_type", f"unknown frame type {frame_type[:40]!r}")
    if frame_type == "ping":
        return ClientFrame(type="ping", ref=ref)
    topic = check_topic(raw.get("topic"))
    if frame_type == "publish":
        event = raw.get("event")
        if not isinstance(event, str) or not EVENT_RE.fullmatch(event):
            raise ProtocolError(
                "bad_frame", "event must be 1-64 letters, digits, '-', '_', '.', ':'"
            )
        if "data" not in raw:
            raise ProtocolError("bad_frame", "publish needs 'data'")
        return ClientFrame(
            type="publish", ref=ref, topic=topic, event=event, data=raw["data"]
        )
    if frame_type == "subscribe":
        return ClientFrame(
            type="subscribe",
            ref=ref,
            topic=topic,
            since=_parse_since(raw.get("since")),
            history=_parse_history(raw.get("history"), max_history),
        )
    return ClientFrame(type=frame_type, ref=ref, topic=topic)


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: ErrorCode
    message: str
    ref: NotRequired[str | int | None]
    topic: NotRequired[str]


def encode(frame: dict[str, Any]) -> str:
    """Compact JSON; ASCII-escaped so lone surrogates can never break UTF-8."""
    return json.dumps(frame, separators=(",", ":"))


def error_frame(error: ProtocolError, ref: str | int | None = None) -> str:
    frame: ErrorFrame = {"type": "error", "code": error.code, "message": error.message}
    ref = ref if ref is not None else error.ref
    if ref is not None:
        frame["ref"] = ref
    if error.topic is not None:
        frame["topic"] = error.topic
    return encode(dict(frame))


def reply_frame(frame_type: str, ref: str | int | None, **fields: Any) -> str:
    """A reply to a client frame (`subscribed`, `ack`, `pong`, ...), echoing ref."""
    frame: dict[str, Any] = {"type": frame_type}
    if ref is not None:
        frame["ref"] = ref
    frame.update(fields)
    return encode(frame)
