"""Contacts (who is paged for which post), the loaded policy and the drill-mode flag."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel

from dispatch.auth.deps import CurrentUser, UserScope, require_roles
from dispatch.auth.models import Role, User
from dispatch.db import SessionDep
from dispatch.deps import MAX_ID, ClockDep, ResolverDep, SettingsDep
from dispatch.escalation import service as escalation_service
from dispatch.escalation.engine import sweep_interval
from dispatch.escalation.models import ContactCreate, ContactPublic, Post
from dispatch.escalation.policy import Policy

router = APIRouter(prefix="/api/v1", tags=["escalation"])
Editor = Annotated[User, Depends(require_roles(Role.admin, Role.operator))]
EDITORS = frozenset({Role.admin, Role.operator})


class EscalationInfo(BaseModel):
    """What the console shows in its header: drill mode, transport, timers."""

    drill_mode: bool
    drill_speed: float
    transport: str
    scheduler: bool
    sweep_interval_s: float


@router.get("/contacts")
def list_contacts(
    session: SessionDep,
    user: CurrentUser,
    scope: UserScope,
    resolver: ResolverDep,
    post: Post | None = None,
    unit: Annotated[str | None, Query(max_length=200)] = None,
    include_inactive: bool = False,
) -> list[ContactPublic]:
    """Contacts in the caller's area (numbers in full only for admins and operators)."""
    contacts = escalation_service.list_contacts(
        session=session, post=post, unit=unit, include_inactive=include_inactive
    )
    visible = escalation_service.visible_contacts(contacts, scope, resolver.index)
    full = Role(user.role) in EDITORS
    return [escalation_service.contact_public(c, full_phone=full) for c in visible]


@router.post("/contacts", status_code=status.HTTP_201_CREATED)
def add_contact(
    body: ContactCreate,
    session: SessionDep,
    _user: Editor,
    resolver: ResolverDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> ContactPublic:
    """Add who holds a post for a unit, with the number to page."""
    try:
        contact = escalation_service.add_contact(
            session=session,
            body=body,
            index=resolver.index,
            now=clock.now(),
            region=settings.default_phone_region,
        )
    except escalation_service.ContactError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    session.commit()
    return escalation_service.contact_public(contact, full_phone=True)


@router.delete("/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_contact(
    contact_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, _user: Editor
) -> None:
    """Stop paging a contact (kept for the record of past messages)."""
    if escalation_service.remove_contact(session=session, contact_id=contact_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"contact {contact_id} not found")
    session.commit()


@router.get("/escalation/info")
def info(request: Request, settings: SettingsDep, _user: CurrentUser) -> EscalationInfo:
    """Whether drill mode is on (the console must say so), the transport, the sweep interval."""
    notifier = getattr(request.app.state, "notifier", None)
    return EscalationInfo(
        drill_mode=settings.drill_speed != 1,
        drill_speed=settings.drill_speed,
        transport=getattr(notifier, "name", "none"),
        scheduler=getattr(request.app.state, "scheduler", None) is not None,
        sweep_interval_s=sweep_interval(settings),
    )


@router.get("/escalation/policy")
def get_policy(request: Request, _user: CurrentUser) -> dict[str, Any]:
    """The policy loaded at start-up (new escalations follow it; running ones keep their copy)."""
    policy: Policy = request.app.state.escalation_policy
    return policy.model_dump(mode="json")
