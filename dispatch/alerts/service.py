"""Alert logic: intake, signals, resolution, lifecycle, listing. Routers stay thin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

import geo
from dispatch.alerts import events
from dispatch.alerts.events import EventType
from dispatch.alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertIn,
    AlertStatus,
    AlertSummary,
    LocationIn,
    LocationOut,
    ManualAlertIn,
    SignalIn,
    StationRef,
    StatusChange,
    SubjectIn,
    SubjectKey,
)
from dispatch.alerts.resolver import Located, Resolver
from dispatch.auth.scope import Scope, merge_scope
from dispatch.db import with_values
from dispatch.pii import PiiVault, label_for
from dispatch.writes import (
    Read,
    insert_rows_later,
    pg_together,
    recordset_insert,
    recordset_json,
    row_values,
    transient,
)


class NotFound(LookupError):
    """No such alert, or not in the caller's scope (the two look the same on purpose)."""


class Conflict(ValueError):
    """The change is not allowed in the alert's current state; the message says why."""


LIFECYCLE = [
    AlertStatus.new,
    AlertStatus.acknowledged,
    AlertStatus.dispatched,
    AlertStatus.en_route,
    AlertStatus.on_scene,
    AlertStatus.person_found,
]
STATUS_TIME_FIELD = {
    AlertStatus.acknowledged: "acknowledged_at",
    AlertStatus.dispatched: "dispatched_at",
    AlertStatus.en_route: "en_route_at",
    AlertStatus.on_scene: "on_scene_at",
    AlertStatus.person_found: "person_found_at",
}


@dataclass
class Intake:
    """What intake did with one alert."""

    alert: Alert
    created: bool
    linked_alerts: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ---------- views ----------


def station_ref(alert: Alert) -> StationRef | None:
    """The responsible station, or None while the alert waits in the state cell's queue."""
    if not alert.station_id:
        return None
    return StationRef(
        id=alert.station_id,
        name=alert.station_name or alert.station_id,
        district=alert.district or "",
        circle=alert.circle,
        range=alert.range_name,
    )


def summary(alert: Alert) -> AlertSummary:
    """The alert without personal data: for lists and live events."""
    assert alert.id is not None
    location = None
    if alert.lat is not None or alert.address:
        location = LocationOut(
            lat=alert.lat,
            lon=alert.lon,
            accuracy_m=alert.accuracy_m,
            address=alert.address,
            source=alert.location_source,
        )
    return AlertSummary(
        id=alert.id,
        category=alert.category,
        status=AlertStatus(alert.status),
        source=alert.source,
        received_at=alert.received_at,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        station=station_ref(alert),
        location=location,
        subject_label=alert.subject_label,
        resolution_method=alert.resolution_method,
        escalation_level=alert.escalation_level,
        updated_at=alert.updated_at,
    )


def timings(alert: Alert) -> dict[str, datetime | None]:
    """Every lifecycle timestamp of the alert."""
    names = [
        "detected_at",
        "received_at",
        "resolved_at",
        "acknowledged_at",
        "dispatched_at",
        "en_route_at",
        "on_scene_at",
        "person_found_at",
        "contacted_at",
        "closed_at",
    ]
    return {name: getattr(alert, name) for name in names}


# ---------- intake ----------


def _subject_record(subject: SubjectIn | None, region: str) -> tuple[dict[str, Any], list[str]]:
    """The subject with phones normalised to E.164; invalid phones are kept with a reason."""
    if subject is None:
        return {}, []
    record = subject.model_dump(exclude_none=True)
    phones: list[str] = []
    invalid: list[dict[str, str]] = []
    warnings: list[str] = []
    for position, raw in enumerate(subject.phones):
        result = geo.normalize_phone(raw, region)
        if result.e164:
            if result.e164 not in phones:
                phones.append(result.e164)
        else:
            invalid.append({"raw": raw, "error": result.error or "invalid"})
            # The warning lands on the timeline: name the position, never the number itself.
            warnings.append(f"subject.phones[{position}] ignored: {result.error}")
    record["phones"] = phones
    if invalid:
        record["invalid_phones"] = invalid
    record["emails"] = [e.strip() for e in subject.emails if e.strip()]
    return record, warnings


def _subject_digests(vault: PiiVault, record: dict[str, Any]) -> list[tuple[str, str]]:
    digests = [("phone", vault.blind("phone", p)) for p in record.get("phones", [])]
    digests += [("email", vault.blind("email", e)) for e in record.get("emails", [])]
    if record.get("handle"):
        digests.append(("handle", vault.blind("handle", str(record["handle"]))))
    return digests


def linked_alert_ids(session: Session, digests: list[str], *, exclude: int | None) -> list[int]:
    """Earlier alerts about the same person (same phone, handle or e-mail), newest first."""
    if not digests:
        return []
    statement, params = with_values("linked", digests, _linked)
    rows = session.connection().execute(statement, params).scalars().all()
    return sorted({r for r in rows if r != exclude}, reverse=True)


def _linked(in_list: Any) -> Any:
    keys = SubjectKey.__table__  # type: ignore[attr-defined]
    return sa.select(keys.c.alert_id).where(keys.c.digest.in_(in_list)).distinct()


def _location_hint(session: Session, linked: list[int]) -> Alert | None:
    """The newest linked alert whose person was found or contacted at a known position."""
    if not linked:
        return None
    return session.exec(
        select(Alert)
        .where(col(Alert.id).in_(linked))
        .where(col(Alert.lat).is_not(None))
        .where(
            sa.or_(
                col(Alert.person_found_at).is_not(None),
                col(Alert.on_scene_at).is_not(None),
                col(Alert.contacted_at).is_not(None),
            )
        )
        .order_by(col(Alert.received_at).desc())
        .limit(1)
    ).first()


def _apply_station(
    alert: Alert, station: geo.Station | None, resolver: Resolver, now: datetime
) -> None:
    if station is None:
        return
    alert.station_id = station.id
    alert.station_name = station.name
    alert.circle = station.circle
    alert.district = station.district
    alert.range_name = station.range
    alert.resolved_at = alert.resolved_at or now
    alert.scope = merge_scope(alert.scope, resolver.tokens(station))


def _locate(resolver: Resolver, location: LocationIn | None) -> Located:
    if location is None:
        return Located(station=None, method="none", candidates=[])
    return resolver.resolve(
        lat=location.lat,
        lon=location.lon,
        accuracy_m=location.accuracy_m,
        address=location.address,
        source=location.source.value if location.source else None,
    )


def _extra_fields(model: Any) -> dict[str, Any]:
    return dict(model.model_extra or {})


@dataclass
class Prepared:
    """A partner alert checked, resolved and sealed: everything intake does before the
    database (pure computation, so it can run on the event loop or in any thread)."""

    alert: Alert
    located: Located
    digests: list[tuple[str, str]]
    warnings: list[str]
    actor: str


def prepare(
    *,
    partner_id: int | None,
    payload: AlertIn,
    raw_body: bytes,
    received_at: datetime,
    resolver: Resolver,
    vault: PiiVault,
    actor: str,
    phone_region: str = "IN",
) -> Prepared:
    """Resolve, normalise and seal a partner alert; nothing is stored yet (see store)."""
    located = _locate(resolver, payload.location)
    record, warnings = _subject_record(payload.subject, phone_region)
    warnings += located.warnings
    extra = _extra_fields(payload)
    for name, part in (
        ("subject", payload.subject),
        ("content", payload.content),
        ("location", payload.location),
    ):
        if part is not None and part.model_extra:
            extra[name] = dict(part.model_extra)
    alert = transient(
        Alert,
        partner_id=partner_id,
        external_id=payload.external_id,
        source="partner",
        category=payload.category.value,
        status=AlertStatus.new.value,
        detected_at=payload.detected_at,
        received_at=received_at,
        updated_at=received_at,
        resolution_method=located.method,
        candidates=located.candidates,
        lat=located.lat,
        lon=located.lon,
        accuracy_m=located.accuracy_m,
        address=payload.location.address if payload.location else None,
        location_source=located.source,
        subject_sealed=vault.seal(record) if record else "",
        subject_label=label_for(record.get("name"), record.get("handle")),
        content_sealed=vault.seal(payload.content.model_dump(exclude_none=True))
        if payload.content
        else "",
        platform=payload.content.platform if payload.content else None,
        extra=extra,
        raw_body_sealed=vault.seal_bytes(raw_body),
        escalation_due_at=received_at,
    )
    _apply_station(alert, located.station, resolver, received_at)
    return Prepared(
        alert=alert,
        located=located,
        digests=_subject_digests(vault, record),
        warnings=warnings,
        actor=actor,
    )


def store(session: Session, prepared: Prepared, resolver: Resolver) -> Intake:
    """Store one prepared alert with its timeline in the caller's transaction (no commit)."""
    return store_many(session, [prepared], resolver)[0]


def store_many(
    session: Session, group: Sequence[Prepared], resolver: Resolver, *, reads: Sequence[Read] = ()
) -> list[Intake]:
    """Store prepared alerts with their timelines in the caller's transaction (no commit).

    A repeated external_id from the same partner stores nothing and returns the first alert.
    New alerts are the common case, so there is no read before the write: one insert of the
    whole group skips every row that the unique constraint on (partner, external_id) already
    holds, also between concurrent retries. The statements are per group, not per alert (the
    intake writer stores many alerts in one transaction): one look-up of earlier alerts
    about the same people, one insert of the alerts, one of their subject keys.

    On PostgreSQL the look-up, the insert and the caller's `reads` (the contacts the first
    escalation step will page) go out together, in one round trip; the insert waits for
    the look-up only when an alert without a location needs a hint from it. Elsewhere the
    `reads` are not run: what they would fill must be read again if missing.
    """
    digests = sorted({d for prepared in group for _, d in prepared.digests})
    inserted: list[int | None] | None = None
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        needs_hint = any(p.located.lat is None and p.located.station is None for p in group)
        known, inserted = _pg_first_round(
            connection, [p.alert for p in group], digests, reads, insert=not needs_hint
        )
    else:
        known = linked_by_digest(session, digests)
    # A location hint comes from an earlier alert where the person was found: never one
    # of this group, so the look-up above is all it needs.
    plans: list[tuple[Prepared, Located, list[str]]] = []
    for prepared in group:
        alert, located, warnings = prepared.alert, prepared.located, list(prepared.warnings)
        if located.lat is None and located.station is None:
            linked = _linked_from(known, prepared.digests)
            located = _apply_hint(session, alert, linked, resolver, warnings) or located
        plans.append((prepared, located, warnings))
    if inserted is None:
        inserted = insert_new_alerts(session, [prepared.alert for prepared in group])
    out: list[Intake] = []
    key_rows: list[dict[str, Any]] = []
    for (prepared, located, warnings), alert_id in zip(plans, inserted, strict=True):
        alert = prepared.alert
        if alert_id is None:
            # This partner sent this external_id before (perhaps a concurrent retry just now,
            # or twice in this group).
            assert alert.external_id is not None
            existing = _find_existing(session, alert.partner_id, alert.external_id)
            if existing is None:
                raise LookupError("alert neither inserted nor found")
            out.append(Intake(alert=existing, created=False))
            continue
        alert.id = alert_id
        # The object is the row as inserted; only the first escalation step changes it
        # after this (and mirrors that on the object): the live hub may use it as it is.
        events.live_copy(session, alert)
        linked = _linked_from(known, prepared.digests)
        for kind, digest in prepared.digests:
            key_rows.append({"alert_id": alert_id, "kind": kind, "digest": digest})
            # A later alert of this group about the same person links to this one.
            known.setdefault(digest, set()).add(alert_id)
        _record_creation(
            session, alert, located, linked, warnings, prepared.actor, alert.received_at
        )
        out.append(Intake(alert=alert, created=True, linked_alerts=linked, warnings=warnings))
    if key_rows:
        # Nothing in the transaction reads them back: written with the commit's first
        # round trip (writes.insert_rows_later).
        insert_rows_later(session, _SUBJECT_KEYS, key_rows)
    return out


def linked_by_digest(session: Session, digests: list[str]) -> dict[str, set[int]]:
    """The alerts stored with each of these subject digests."""
    if not digests:
        return {}
    statement, params = with_values("linked.by_digest", digests, _linked_pairs)
    found: dict[str, set[int]] = {}
    for alert_id, digest in session.connection().execute(statement, params):
        found.setdefault(digest, set()).add(int(alert_id))
    return found


_PG_LINKED = "SELECT alert_id, digest FROM subject_key WHERE digest = ANY(%(digests)s)"


def _pg_first_round(
    connection: sa.Connection,
    alerts: list[Alert],
    digests: list[str],
    reads: Sequence[Read],
    *,
    insert: bool,
) -> tuple[dict[str, set[int]], list[int | None] | None]:
    """PostgreSQL: the look-up of earlier alerts, `reads` and (with `insert`, and alerts
    that all have a partner's external id) the insert of the alerts, in one round trip.
    The look-up's alerts by digest, and the new ids as insert_new_alerts gives them (None:
    not inserted here)."""
    known: dict[str, set[int]] = {}

    def take_linked(rows: list[Any]) -> None:
        for row in rows:
            known.setdefault(row.digest, set()).add(int(row.alert_id))

    together = list(reads)
    if digests:
        together.insert(0, Read(_PG_LINKED, {"digests": digests}, take_linked))
    returned: list[list[Any]] = []
    keyed = all(a.partner_id is not None and a.external_id is not None for a in alerts)
    if insert and keyed:
        rows = recordset_json([row_values(alert) for alert in alerts])
        together.append(Read(_pg_new_alerts(), {"rows": rows}, returned.append))
    pg_together(connection, together)
    if not returned:
        return known, None
    return known, _new_ids(alerts, [(r.id, r.partner_id, r.external_id) for r in returned[0]])


def _linked_pairs(in_list: Any) -> Any:
    keys = SubjectKey.__table__  # type: ignore[attr-defined]
    return sa.select(keys.c.alert_id, keys.c.digest).where(keys.c.digest.in_(in_list))


def _linked_from(known: dict[str, set[int]], digests: list[tuple[str, str]]) -> list[int]:
    return sorted({i for _, d in digests for i in known.get(d, ())}, reverse=True)


def _apply_hint(
    session: Session, alert: Alert, linked: list[int], resolver: Resolver, warnings: list[str]
) -> Located | None:
    """No usable location: take the one where the person was found before, if any."""
    hint = _location_hint(session, linked)
    if hint is None or hint.lat is None or hint.lon is None:
        return None
    located = resolver.resolve(
        lat=hint.lat, lon=hint.lon, accuracy_m=hint.accuracy_m, address=None, source="history"
    )
    located.method = "history" if located.station else located.method
    warnings.append(f"location taken from alert {hint.id}, where the person was found before")
    alert.resolution_method = located.method
    alert.candidates = located.candidates
    alert.lat, alert.lon, alert.accuracy_m = located.lat, located.lon, located.accuracy_m
    alert.location_source = located.source
    _apply_station(alert, located.station, resolver, alert.received_at)
    return located


_NEW_ALERTS: dict[str, Any] = {}


def insert_new_alerts(session: Session, alerts: Sequence[Alert]) -> list[int | None]:
    """Insert new alerts in one statement; for each its id, or None if its (partner,
    external_id) is already stored or comes earlier in `alerts` (INSERT ... ON CONFLICT DO
    NOTHING, on SQLite and PostgreSQL)."""
    connection = session.connection()
    dialect = connection.dialect.name
    keyed = all(a.partner_id is not None and a.external_id is not None for a in alerts)
    if dialect == "postgresql" and keyed:
        # One statement text for any number of alerts, from one JSON parameter.
        rows = recordset_json([row_values(alert) for alert in alerts])
        result = connection.exec_driver_sql(_pg_new_alerts(), {"rows": rows})
    else:
        statement = _new_alerts(dialect)
        if len(alerts) == 1 or not keyed:
            # Alone (a list would be an executemany, which costs more), or without the key
            # that tells the returned rows apart: one statement each.
            out_one: list[int | None] = []
            for alert in alerts:
                found = connection.execute(statement, row_values(alert)).first()
                out_one.append(int(found[0]) if found is not None else None)
            return out_one
        result = connection.execute(statement, [row_values(alert) for alert in alerts])
    return _new_ids(alerts, [tuple(row) for row in result])


def _new_ids(alerts: Sequence[Alert], returned: list[Any]) -> list[int | None]:
    """Each alert's new id from the rows RETURNING (id, partner_id, external_id) gave."""
    ids = {(partner, external): int(i) for i, partner, external in returned}
    # The first of several alerts with one key in this group got the row; the rest are
    # repeats of it.
    return [ids.pop((alert.partner_id, alert.external_id), None) for alert in alerts]


def _new_alerts(dialect: str) -> Any:
    statement = _NEW_ALERTS.get(dialect)
    if statement is None:
        table = Alert.__table__  # type: ignore[attr-defined]
        if dialect == "postgresql":
            built: Any = postgresql.insert(table)
        else:
            built = sqlite.insert(table)
        statement = _NEW_ALERTS[dialect] = built.on_conflict_do_nothing(
            index_elements=["partner_id", "external_id"]
        ).returning(table.c.id, table.c.partner_id, table.c.external_id)
    return statement


def _pg_new_alerts() -> str:
    """PostgreSQL: the group's alerts from one JSON parameter (psycopg's placeholder)."""
    sql = _NEW_ALERTS.get("postgresql.rows")
    if sql is None:
        sql = _NEW_ALERTS["postgresql.rows"] = recordset_insert(
            Alert.__table__,  # type: ignore[attr-defined]
            suffix="ON CONFLICT (partner_id, external_id) DO NOTHING "
            "RETURNING id, partner_id, external_id",
        )
    return str(sql)


_SUBJECT_KEYS: sa.Table = SubjectKey.__table__  # type: ignore[attr-defined]


def _find_existing(session: Session, partner_id: int | None, external_id: str) -> Alert | None:
    if partner_id is None:
        return None
    return session.exec(
        select(Alert).where(Alert.partner_id == partner_id).where(Alert.external_id == external_id)
    ).first()


def _record_creation(
    session: Session,
    alert: Alert,
    located: Located,
    linked: list[int],
    warnings: list[str],
    actor: str,
    now: datetime,
) -> None:
    assert alert.id is not None
    events.append(
        session,
        alert_id=alert.id,
        type_=EventType.created,
        at=now,
        actor=actor,
        scope=alert.scope,
        data={
            "category": alert.category,
            "source": alert.source,
            "linked_alerts": linked,
            "warnings": warnings,
        },
    )
    if located.station is not None:
        events.append(
            session,
            alert_id=alert.id,
            type_=EventType.resolved,
            at=now,
            actor="system",
            scope=alert.scope,
            data={
                "station_id": located.station.id,
                "station": located.station.name,
                "method": located.method,
                "candidates": located.candidates[:5],
            },
        )
    else:
        events.append(
            session,
            alert_id=alert.id,
            type_=EventType.unresolved,
            at=now,
            actor="system",
            scope=alert.scope,
            data={"reason": "no station for this location; waiting in the state cell queue"},
        )


def add_signal(
    *,
    session: Session,
    alert: Alert,
    signal: SignalIn,
    resolver: Resolver,
    vault: PiiVault,
    now: datetime,
    actor: str,
) -> tuple[Alert, bool]:
    """Record a new location fix or content; a position in another area hands the alert over."""
    if alert.status == AlertStatus.closed:
        raise Conflict("the alert is closed; signals are accepted only for open alerts")
    handover = False
    data: dict[str, Any] = {}
    previous = station_ref(alert)
    if signal.location is not None:
        located = _locate(resolver, signal.location)
        if located.lat is not None:
            alert.lat, alert.lon = located.lat, located.lon
            alert.accuracy_m = located.accuracy_m
            alert.location_source = located.source
        if signal.location.address:
            alert.address = signal.location.address
        data["location"] = {
            "lat": located.lat,
            "lon": located.lon,
            "accuracy_m": located.accuracy_m,
            "source": located.source,
            "station_id": located.station.id if located.station else None,
            "method": located.method,
        }
        if located.station is not None and located.station.id != alert.station_id:
            handover = True
            alert.candidates = located.candidates
            alert.resolution_method = located.method
            _apply_station(alert, located.station, resolver, now)
    if signal.content is not None:
        content = content_of(alert, vault)
        updates = list(content.get("updates", []))
        updates.append({"at": now.isoformat(), **signal.content.model_dump(exclude_none=True)})
        content["updates"] = updates
        alert.content_sealed = vault.seal(content)
        data["content"] = True
    if signal.detected_at is not None:
        data["detected_at"] = signal.detected_at.isoformat()
    alert.updated_at = now
    _record_change(session, alert, now, EventType.signal, actor, data)
    if handover:
        assert alert.station_id is not None
        events.append(
            session,
            alert_id=alert.id,
            type_=EventType.handover,
            at=now,
            actor="system",
            scope=alert.scope,
            data={
                "from": previous.model_dump() if previous else None,
                "to": station_ref(alert).model_dump(),  # type: ignore[union-attr]
            },
        )
    session.commit()
    return alert, handover


def manual_intake(
    *,
    session: Session,
    body: ManualAlertIn,
    resolver: Resolver,
    vault: PiiVault,
    now: datetime,
    actor: str,
    phone_region: str = "IN",
) -> Intake:
    """An alert entered by a state-cell operator from a phone call or e-mail."""
    located = _locate(resolver, body.location)
    if body.station_id:
        try:
            station = resolver.station(body.station_id)
        except KeyError as exc:
            raise ValueError(f"unknown station_id {body.station_id!r}") from exc
        located = Located(
            station=station,
            method="manual",
            candidates=located.candidates,
            lat=located.lat,
            lon=located.lon,
            accuracy_m=located.accuracy_m,
            source=located.source,
            warnings=located.warnings,
        )
    record, warnings = _subject_record(body.subject, phone_region)
    digests = _subject_digests(vault, record)
    linked = linked_alert_ids(session, [d for _, d in digests], exclude=None)
    alert = Alert(
        source="manual",
        category=body.category.value,
        received_at=now,
        updated_at=now,
        resolution_method=located.method,
        candidates=located.candidates,
        lat=located.lat,
        lon=located.lon,
        accuracy_m=located.accuracy_m,
        address=body.location.address if body.location else None,
        location_source=located.source,
        subject_sealed=vault.seal(record) if record else "",
        subject_label=label_for(record.get("name"), record.get("handle")),
        content_sealed=vault.seal(body.content.model_dump(exclude_none=True))
        if body.content
        else "",
        platform=body.content.platform if body.content else None,
        extra={"reported_by": body.reported_by, "notes": body.notes},
        raw_body_sealed=vault.seal_bytes(body.model_dump_json().encode()),
        escalation_due_at=now,
    )
    _apply_station(alert, located.station, resolver, now)
    session.add(alert)
    session.flush()
    assert alert.id is not None
    for kind, digest in digests:
        session.add(SubjectKey(alert_id=alert.id, kind=kind, digest=digest))
    _record_creation(session, alert, located, linked, warnings + located.warnings, actor, now)
    session.commit()
    return Intake(alert=alert, created=True, linked_alerts=linked, warnings=warnings)


# ---------- reading ----------


def get_or_404(*, session: Session, alert_id: int, scope: Scope, lock: bool = False) -> Alert:
    """The alert if it exists and the user may see it; NotFound otherwise."""
    query = select(Alert).where(Alert.id == alert_id)
    if lock:
        query = query.with_for_update()
    alert = session.exec(query).first()
    if alert is None or not scope.sees(alert.scope):
        raise NotFound(f"alert {alert_id} not found")
    return alert


def list_alerts(
    *,
    session: Session,
    scope: Scope,
    status: list[str] | None = None,
    open_only: bool = False,
    station_id: str | None = None,
    unresolved: bool = False,
    since: datetime | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Alert]:
    """Alerts the user may see, newest first, with filters."""
    query = select(Alert)
    pattern = scope.sql_pattern()
    if pattern is not None:
        query = query.where(col(Alert.scope).like(pattern, escape="\\"))
    if status:
        query = query.where(col(Alert.status).in_(status))
    elif open_only:
        query = query.where(col(Alert.status).in_(OPEN_STATUSES))
    if station_id:
        query = query.where(Alert.station_id == station_id)
    if unresolved:
        query = query.where(col(Alert.station_id).is_(None))
    if since is not None:
        query = query.where(Alert.received_at >= since)
    if before_id is not None:
        query = query.where(col(Alert.id) < before_id)
    query = query.order_by(col(Alert.id).desc()).limit(limit)
    return list(session.exec(query).all())


def subject_of(alert: Alert, vault: PiiVault) -> dict[str, Any]:
    """The decrypted subject (empty once purged by retention)."""
    value = vault.open(alert.subject_sealed)
    return dict(value) if isinstance(value, dict) else {}


def content_of(alert: Alert, vault: PiiVault) -> dict[str, Any]:
    """The decrypted content (empty once purged by retention)."""
    value = vault.open(alert.content_sealed)
    return dict(value) if isinstance(value, dict) else {}


def raw_body_of(alert: Alert, vault: PiiVault) -> bytes:
    """The verbatim body the partner sent."""
    return vault.open_bytes(alert.raw_body_sealed)


def record_pii_view(
    *, session: Session, alert: Alert, viewer: str, now: datetime, what: str
) -> None:
    """Viewing personal data is itself an audit event, with the viewer."""
    assert alert.id is not None
    events.append(
        session,
        alert_id=alert.id,
        type_=EventType.pii_viewed,
        at=now,
        actor=viewer,
        scope=alert.scope,
        data={"what": what},
        internal=True,
    )
    session.commit()


# ---------- working an alert ----------


def _record_change(
    session: Session,
    alert: Alert,
    now: datetime,
    type_: EventType,
    actor: str,
    data: dict[str, Any],
) -> None:
    """Store a changed alert, wake its escalation, and put the change on the timeline."""
    _touch_escalation(alert, now)
    session.add(alert)
    session.flush()
    assert alert.id is not None
    events.append(
        session,
        alert_id=alert.id,
        type_=type_,
        at=now,
        actor=actor,
        scope=alert.scope,
        data=data,
    )


def _touch_escalation(alert: Alert, now: datetime) -> None:
    # Any lifecycle change asks the escalation engine to re-evaluate this alert once.
    if alert.status != AlertStatus.closed:
        alert.escalation_due_at = now
    alert.escalation_fence += 1


def acknowledge(
    *, session: Session, alert: Alert, by: str, now: datetime, via: str = "console"
) -> bool:
    """Acknowledge on behalf of an officer; False (and no change) if already acknowledged."""
    if alert.acknowledged_at is not None:
        return False
    if alert.status == AlertStatus.closed:
        raise Conflict("the alert is closed")
    alert.acknowledged_at = now
    alert.acknowledged_by = by
    if alert.status == AlertStatus.new:
        alert.status = AlertStatus.acknowledged.value
    alert.updated_at = now
    _record_change(
        session,
        alert,
        now,
        EventType.acknowledged,
        by,
        {"via": via, "level": alert.escalation_level},
    )
    session.commit()
    return True


def change_status(
    *, session: Session, alert: Alert, change: StatusChange, by: str, now: datetime
) -> Alert:
    """Move the alert forward along its lifecycle; Conflict explains an illegal move."""
    target = change.status
    current = AlertStatus(alert.status)
    if target == AlertStatus.closed:
        raise Conflict("closing needs an outcome: use POST /api/v1/alerts/{id}/close")
    if current == AlertStatus.closed:
        raise Conflict("the alert is closed; a supervisor must reopen it first")
    if target == AlertStatus.new:
        raise Conflict("an alert cannot go back to new")
    if target == AlertStatus.acknowledged:
        if not acknowledge(session=session, alert=alert, by=by, now=now):
            raise Conflict(f"the alert is already {current.value}")
        return alert
    if current == AlertStatus.new:
        raise Conflict(f"acknowledge the alert before moving it to {target.value}")
    if LIFECYCLE.index(target) <= LIFECYCLE.index(current):
        raise Conflict(
            f"cannot go from {current.value} to {target.value}: status only moves forward"
        )
    if target == AlertStatus.dispatched and not (change.team or alert.team):
        raise Conflict("dispatched needs the team that was sent")
    alert.status = target.value
    setattr(alert, STATUS_TIME_FIELD[target], now)
    if change.team:
        alert.team = change.team
    if change.vehicle:
        alert.vehicle = change.vehicle
    if target == AlertStatus.person_found and alert.contacted_at is None:
        alert.contacted_at = now
    alert.updated_at = now
    data: dict[str, Any] = {"from": current.value, "to": target.value}
    for key in ("team", "vehicle", "note"):
        value = getattr(change, key)
        if value:
            data[key] = value
    _record_change(session, alert, now, EventType.status, by, data)
    session.commit()
    return alert


def add_note(*, session: Session, alert: Alert, text: str, by: str, now: datetime) -> None:
    """A free-text note on the timeline (any alert, open or closed)."""
    assert alert.id is not None
    alert.updated_at = now
    session.add(alert)
    events.append(
        session,
        alert_id=alert.id,
        type_=EventType.note,
        at=now,
        actor=by,
        scope=alert.scope,
        data={"text": text},
    )
    session.commit()


def assign_station(
    *,
    session: Session,
    alert: Alert,
    station_id: str,
    reason: str | None,
    resolver: Resolver,
    by: str,
    now: datetime,
) -> Alert:
    """Route an alert to a station by hand (state cell), e.g. from the unresolved queue."""
    if alert.status == AlertStatus.closed:
        raise Conflict("the alert is closed")
    try:
        station = resolver.station(station_id)
    except KeyError as exc:
        raise ValueError(f"unknown station_id {station_id!r}") from exc
    previous = station_ref(alert)
    was_unresolved = alert.station_id is None
    _apply_station(alert, station, resolver, now)
    alert.resolution_method = "manual"
    alert.updated_at = now
    _record_change(
        session,
        alert,
        now,
        EventType.assigned if was_unresolved else EventType.handover,
        by,
        {
            "from": previous.model_dump() if previous else None,
            "to": station_ref(alert).model_dump(),  # type: ignore[union-attr]
            "reason": reason,
        },
    )
    session.commit()
    return alert


def subject_keys(session: Session, alert_id: int) -> list[SubjectKey]:
    """The blind-index keys of an alert's subject."""
    return list(session.exec(select(SubjectKey).where(SubjectKey.alert_id == alert_id)).all())


def alerts_by_ids(session: Session, ids: list[int]) -> list[Alert]:
    """Alerts with these ids, newest first."""
    if not ids:
        return []
    return list(
        session.exec(
            select(Alert).where(col(Alert.id).in_(ids)).order_by(col(Alert.id).desc())
        ).all()
    )
