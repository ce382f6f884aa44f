"""Property-based fuzz of the protocol parser: never a crash, always a code."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.protocol import ErrorCode, ProtocolError, parse_client_frame

DOCUMENTED: set[str] = set(ErrorCode.__args__)  # type: ignore[attr-defined]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
frame_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            ["subscribe", "unsubscribe", "publish", "ping", "presence", "x"]
        )
        | json_values,
        "topic": st.from_regex(r"[a-z.]{0,100}", fullmatch=True) | json_values,
        "event": st.text(max_size=70) | json_values,
        "data": json_values,
        "ref": json_values,
        "since": st.fixed_dictionaries({"offset": json_values, "epoch": json_values})
        | json_values,
        "history": json_values,
    },
)


def parse_or_code(text: str) -> str:
    try:
        parse_client_frame(text, max_history=500)
    except ProtocolError as error:
        assert error.code in DOCUMENTED
        assert error.message
        return error.code
    return "ok"


@settings(max_examples=400, deadline=None)
@given(frame_like)
def test_any_frame_shaped_object_parses_or_gets_a_documented_code(frame):
    parse_or_code(json.dumps(frame))


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_gets_a_documented_code(text):
    parse_or_code(text)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=50_000))
def test_deep_nesting_is_bad_json_or_bad_frame_never_a_crash(depth):
    assert parse_or_code("[" * depth + "]" * depth) in {"bad_json", "bad_frame"}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_invalid_utf8_decoded_leniently_never_crashes(raw):
    parse_or_code(raw.decode("utf-8", "surrogateescape"))
