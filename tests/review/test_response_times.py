"""The response-time review: hand-computed percentiles, breaches, CSV, scope, parameters, page."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dispatch.alerts.models import Alert
from dispatch.auth.scope import scope_string, station_tokens
from dispatch.db import Database
from dispatch.review import stats
from dispatch.review.models import ReviewOut

URL = "/api/v1/review/response-times"
PERIOD = {"from": "2026-11-01", "to": "2026-11-24"}
BASE = datetime(2026, 11, 10, 4, 30, tzinfo=UTC)  # 10:00 IST
STATIONS = {
    "ETW-JASWANTNAGAR": ("Jaswantnagar", "Jaswantnagar", "Etawah", "Kanpur"),
    "ETW-SAIFAI": ("Saifai", "Saifai", "Etawah", "Kanpur"),
    "JNP-KOTWALI": ("Kotwali Jaunpur", "City Jaunpur", "Jaunpur", "Varanasi"),
}


def add_alert(
    database: Database,
    *,
    station: str | None,
    received_at: datetime,
    offsets: dict[str, float],
    outcome: str | None = None,
    escalation_level: int = 0,
) -> int:
    """An alert whose lifecycle timestamps are `received_at` + the given seconds."""
    values: dict[str, Any] = {
        f"{name}_at": received_at + timedelta(seconds=s) for name, s in offsets.items()
    }
    if station is not None:
        name, circle, district, range_name = STATIONS[station]
        values.update(
            station_id=station,
            station_name=name,
            circle=circle,
            district=district,
            range_name=range_name,
            scope=scope_string(station_tokens(station, circle, district, range_name)),
        )
    alert = Alert(
        category="suicide_risk",
        status="closed" if "closed" in offsets else "new",
        received_at=received_at,
        updated_at=received_at,
        outcome=outcome,
        escalation_level=escalation_level,
        **values,
    )
    with database.session() as session:
        session.add(alert)
        session.commit()
        assert alert.id is not None
        return alert.id


@pytest.fixture
def alerts(database: Database) -> dict[str, int]:
    """Five alerts with known timelines: four in Etawah (two stations), one in Jaunpur."""
    day = timedelta(days=1)
    ids = {
        "a1": add_alert(
            database,
            station="ETW-JASWANTNAGAR",
            received_at=BASE,
            offsets={
                "resolved": 2,
                "acknowledged": 60,
                "dispatched": 120,
                "on_scene": 900,
                "contacted": 1200,
                "closed": 3600,
            },
            outcome="found_safe_counselled",
        ),
        "a2": add_alert(
            database,
            station="ETW-JASWANTNAGAR",
            received_at=BASE + day,
            offsets={"resolved": 4, "acknowledged": 120, "contacted": 2400, "closed": 7200},
            outcome="hospitalised",
            escalation_level=1,
        ),
        "a3": add_alert(
            database,
            station="ETW-SAIFAI",
            received_at=BASE + 2 * day,
            offsets={"resolved": 6, "acknowledged": 600, "closed": 1000},
            outcome="false_alarm",
            escalation_level=2,
        ),
        "a4": add_alert(
            database,
            station="ETW-SAIFAI",
            received_at=BASE + 3 * day,
            offsets={"resolved": 8},
            escalation_level=3,
        ),
        # Sunday 19:00 UTC is Monday 00:30 in India: it belongs to the week of 16 November.
        "a5": add_alert(
            database,
            station="JNP-KOTWALI",
            received_at=datetime(2026, 11, 15, 19, 0, tzinfo=UTC),
            offsets={"resolved": 1, "acknowledged": 30, "contacted": 600, "closed": 900},
            outcome="attempt_interrupted",
        ),
        # Outside the period: never counted.
        "old": add_alert(
            database,
            station="ETW-SAIFAI",
            received_at=datetime(2026, 10, 20, tzinfo=UTC),
            offsets={"acknowledged": 5000},
        ),
    }
    return ids


def get(client: TestClient, headers: dict[str, str], **params: str) -> Any:
    r = client.get(URL, params={**PERIOD, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json() if params.get("format") != "csv" else r.text


def iv(unit: dict[str, Any], name: str) -> tuple[int, float | None, float | None]:
    i = unit["intervals"][name]
    return i["count"], i["median_s"], i["p90_s"]


def test_percentile_helper_matches_hand_arithmetic() -> None:
    assert stats.percentile([600, 60, 120], 0.5) == 120
    assert stats.percentile([60, 120, 600], 0.9) == pytest.approx(504.0)
    assert stats.percentile([1200, 2400], 0.9) == pytest.approx(2280.0)
    assert stats.percentile([], 0.5) is None
    assert stats.percentile([7], 0.9) == 7


def test_district_review_percentiles_breaches_outcomes(
    client: TestClient, auth: dict[str, dict[str, str]], alerts: dict[str, int]
) -> None:
    body = get(client, auth["supervisor"], unit="district", unit_id="Etawah")
    s = body["summary"]
    assert s["alerts"] == 4
    # Hand-computed: p = q*(n-1), linear between neighbours.
    assert iv(s, "resolved") == (4, 5.0, 7.4)  # 2 4 6 8
    assert iv(s, "acknowledged") == (3, 120.0, 504.0)  # 60 120 600
    assert iv(s, "dispatched") == (1, 120.0, 120.0)
    assert iv(s, "on_scene") == (1, 900.0, 900.0)
    assert iv(s, "contacted") == (2, 1800.0, 2280.0)  # 1200 2400
    assert iv(s, "closed") == (3, 3600.0, 6480.0)  # 1000 3600 7200
    ack, contact = s["breaches"]["acknowledged"], s["breaches"]["contacted"]
    assert (ack["target_s"], ack["late"], ack["missing"], ack["total"]) == (180, 1, 1, 2)
    # a2 late; a4 never contacted; a3 (false alarm) is exempt.
    assert (contact["target_s"], contact["late"], contact["missing"]) == (1800, 1, 1)
    assert (s["escalated"], s["escalation_steps"], s["lives_saved"]) == (3, 6, 2)
    assert body["outcomes"] == {
        "false_alarm": 1,
        "found_safe_counselled": 1,
        "hospitalised": 1,
        "none": 1,
    }
    # Bins [0,30) [30,60) [60,90) [90,120) [120,180) [180,300) [300,600) [600,900) ...
    histogram = body["histogram_acknowledged"]
    assert [b["count"] for b in histogram] == [0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0]
    assert (histogram[2]["lo_s"], histogram[2]["hi_s"], histogram[-1]["hi_s"]) == (60, 90, None)
    # League: slowest median acknowledgement first.
    league = {u["key"]: u for u in body["league"]}
    assert [u["key"] for u in body["league"]] == ["ETW-SAIFAI", "ETW-JASWANTNAGAR"]
    assert iv(league["ETW-JASWANTNAGAR"], "acknowledged") == (2, 90.0, 114.0)
    assert iv(league["ETW-SAIFAI"], "acknowledged") == (1, 600.0, 600.0)
    # Slowest by acknowledgement, each a link to the console's alert detail.
    slow = body["slowest"]
    assert [a["id"] for a in slow] == [alerts["a3"], alerts["a2"], alerts["a1"]]
    assert slow[0]["link"] == f"/#/alerts/{alerts['a3']}"
    assert slow[0]["intervals_s"]["acknowledged"] == 600.0
    assert body["from"].startswith("2026-11-01T00:00:00")
    assert body["percentile_method"].startswith("linear interpolation")
    # The documented schema (OpenAPI) describes exactly what is sent.
    assert ReviewOut.model_validate(body).summary.alerts == 4


def test_state_review_trends_and_india_weeks(
    client: TestClient, auth: dict[str, dict[str, str]], alerts: dict[str, int]
) -> None:
    body = get(client, auth["cell"])
    assert body["unit"] == "state" and body["summary"]["alerts"] == 5
    assert iv(body["summary"], "acknowledged") == (4, 90.0, 456.0)  # 30 60 120 600
    weeks = {w["key"]: w["alerts"] for w in body["weekly"]}
    assert weeks == {"2026-11-09": 4, "2026-11-16": 1}
    assert [(m["key"], m["alerts"]) for m in body["monthly"]] == [("2026-11", 5)]
    assert body["summary"]["lives_saved"] == 3
    by_district = get(client, auth["admin"], group="district")
    assert [(u["key"], u["alerts"]) for u in by_district["league"]] == [
        ("Etawah", 4),
        ("Jaunpur", 1),
    ]


def test_custom_targets_change_breaches(
    client: TestClient, auth: dict[str, dict[str, str]], alerts: dict[str, int]
) -> None:
    client.app.state.settings.review_ack_target_minutes = 1.5  # type: ignore[attr-defined]
    s = get(client, auth["supervisor"], unit="district", unit_id="Etawah")["summary"]
    assert s["breaches"]["acknowledged"] == {"target_s": 90.0, "late": 2, "missing": 1, "total": 3}


def test_units_csv_parses_back(
    client: TestClient, auth: dict[str, dict[str, str]], alerts: dict[str, int]
) -> None:
    r = client.get(
        URL,
        params={**PERIOD, "unit": "district", "unit_id": "Etawah", "format": "csv"},
        headers=auth["dcr_etawah"],
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["unit_type"], x["unit_id"]) for x in rows] == [
        ("district", "Etawah"),
        ("station", "ETW-SAIFAI"),
        ("station", "ETW-JASWANTNAGAR"),
    ]
    whole = rows[0]
    assert whole["alerts"] == "4"
    assert (whole["acknowledged_median_s"], whole["acknowledged_p90_s"]) == ("120.0", "504.0")
    assert (whole["contacted_count"], whole["contacted_p90_s"]) == ("2", "2280.0")
    assert (whole["ack_breaches"], whole["contact_breaches"], whole["lives_saved"]) == (
        "2",
        "2",
        "2",
    )
    assert rows[1]["dispatched_median_s"] == ""  # no Saifai alert was dispatched


def test_alerts_csv_one_row_per_alert(
    client: TestClient, auth: dict[str, dict[str, str]], alerts: dict[str, int]
) -> None:
    text = get(
        client, auth["supervisor"], unit="district", unit_id="Etawah", format="csv", rows="alerts"
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(x["id"]) for x in rows] == [alerts[k] for k in ("a1", "a2", "a3", "a4")]
    assert rows[0]["acknowledged_s"] == "60.0" and rows[0]["closed_s"] == "3600.0"
    assert rows[3]["acknowledged_s"] == "" and rows[3]["station_id"] == "ETW-SAIFAI"
    assert rows[0]["link"] == f"/#/alerts/{alerts['a1']}"


def test_district_supervisor_sees_only_the_district(
    client: TestClient, auth: dict[str, dict[str, str]], alerts: dict[str, int]
) -> None:
    own = get(client, auth["dcr_etawah"])
    assert (own["unit"], own["unit_id"], own["summary"]["alerts"]) == ("district", "Etawah", 4)
    assert (
        get(client, auth["dcr_etawah"], unit="station", unit_id="ETW-SAIFAI")["summary"]["alerts"]
        == 2
    )
    for params in (
        {"unit": "district", "unit_id": "Jaunpur"},
        {"unit": "station", "unit_id": "JNP-KOTWALI"},
        {"unit": "range", "unit_id": "Kanpur"},
        {"unit": "state"},
        {"unit": "station", "unit_id": "NO-SUCH-STATION"},
    ):
        r = client.get(URL, params={**PERIOD, **params}, headers=auth["dcr_etawah"])
        assert r.status_code == 404, (params, r.text)
    jaunpur = get(client, auth["sp_jaunpur"])
    assert jaunpur["summary"]["alerts"] == 1
    assert {a["id"] for a in jaunpur["slowest"]} == {alerts["a5"]}
    r = client.get(
        URL,
        params={**PERIOD, "unit": "district", "unit_id": "Etawah"},
        headers=auth["sp_jaunpur"],
    )
    assert r.status_code == 404


def test_range_and_circle_users(
    client: TestClient, auth: dict[str, dict[str, str]], alerts: dict[str, int]
) -> None:
    kanpur = get(client, auth["dig_kanpur"], unit="district", unit_id="Etawah")
    assert kanpur["summary"]["alerts"] == 4
    assert get(client, auth["dig_kanpur"])["summary"]["alerts"] == 4
    assert get(client, auth["dig_varanasi"])["summary"]["alerts"] == 1
    circle = get(client, auth["co_jsw"])
    assert (circle["unit"], circle["summary"]["alerts"]) == ("circle", 2)
    r = client.get(URL, params={"unit": "station", "unit_id": "ETW-SAIFAI"}, headers=auth["co_jsw"])
    assert r.status_code == 404


def test_station_user_forbidden_and_login_required(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    assert client.get(URL, headers=auth["sho_jsw"]).status_code == 403
    assert client.get(URL).status_code == 401


BAD_PARAMETERS: list[tuple[dict[str, str], str]] = [
    ({"unit": "planet"}, "unit"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-45"}, "to"),
    ({"unit": "district"}, "unit_id"),
    ({"unit": "state", "unit_id": "Etawah"}, "unit_id"),
    ({"unit_id": "Etawah"}, "unit"),
    ({"from": "2026-11-20", "to": "2026-11-01"}, "to"),
    ({"from": "2020-01-01", "to": "2026-11-01"}, "to"),
    ({"unit": "district", "unit_id": "Etawah", "group": "range"}, "group"),
    ({"group": "state"}, "group"),
    ({"slowest_by": "lunch"}, "slowest_by"),
    ({"format": "xml"}, "format"),
    ({"rows": "everything"}, "rows"),
    ({"from": "2026-11-01", "to": "9999-12-31"}, "to"),  # the day after it does not exist
    ({"from": "0001-01-01T00:00:00+05:30"}, "from"),  # year 0 in UTC
]


def test_bad_parameters_are_422_naming_the_parameter(
    client: TestClient, auth: dict[str, dict[str, str]]
) -> None:
    # One client for every case: signing in the fixture users dominates a test's run time.
    for params, field in BAD_PARAMETERS:
        r = client.get(URL, params=params, headers=auth["supervisor"])
        assert r.status_code == 422, (params, r.text)
        assert [d["field"] for d in r.json()["detail"]] == [f"query.{field}"], params
        assert field in r.json()["detail"][0]["message"]


def test_empty_period(client: TestClient, auth: dict[str, dict[str, str]]) -> None:
    body = get(client, auth["supervisor"])
    assert body["summary"]["alerts"] == 0
    assert iv(body["summary"], "acknowledged") == (0, None, None)
    assert body["league"] == [] and body["weekly"] == [] and body["slowest"] == []


def test_sql_and_numpy_engines_agree(database: Database, alerts: dict[str, int]) -> None:
    """On PostgreSQL the SQL (percentile_cont) figures equal the numpy ones used on SQLite."""
    from dispatch.auth.models import Role
    from dispatch.auth.scope import Scope
    from dispatch.review import service

    query = service.ReviewQuery(
        unit=service.Unit.state,
        unit_id=None,
        start=datetime(2026, 11, 1, tzinfo=UTC),
        end=datetime(2026, 11, 25, tzinfo=UTC),
        league_by=service.Unit.station,
        slowest_by="acknowledged",
        scope=Scope(Role.supervisor, None),
    )
    targets = stats.Targets(180, 1800, BASE.timestamp() + 86400 * 30, ("hospitalised",), ())
    engines = [stats.aggregate_portable]
    if not database.is_sqlite:
        engines.append(stats.aggregate_postgres)
    results = []
    for engine in engines:
        with database.session() as session:
            results.append(
                engine(
                    session,
                    where=service.where_clause(query),
                    league_column="station_id",
                    targets=targets,
                )
            )
    for other in results[1:]:
        assert other == results[0]
    assert results[0].total.medians["acknowledged"] == 90.0
    assert [g.key for g in results[0].weekly] == ["2026-11-09", "2026-11-16"]


def test_page_and_script_are_served(client: TestClient) -> None:
    page = client.get("/review")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/review/static/review.js">' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    script = client.get("/review/static/review.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/api/v1/review/response-times" in script.text
    assert "/api/v1/auth/token" in script.text
    assert client.get("/review/static/..%2F..%2Fconfig.py").status_code == 404
    assert client.get("/review/static/review.html").status_code == 404
