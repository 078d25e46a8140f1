"""`dispatch demo`: replay the Etawah case against a running server, as the partner would."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

import httpx
import typer

from dispatch.auth import service as auth_service
from dispatch.demo import DEMO_PARTNER, DEMO_PASSWORD

IST = timezone(timedelta(hours=5, minutes=30), "IST")
# Jaswantnagar town (Etawah), then a walk south-west toward the forest in the Yamuna ravines;
# every point is inside ETW-JASWANTNAGAR, so the same console follows the person.
START = (26.8860, 78.9128, 150.0)
TOWARD_FOREST = [(26.8740, 78.9020, 80.0), (26.8620, 78.8930, 40.0), (26.8500, 78.8840, 25.0)]


class DemoError(Exception):
    """The server refused or could not be reached."""


def alert_body(external_id: str, now: datetime) -> dict[str, Any]:
    """The partner alert of the Etawah case (a fictional person)."""
    lat, lon, accuracy = START
    return {
        "external_id": external_id,
        "category": "suicide_risk",
        "detected_at": (now - timedelta(minutes=2)).astimezone(IST).isoformat(),
        "subject": {
            "name": "Ravi Kumar",
            "handle": "@ravi.k.demo",
            "profile_url": "https://instagram.com/ravi.k.demo",
            "phones": ["+91 98765 43210"],
        },
        "content": {
            "platform": "instagram",
            "kind": "live_video",
            "text": "अब और नहीं सह सकता। सबको अलविदा। "
            "(I can't take it any more. Goodbye, everyone.)",
        },
        "location": {"lat": lat, "lon": lon, "accuracy_m": accuracy, "source": "gps"},
    }


def signal_body(step: tuple[float, float, float], now: datetime) -> dict[str, Any]:
    """A new GPS fix."""
    lat, lon, accuracy = step
    return {
        "detected_at": now.astimezone(IST).isoformat(),
        "location": {"lat": lat, "lon": lon, "accuracy_m": accuracy, "source": "gps"},
    }


def post_signed(
    client: httpx.Client, path: str, body: dict[str, Any], api_key: str, secret: str
) -> dict[str, Any]:
    """A partner POST signed over the exact bytes; DemoError explains a refusal."""
    raw = json.dumps(body, ensure_ascii=False).encode()
    try:
        response = client.post(
            path,
            content=raw,
            headers={
                "X-Api-Key": api_key,
                "X-Signature": auth_service.sign_body(secret, raw),
                "Content-Type": "application/json",
            },
        )
    except httpx.HTTPError as exc:
        raise DemoError(f"cannot reach {client.base_url}: {exc}") from exc
    if response.status_code == 401:
        raise DemoError(
            "the server refused the demo partner key: start it with `dispatch serve --demo`"
        )
    if response.status_code not in (200, 201):
        raise DemoError(f"POST {path} answered {response.status_code}: {response.text[:300]}")
    data: dict[str, Any] = response.json()
    return data


def where(answer: dict[str, Any]) -> str:
    """The station of an intake answer, or the state cell queue."""
    station = answer.get("station")
    if not station:
        return "no station: the state cell's unresolved queue"
    return f"{station['name']} police station ({station['id']}, {station['district']})"


def run_demo(
    url: str,
    *,
    api_key: str,
    secret: str,
    delay: float,
    echo: Any = typer.echo,
    sleep: Any = time.sleep,
) -> int:
    """Post the alert, then the fixes toward the forest; returns the alert id."""
    base = url.rstrip("/")
    with httpx.Client(base_url=base, timeout=10) as client:
        now = datetime.now(UTC)
        external_id = f"etawah-demo-{int(now.timestamp())}"
        echo(f"Etawah case, replayed against {base}")
        echo(f"  Open {base}/ and sign in as sho_jaswantnagar / {DEMO_PASSWORD} to watch.")
        lat, lon, accuracy = START
        echo(
            f"[{now.astimezone(IST):%H:%M:%S}] partner alert: suicide risk, live video, "
            f"GPS {lat:.4f}, {lon:.4f} ±{accuracy:.0f} m (Jaswantnagar, Etawah)"
        )
        body = alert_body(external_id, now)
        answer = post_signed(client, "/api/v1/alerts", body, api_key, secret)
        alert_id = int(answer["id"])
        echo(f"  -> alert #{alert_id}, status {answer['status']}, routed to {where(answer)}")
        for step in TOWARD_FOREST:
            sleep(delay)
            now = datetime.now(UTC)
            echo(
                f"[{now.astimezone(IST):%H:%M:%S}] new GPS fix {step[0]:.4f}, {step[1]:.4f} "
                f"±{step[2]:.0f} m: moving south-west toward the forest"
            )
            path = f"/api/v1/alerts/{alert_id}/signals"
            answer = post_signed(client, path, signal_body(step, now), api_key, secret)
            echo(f"  -> alert #{alert_id} now {answer['status']}, with {where(answer)}")
        echo(f"Done: see the track on the map at {base}/#/alerts/{alert_id}")
        return alert_id


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the `dispatch` CLI."""

    @app.command()
    def demo(
        url: Annotated[str, typer.Option(help="The running server")] = "http://127.0.0.1:8000",
        api_key: Annotated[str, typer.Option(help="Partner API key")] = DEMO_PARTNER[1],
        secret: Annotated[str, typer.Option(help="Partner signing secret")] = DEMO_PARTNER[2],
        delay: Annotated[float, typer.Option(help="Seconds between location fixes")] = 4.0,
    ) -> None:
        """Replay the Etawah case live: the alert at night, then fixes toward the forest."""
        try:
            run_demo(url, api_key=api_key, secret=secret, delay=delay)
        except DemoError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
