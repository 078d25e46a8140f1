"""The bot's conversation as a pure state machine: (state, answers, message) -> outcome.

No database and no Twilio here, so every path can be tested (and fuzzed) directly. The
service loads the conversation, calls `step`, and carries out what the outcome asks for
(keep the media, submit the tip, add text to an existing tip).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dispatch.tipline import catalogue as cat
from dispatch.tipline.models import Category

MIN_PLACE = 3
MIN_DESCRIPTION = 10
MAX_TEXT = 4000


class State(StrEnum):
    """Where the informant is in the conversation."""

    language = "language"
    category = "category"
    district = "district"
    place = "place"
    description = "description"
    media = "media"
    confirm = "confirm"
    adding = "adding"  # adding information to an existing tip (ADD T-7Q4M)


PREVIOUS = {
    State.language: State.language,
    State.category: State.language,
    State.district: State.category,
    State.place: State.district,
    State.description: State.place,
    State.media: State.description,
    State.confirm: State.media,
}


@dataclass(frozen=True)
class Place:
    """A station found for a shared location or a place name."""

    station_id: str
    name: str
    district: str


@dataclass(frozen=True)
class Message:
    """One inbound WhatsApp message, reduced to what the conversation needs."""

    text: str = ""
    lat: float | None = None
    lon: float | None = None
    media_count: int = 0


@dataclass
class Context:
    """What the conversation may ask of the outside world."""

    districts: list[str]
    # (lat, lon) -> the station there, or None outside the loaded jurisdictions.
    locate: Callable[[float, float], Place | None] = lambda _lat, _lon: None
    # (place text, district) -> a station the text names, or None.
    place_station: Callable[[str, str], Place | None] = lambda _text, _district: None
    media_kept: int = 0  # attachments already kept for this conversation


@dataclass
class Outcome:
    """What to answer and what to do; state None ends the conversation."""

    replies: list[str]
    state: State | None
    data: dict[str, Any]
    keep_media: bool = False
    submit: bool = False
    discard: bool = False
    add_text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def start(message: Message, ctx: Context, language: str | None = None) -> Outcome:
    """The first message of a conversation (whatever it says): welcome and the language menu."""
    data: dict[str, Any] = {}
    replies = [cat.say("welcome", None), cat.say("ask_language", None)]
    if message.media_count:
        replies.insert(1, cat.say("media_not_now", language))
    return Outcome(replies=["\n\n".join(replies)], state=State.language, data=data)


def question(state: State, data: dict[str, Any], ctx: Context) -> str:
    """The question asked in a state."""
    lang = data.get("lang")
    if state is State.language:
        return cat.say("ask_language", lang)
    if state is State.category:
        return cat.category_menu(lang)
    if state is State.district:
        return cat.district_menu(lang, ctx.districts, cat.DISTRICT_HI)
    if state is State.place:
        return cat.say("ask_place", lang)
    if state is State.description:
        return cat.say("ask_description", lang)
    if state is State.media:
        return cat.say("ask_media", lang)
    if state is State.confirm:
        return summary(data, ctx)
    return cat.say("add_start", lang, ref=data.get("add_ref", ""))


def summary(data: dict[str, Any], ctx: Context) -> str:
    """The confirmation question with the answers so far."""
    lang = data.get("lang")
    description = str(data.get("description", ""))
    if len(description) > 300:
        description = description[:300] + "…"
    place = data.get("place_text") or cat.say("shared_location", lang)
    if data.get("station_name"):
        place = f"{place} ({data['station_name']})"
    district = str(data.get("district", ""))
    media = ctx.media_kept
    extra = len(data.get("extra_texts", []))
    attachments = str(media + extra) if media + extra else cat.say("none", lang)
    return cat.say(
        "confirm",
        lang,
        category=cat.category_label(data["category"], lang) if data.get("category") else "",
        district=cat.DISTRICT_HI.get(district, district) if lang == "hi" else district,
        place=place,
        description=description,
        media=attachments,
    )


def choose(text: str, options: list[tuple[str, set[str]]]) -> str | None:
    """The option whose number or one of whose words the text is (None if none)."""
    value = cat.normalise(text)
    if value.isdecimal():
        number = int(value)
        return options[number - 1][0] if 1 <= number <= len(options) else None
    for key, words in options:
        if value in words:
            return key
    return None


def step(state: State, data: dict[str, Any], message: Message, ctx: Context) -> Outcome:
    """Answer one message in a conversation that is in `state` with answers `data`."""
    data = dict(data)
    lang = data.get("lang")
    word = cat.normalise(message.text)
    if word in cat.CANCEL:
        return Outcome([cat.say("cancelled", lang)], None, data, discard=state is not State.adding)
    if word in cat.HELP:
        return Outcome([cat.say("help", lang) + "\n\n" + question(state, data, ctx)], state, data)
    if state is State.adding:
        return _adding(data, message, word)
    if word in cat.BACK:
        previous = PREVIOUS[state]
        return Outcome([question(previous, data, ctx)], previous, data)
    if message.media_count and state not in (State.media, State.confirm):
        reply = cat.say("media_not_now", lang) + "\n\n" + question(state, data, ctx)
        return Outcome([reply], state, data)
    handler = HANDLERS[state]
    return handler(data, message, word, ctx)


def _again(state: State, data: dict[str, Any], hint: str, ctx: Context) -> Outcome:
    return Outcome(
        [cat.say(hint, data.get("lang")) + "\n\n" + question(state, data, ctx)], state, data
    )


def _language(data: dict[str, Any], message: Message, word: str, ctx: Context) -> Outcome:
    chosen = choose(message.text, [("hi", cat.HINDI), ("en", cat.ENGLISH)])
    if chosen is None:
        return _again(State.language, data, "invalid_choice", ctx)
    data["lang"] = chosen
    return Outcome([question(State.category, data, ctx)], State.category, data)


def _category(data: dict[str, Any], message: Message, word: str, ctx: Context) -> Outcome:
    options = [
        (c.value, {cat.normalise(en), cat.normalise(hi), *(cat.normalise(w) for w in words)})
        for c, (en, hi, words) in cat.CATEGORIES.items()
    ]
    chosen = choose(message.text, options)
    if chosen is None:
        return _again(State.category, data, "invalid_choice", ctx)
    data["category"] = chosen
    return Outcome([question(State.district, data, ctx)], State.district, data)


def _district(data: dict[str, Any], message: Message, word: str, ctx: Context) -> Outcome:
    options = [
        (d, {cat.normalise(d), cat.normalise(cat.DISTRICT_HI.get(d, d))}) for d in ctx.districts
    ]
    chosen = choose(message.text, options)
    if chosen is None:
        return _again(State.district, data, "invalid_choice", ctx)
    if chosen != data.get("district"):
        for key in ("place_text", "lat", "lon", "station_id", "station_name"):
            data.pop(key, None)
    data["district"] = chosen
    return Outcome([question(State.place, data, ctx)], State.place, data)


def _place(data: dict[str, Any], message: Message, word: str, ctx: Context) -> Outcome:
    lang = data.get("lang")
    district = str(data.get("district", ""))
    if message.lat is not None and message.lon is not None:
        found = ctx.locate(message.lat, message.lon)
        if found is None or found.district != district:
            label = cat.DISTRICT_HI.get(district, district) if lang == "hi" else district
            reply = cat.say("location_outside", lang, district=label)
            return Outcome([reply + "\n\n" + question(State.place, data, ctx)], State.place, data)
        data.update(
            lat=message.lat,
            lon=message.lon,
            station_id=found.station_id,
            station_name=found.name,
            place_text=message.text.strip()[:500] or None,
        )
        reply = cat.say("location_noted", lang) + "\n\n" + question(State.description, data, ctx)
        return Outcome([reply], State.description, data)
    text = message.text.strip()
    if len(text) < MIN_PLACE or text.isdigit():
        return _again(State.place, data, "invalid_place", ctx)
    data.update(place_text=text[:1000], lat=None, lon=None)
    found = ctx.place_station(text, district)
    data["station_id"] = found.station_id if found else None
    data["station_name"] = found.name if found else None
    return Outcome([question(State.description, data, ctx)], State.description, data)


def _description(data: dict[str, Any], message: Message, word: str, ctx: Context) -> Outcome:
    text = message.text.strip()
    if len(text) < MIN_DESCRIPTION:
        return _again(State.description, data, "invalid_description", ctx)
    data["description"] = text[:MAX_TEXT]
    data["extra_texts"] = []
    return Outcome([question(State.media, data, ctx)], State.media, data)


def _media(data: dict[str, Any], message: Message, word: str, ctx: Context) -> Outcome:
    lang = data.get("lang")
    if word in cat.DONE and not message.media_count:
        return Outcome([summary(data, ctx)], State.confirm, data)
    text = message.text.strip()
    if message.media_count:
        if text:
            data["extra_texts"] = [*data.get("extra_texts", []), text[:MAX_TEXT]]
        count = ctx.media_kept + message.media_count
        return Outcome(
            [cat.say("media_received", lang, count=count)], State.media, data, keep_media=True
        )
    if message.lat is not None or not text:
        return _again(State.media, data, "invalid_media", ctx)
    data["extra_texts"] = [*data.get("extra_texts", []), text[:MAX_TEXT]]
    return Outcome([cat.say("text_added", lang)], State.media, data)


def _confirm(data: dict[str, Any], message: Message, word: str, ctx: Context) -> Outcome:
    if message.media_count:
        # A late photo still belongs to the tip: take it and ask again.
        return Outcome([summary(data, ctx)], State.confirm, data, keep_media=True)
    chosen = choose(message.text, [("yes", cat.YES), ("no", cat.NO)])
    if chosen == "yes":
        return Outcome([], None, data, submit=True)
    if chosen == "no":
        fresh = {"lang": data.get("lang")}
        return Outcome([question(State.category, fresh, ctx)], State.category, fresh, discard=True)
    return _again(State.confirm, data, "invalid_choice", ctx)


def _adding(data: dict[str, Any], message: Message, word: str) -> Outcome:
    lang = data.get("lang")
    ref = str(data.get("add_ref", ""))
    if (word in cat.DONE or word in cat.BACK) and not message.media_count:
        return Outcome([cat.say("add_done", lang, ref=ref)], None, data)
    text = message.text.strip()
    if not text and not message.media_count:
        return Outcome([cat.say("invalid_media", lang)], State.adding, data)
    reply = cat.say("text_added", lang)
    return Outcome(
        [reply],
        State.adding,
        data,
        keep_media=bool(message.media_count),
        add_text=text[:MAX_TEXT] or None,
    )


Handler = Callable[[dict[str, Any], Message, str, Context], Outcome]
HANDLERS: dict[State, Handler] = {
    State.language: _language,
    State.category: _category,
    State.district: _district,
    State.place: _place,
    State.description: _description,
    State.media: _media,
    State.confirm: _confirm,
}


def categories() -> list[Category]:
    """The categories in menu order."""
    return list(cat.CATEGORIES)
