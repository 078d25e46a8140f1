"""Random input never crashes the conversation and always gets an answer."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.tipline import conversation as conv
from tests.tipline.support import Informant

WORDS = [
    "hi",
    "1",
    "2",
    "3",
    "10",
    "11",
    "back",
    "cancel",
    "help",
    "done",
    "yes",
    "no",
    "हाँ",
    "वापस",
    "हो गया",
    "STATUS T-7Q4M",
    "ADD T-7Q4M",
    "हिंदी",
    "english",
    "",
    "²",  # a digit that is not a number: int() refuses it
    "२",  # Devanagari 2
]
messages = st.builds(
    conv.Message,
    text=st.one_of(st.sampled_from(WORDS), st.text(max_size=300)),
    lat=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    lon=st.one_of(st.none(), st.floats(min_value=-180, max_value=180)),
    media_count=st.integers(min_value=0, max_value=3),
)
datas = st.fixed_dictionaries(
    {},
    optional={
        "lang": st.sampled_from(["hi", "en", None]),
        "category": st.sampled_from([c.value for c in conv.categories()]),
        "district": st.sampled_from(["Jaunpur", "Ghazipur", "Chandauli", "Agra"]),
        "description": st.text(max_size=50),
        "place_text": st.one_of(st.none(), st.text(max_size=20)),
        "extra_texts": st.lists(st.text(max_size=10), max_size=3),
        "add_ref": st.just("T-7Q4M"),
    },
)


def _ctx() -> conv.Context:
    def locate(lat: float, lon: float) -> conv.Place | None:
        return conv.Place("JNP-KERAKAT", "Kerakat", "Jaunpur") if lat > 0 else None

    return conv.Context(districts=["Jaunpur", "Ghazipur", "Chandauli"], locate=locate)


@given(state=st.sampled_from(list(conv.State)), data=datas, message=messages)
@settings(max_examples=600, deadline=None)
def test_every_step_answers(state: conv.State, data: dict[str, Any], message: conv.Message) -> None:
    if state is conv.State.confirm:
        data.setdefault("category", "other")
    outcome = conv.step(state, data, message, _ctx())
    assert outcome.replies or outcome.submit
    assert all(isinstance(r, str) and r.strip() for r in outcome.replies)
    assert outcome.state is None or isinstance(outcome.state, conv.State)


@given(script=st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=80)), max_size=12))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_webhook_always_answers(client: TestClient, script: list[str]) -> None:
    person = Informant(client, "+919844444444")
    person.send("cancel")
    assert person.send("h\x00i")  # a NUL, which PostgreSQL cannot store: still answered
    for text in script:
        replies = person.send(text)
        assert replies and all(r.strip() for r in replies), text


def test_a_number_is_read_in_any_script_and_a_superscript_is_no_number() -> None:
    options = [("hi", {"hindi"}), ("en", {"english"})]
    assert conv.choose("२", options) == "en"  # Devanagari digits, as many phones type them
    assert conv.choose("1", options) == "hi"
    assert conv.choose("²", options) is None
    assert conv.choose("3", options) is None
