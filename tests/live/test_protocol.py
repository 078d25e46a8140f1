"""The /ws protocol against a real server: auth, hello, live events, heartbeats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from websockets.sync.client import connect

from dispatch.auth import service as auth_service
from dispatch.auth.models import PartnerCredentials, Role, User
from dispatch.auth.scope import Scope
from dispatch.clock import FrozenClock
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.live.hub import Batch, Connection, Hub
from dispatch.live.service import LiveEvent
from dispatch.main import create_app
from tests.helpers import JASWANTNAGAR_ID, commit_event, make_alert
from tests.live.support import (
    Console,
    LiveServer,
    close_code,
    has_types,
    post_alert,
    running,
)
from tests.live.test_scope_and_replay import SAIFAI


@pytest.mark.parametrize("token", ["", "not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_bad_token_is_refused_with_4401_before_any_event(
    server: LiveServer, partner: PartnerCredentials, token: str
) -> None:
    post_alert(server.http, partner, make_alert())
    with connect(f"{server.ws}/ws?token={token}&since=0", open_timeout=5) as conn:
        assert close_code(conn) == 4401


def test_expired_token_is_refused(
    server: LiveServer,
    database: Database,
    clock: FrozenClock,
    settings: Settings,
    users: dict[str, tuple[Role, str | None]],
) -> None:
    with database.session() as session:
        from sqlmodel import select

        user = session.exec(select(User).where(User.username == "sho_jsw")).one()
        token, _ = auth_service.issue_token(
            user=user, settings=settings, now=clock.now() - timedelta(hours=13)
        )
    with connect(f"{server.ws}/ws?token={token}", open_timeout=5) as conn:
        assert close_code(conn) == 4401


def test_hello_then_live_events_with_summary_and_no_personal_data(
    server: LiveServer, tokens: dict[str, str], partner: PartnerCredentials
) -> None:
    with Console(server.ws, tokens["sho_jsw"]) as console:
        assert console.hello["user"]["username"] == "sho_jsw"
        assert console.hello["cursor"] == 0
        alert_id = post_alert(server.http, partner, make_alert())
        got = console.events_until(has_types("alert.created", "alert.resolved"))
    assert [e["type"] for e in got] == ["alert.created", "alert.resolved"]
    assert got[0]["id"] < got[1]["id"]
    created = got[0]
    assert created["alert_id"] == alert_id
    assert created["alert"]["station"]["id"] == JASWANTNAGAR_ID
    assert created["alert"]["subject_label"] == "R. K."
    text = str(got)
    assert "Ravi" not in text and "98765" not in text and "ravi@example.com" not in text


def test_client_ping_gets_pong(server: LiveServer, tokens: dict[str, str]) -> None:
    with Console(server.ws, tokens["cell"]) as console:
        console.conn.send('{"type":"ping"}')
        assert console.recv() == {"type": "pong"}


def test_since_beyond_the_timeline_starts_at_its_end(
    server: LiveServer, tokens: dict[str, str], partner: PartnerCredentials
) -> None:
    post_alert(server.http, partner, make_alert())
    with Console(server.ws, tokens["cell"], since=10_000) as console:
        assert console.hello["cursor"] == 2
        post_alert(server.http, partner, make_alert())
        got = console.events_until(lambda e: len(e) >= 2)
    assert [e["id"] for e in got] == [3, 4]


def test_bad_since_is_refused(server: LiveServer, tokens: dict[str, str]) -> None:
    with connect(f"{server.ws}/ws?token={tokens['cell']}&since=abc", open_timeout=5) as conn:
        assert close_code(conn) == 4400


def test_a_console_that_stops_answering_pings_is_closed(
    database: Database, clock: FrozenClock, users: dict[str, tuple[Role, str | None]]
) -> None:
    from dispatch.main import create_app
    from tests.live.support import login, running

    settings = Settings(
        env="test", database_url=database.url, scheduler_enabled=False, heartbeat_s=0.3
    )
    with running(create_app(settings, clock=clock, database=database)) as server:
        token = login(server.http, "cell")
        with Console(server.ws, token) as alive:
            assert alive.quiet(1.0) == []  # it answered every ping and is still open
            alive.conn.send('{"type":"ping"}')
            assert alive.recv() == {"type": "pong"}
        with connect(f"{server.ws}/ws?token={token}", open_timeout=5) as silent:
            assert close_code(silent, timeout=5) == 4408


def test_a_deactivated_or_transferred_officers_console_is_closed_within_a_heartbeat(
    database: Database, clock: FrozenClock, users: dict[str, tuple[Role, str | None]]
) -> None:
    from tests.live.support import api, login, running

    settings = Settings(
        env="test", database_url=database.url, scheduler_enabled=False, heartbeat_s=0.3
    )
    with running(create_app(settings, clock=clock, database=database)) as server:
        admin = login(server.http, "admin")
        sho, saifai, co = (login(server.http, u) for u in ("sho_jsw", "sho_saifai", "co_jsw"))
        with (
            Console(server.ws, sho) as gone,
            Console(server.ws, co) as moved,
            Console(server.ws, saifai) as unchanged,
        ):
            for path, body in (("sho_jsw", {"active": False}), ("co_jsw", {"unit": "Saifai"})):
                r = api(server.http, admin, "PATCH", f"/api/v1/users/{path}", json=body)
                assert r.status_code == 200, r.text
            # No event and no message before the close: the console signs in again.
            assert gone.closed_with(timeout=3) == 4401
            assert moved.closed_with(timeout=3) == 4401
            assert unchanged.quiet(0.8) == []  # an unchanged user's console stays open
        # The transferred officer signs in again and gets the new circle's scope.
        with Console(server.ws, login(server.http, "co_jsw")) as again:
            assert again.hello["user"]["unit"] == "Saifai"


def test_heartbeats_are_spread_over_the_interval_not_sent_to_every_console_at_once(
    database: Database, settings: Settings, clock: FrozenClock
) -> None:
    # 500 consoles pinged in one burst (and their 500 pongs) hold the event loop long
    # enough to delay a live alert: each slice of the interval pings its share only.
    hub = Hub(
        database=database, settings=settings.model_copy(update={"heartbeat_s": 20.0}), clock=clock
    )
    conns = [
        Connection(
            scope=Scope(role=Role.station, unit=f"PS-{i % 7}"),
            username="x",
            max_queue=10,
            expires_at=None,
        )
        for i in range(100)
    ]
    for conn in conns:
        hub.attach(conn)
    hub.detach(conns[0])
    live = conns[1:]
    pinged = [hub.heartbeat(slot) for slot in range(20)]
    assert max(pinged) <= 5 and sum(pinged) == len(live)
    # Every console pinged once in the interval (one that awaits a pong is not pinged again).
    assert all(conn.awaiting_pong_since is not None for conn in live)
    assert conns[0].awaiting_pong_since is None  # detached: no longer pinged
    # One interval later, a console that never answered is closed; one that did is pinged.
    live[0].pong()
    hub.settings = hub.settings.model_copy(update={"heartbeat_s": 0.0})
    for slot in range(20):
        hub.heartbeat(slot)
    assert live[0].close_code is None and live[0].awaiting_pong_since is not None
    assert all(conn.close_code == 4408 for conn in live[1:])


def test_a_connection_that_cannot_keep_up_is_closed_not_waited_for() -> None:
    conn = Connection(
        scope=Scope(role=Role.operator, unit=None), username="x", max_queue=3, expires_at=None
    )
    events = [LiveEvent(id=i, scope="|q:state|", text="{}") for i in range(1, 5)]
    conn.offer(Batch(after=0, upto=2, events=events[:2]))
    assert conn.close_code is None and conn.queued == 2
    conn.offer(Batch(after=2, upto=4, events=events[2:]))
    assert conn.close_code == 4429


def test_a_console_that_attached_while_the_hub_read_catches_up_instead_of_missing_events(
    database: Database, settings: Settings, clock: FrozenClock
) -> None:
    # The hub encodes only events some attached console may see. A console that attaches
    # while such a read runs may have had its events left out: it must be told to read the
    # range itself rather than be offered a batch that claims "nothing else for you".
    hub = Hub(database=database, settings=settings, clock=clock)

    def console(role: Role, unit: str | None) -> Connection:
        conn = Connection(
            scope=Scope(role=role, unit=unit), username="x", max_queue=100, expires_at=None
        )
        hub.attach(conn)
        return conn

    try:
        jaswantnagar = console(Role.station, JASWANTNAGAR_ID)
        tokens = frozenset({f"s:{JASWANTNAGAR_ID}"})  # what the read encoded for
        saifai = console(Role.station, "SAIFAI")  # attached during the read
        cell = console(Role.operator, None)  # attached during the read
        read = [LiveEvent(id=7, scope=f"|s:{JASWANTNAGAR_ID}|d:Etawah|", text="{}")]
        hub._fan_out(5, 9, read, tokens)

        assert list(jaswantnagar._batches) == [Batch(after=0, upto=9, events=read)]
        for late in (saifai, cell):
            (batch,) = late._batches
            assert batch.after == 9 and batch.events == []  # beyond its cursor: it catches up
            assert late.hub_mark == 9
    finally:
        hub._hub_reader.shutdown()
        hub._replayers.shutdown()
        hub._engine.dispose()


def test_batch_mode_sends_what_was_committed_together_as_one_frame(
    server: LiveServer, tokens: dict[str, str], partner: PartnerCredentials
) -> None:
    saifai = make_alert(location=SAIFAI)
    with (
        Console(server.ws, tokens["sho_jsw"], batch=True) as console,
        Console(server.ws, tokens["sho_saifai"], batch=True) as other,
    ):
        alert_id = post_alert(server.http, partner, make_alert())
        frame = console.recv()
        other_id = post_alert(server.http, partner, saifai)
        other_frame = other.recv()
        assert console.quiet(0.5) == []
    assert frame["type"] == "batch"
    events = frame["events"]
    assert [e["type"] for e in events] == ["alert.created", "alert.resolved"]
    assert events[1]["id"] == events[0]["id"] + 1
    assert {e["alert_id"] for e in events} == {alert_id}
    assert events[0]["alert"]["station"]["id"] == JASWANTNAGAR_ID
    # Scope holds inside a batch: Saifai's console gets its own alert only.
    assert {e["alert_id"] for e in other_frame["events"]} == {other_id}

    # Replay in batch mode: everything missed, in order, in as few frames as the server likes.
    with Console(server.ws, tokens["sho_jsw"], since=0, batch=True) as replaying:
        frames = replaying.replay()
    replayed = [e for f in frames for e in (f["events"] if f["type"] == "batch" else [f])]
    assert [e["id"] for e in replayed] == [e["id"] for e in events]


def test_this_processs_commits_are_pushed_and_another_processs_come_first_in_order(
    settings: Settings,
    clock: FrozenClock,
    database: Database,
    tokens: dict[str, str],
    partner: PartnerCredentials,
) -> None:
    # The hub sends this process's own commits without reading them back. An event another
    # process committed just before is a hole in front of them: it is read and sent first.
    # The safety-net poll is made too slow to hide a hub that waited for it.
    app = create_app(
        settings.model_copy(update={"live_poll_s": 60.0}), clock=clock, database=database
    )
    other = Database(database.url)  # a second process on the same database
    try:
        with running(app) as server, Console(server.ws, tokens["cell"]) as cell:
            hub: Hub = app.state.hub
            alert_id = post_alert(server.http, partner, make_alert())
            first = cell.events_until(has_types("alert.resolved"), timeout=3)
            assert hub.batches_pushed >= 1 and hub.batches_read == 0
            commit_event(other)
            second_id = post_alert(server.http, partner, make_alert(location=SAIFAI))
            later = cell.events_until(has_types("alert.resolved"), timeout=3)
    finally:
        other.dispose()
    assert {e["alert_id"] for e in first} == {alert_id}
    assert later[0]["alert_id"] is None and later[0]["type"] == "alert.note"
    assert {e["alert_id"] for e in later[1:]} == {second_id}
    ids = [e["id"] for e in first + later]
    assert ids == list(range(ids[0], ids[0] + len(ids)))
