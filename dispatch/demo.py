"""Demo data for the README's run command: users for the demo jurisdictions and a partner."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from sqlmodel import Session, select

from dispatch.auth import service as auth_service
from dispatch.auth.models import Partner, Role, User

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 - printed for the demo, development only
DEMO_PARTNER = ("meta-demo", "pk_demo_meta", "demo-signing-secret")

DEMO_USERS: list[tuple[str, Role, str | None, str]] = [
    ("cell", Role.operator, None, "State social-media cell operator"),
    ("supervisor", Role.supervisor, None, "State supervisor"),
    ("admin", Role.admin, None, "Administrator"),
    ("sho_jaswantnagar", Role.station, "ETW-JASWANTNAGAR", "SHO Jaswantnagar"),
    ("sho_saifai", Role.station, "ETW-SAIFAI", "SHO Saifai"),
    ("co_jaswantnagar", Role.circle, "Jaswantnagar", "Circle Officer Jaswantnagar"),
    ("dcr_etawah", Role.district, "Etawah", "District control room Etawah"),
    ("sp_jaunpur", Role.district, "Jaunpur", "SP office Jaunpur"),
    ("sp_ghazipur", Role.district, "Ghazipur", "SP office Ghazipur"),
    ("sp_chandauli", Role.district, "Chandauli", "SP office Chandauli"),
    ("dig_varanasi", Role.range, "Varanasi", "DIG office Varanasi range"),
    ("dig_kanpur", Role.range, "Kanpur", "DIG office Kanpur range"),
]


def seed(session: Session, app: FastAPI, now: datetime) -> list[str]:
    """Create the demo users and partner if missing; returns lines to print."""
    stations = app.state.resolver.index.stations
    lines = ["Demo users (password for all: " + DEMO_PASSWORD + "):"]
    for username, role, unit, full_name in DEMO_USERS:
        if role is Role.station and unit not in stations:
            continue
        exists = session.exec(select(User).where(User.username == username)).first()
        if exists is None:
            auth_service.create_user(
                session=session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                unit=unit,
                now=now,
                full_name=full_name,
                language="hi" if role is Role.station else "en",
            )
        lines.append(f"  {username:<18} {role.value:<10} {unit or 'state-wide'}")
    name, key, secret = DEMO_PARTNER
    if session.exec(select(Partner).where(Partner.name == name)).first() is None:
        session.add(Partner(name=name, api_key=key, secret=secret, created_at=now))
    lines.append(f"Demo partner: X-Api-Key {key}, signing secret {secret}")
    session.commit()
    return lines
