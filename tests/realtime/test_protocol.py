"""Pure unit tests of frame parsing: every documented error code for bad input."""

import pytest

from realtime.protocol import ProtocolError, error_frame, parse_client_frame


def code_of(text: str) -> str:
    with pytest.raises(ProtocolError) as refused:
        parse_client_frame(text, max_history=100)
    return refused.value.code


@pytest.mark.parametrize(
    "text",
    ["{", "", "[1,", '{"type": NaN}', '{"a": Infinity}', "[" * 100_000 + "]" * 100_000],
)
def test_invalid_json_is_bad_json(text):
    assert code_of(text) == "bad_json"


def test_huge_integer_is_bad_json_not_a_crash():
    assert code_of('{"type":"ping","ref":' + "9" * 5000 + "}") == "bad_json"


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        "42",
        '"ping"',
        "{}",
        '{"type": 5}',
        '{"type":"ping","ref":{"x":1}}',
        '{"type":"ping","ref":"' + "r" * 65 + '"}',
        '{"type":"publish","topic":"public.a","event":"e"}',
        '{"type":"publish","topic":"public.a","event":"","data":1}',
        '{"type":"publish","topic":"public.a","event":"a b","data":1}',
        '{"type":"subscribe","topic":"public.a","since":{"offset":-1,"epoch":"x"}}',
        '{"type":"subscribe","topic":"public.a","since":{"offset":1}}',
        '{"type":"subscribe","topic":"public.a","since":5}',
        '{"type":"subscribe","topic":"public.a","history":101}',
        '{"type":"subscribe","topic":"public.a","history":true}',
    ],
)
def test_malformed_frames_are_bad_frame(text):
    assert code_of(text) == "bad_frame"


def test_unknown_type_is_reported():
    assert code_of('{"type":"websocket.disconnect"}') == "unknown_type"


@pytest.mark.parametrize(
    "topic", [None, 5, "", "a" * 91, "chat lobby", "chat/lobby", "ünï", "a\nb"]
)
def test_bad_topic_names_are_bad_topic(topic):
    import json

    assert code_of(json.dumps({"type": "subscribe", "topic": topic})) == "bad_topic"


def test_topic_of_90_characters_is_accepted():
    frame = parse_client_frame(
        '{"type":"subscribe","topic":"' + "a" * 90 + '"}', max_history=1
    )
    assert frame.topic == "a" * 90


def test_subscribe_with_since_and_history_is_parsed():
    frame = parse_client_frame(
        '{"type":"subscribe","topic":"chat.x","ref":3,'
        '"since":{"offset":7,"epoch":"ab"},"history":5}',
        max_history=10,
    )
    assert frame.since is not None
    assert (frame.since.offset, frame.since.epoch, frame.history) == (7, "ab", 5)
    assert frame.ref == 3


def test_error_frame_echoes_ref_and_topic():
    error = ProtocolError("forbidden", "no", topic="user.1")
    assert error_frame(error, "r1") == (
        '{"type":"error","code":"forbidden","message":"no","ref":"r1","topic":"user.1"}'
    )
