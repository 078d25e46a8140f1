"""Login and user management."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from dispatch.auth import service as auth_service
from dispatch.auth.deps import CurrentUser, require_roles
from dispatch.auth.models import Role, Token, User, UserPublic
from dispatch.db import SessionDep
from dispatch.deps import ClockDep, ResolverDep, SettingsDep
from dispatch.ratelimit import RateLimiter

router = APIRouter(prefix="/api/v1", tags=["auth"])
log = logging.getLogger(__name__)
AdminUser = Annotated[User, Depends(require_roles(Role.admin))]


def public(user: User) -> UserPublic:
    """The API view of a user."""
    assert user.id is not None
    return UserPublic(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=Role(user.role),
        unit=user.unit,
        language=user.language,
        active=user.active,
    )


def _login_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.login_limiter
    return limiter


@router.post("/auth/token")
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Token:
    """Exchange a username and password for a bearer token."""
    client_ip = request.client.host if request.client else "unknown"
    limiter = _login_limiter(request)
    if not limiter.hit(client_ip):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many login attempts from this address; wait a minute",
            headers={"Retry-After": str(int(limiter.retry_after(client_ip)) + 1)},
        )
    try:
        user = auth_service.authenticate(
            session=session,
            username=form.username,
            password=form.password,
            now=clock.now(),
            settings=settings,
        )
    except auth_service.AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    token, ttl = auth_service.issue_token(user=user, settings=settings, now=clock.now())
    return Token(access_token=token, expires_in=ttl, user=public(user))


@router.get("/auth/me")
def me(user: CurrentUser) -> UserPublic:
    """The signed-in user."""
    return public(user)


class UserCreate(BaseModel):
    """A new user, created by an admin."""

    username: str = Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=200)
    role: Role
    unit: str | None = Field(default=None, max_length=200)
    full_name: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    language: str = Field(default="en", pattern="^(en|hi)$")


@router.get("/users")
def list_users(session: SessionDep, _admin: AdminUser) -> list[UserPublic]:
    """Every user (admins only)."""
    return [public(u) for u in session.exec(select(User).order_by(User.username)).all()]


@router.post("/users", status_code=status.HTTP_201_CREATED)
def add_user(
    body: UserCreate,
    session: SessionDep,
    clock: ClockDep,
    resolver: ResolverDep,
    _admin: AdminUser,
) -> UserPublic:
    """Create a user (admins only); the unit must be one of the jurisdictions'."""
    try:
        user = auth_service.create_user(
            session=session,
            username=body.username,
            password=body.password,
            role=body.role,
            unit=body.unit,
            now=clock.now(),
            full_name=body.full_name,
            phone=body.phone,
            language=body.language,
            index=resolver.index,
        )
    except auth_service.UserExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    session.commit()
    return public(user)


class UserUpdate(BaseModel):
    """Changes to a user, by an admin: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    unit: str | None = Field(default=None, max_length=200)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    full_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    language: str | None = Field(default=None, pattern="^(en|hi)$")


@router.patch("/users/{username}")
def change_user(
    username: str,
    body: UserUpdate,
    session: SessionDep,
    resolver: ResolverDep,
    admin: AdminUser,
) -> UserPublic:
    """Change a user (admins only): transfer to another unit or role, deactivate or
    reactivate, reset the password (which also lifts a lockout). A deactivated user's tokens
    are refused at once; a changed user's live consoles are closed (4401) within a heartbeat
    and sign in again with the new scope."""
    given = body.model_fields_set
    if username == admin.username and (
        body.active is False or ("role" in given and body.role is not Role.admin)
    ):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "an admin cannot deactivate or demote their own account; ask another admin",
        )
    for name in ("role", "active", "password", "full_name", "language"):
        if name in given and getattr(body, name) is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: may not be null")
    changes = {name: getattr(body, name) for name in given}
    try:
        user = auth_service.update_user(
            session=session,
            username=username,
            index=resolver.index,
            **changes,
        )
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    session.commit()
    log.info("user %s changed by %s: %s", username, admin.username, ", ".join(sorted(given)) or "-")
    return public(user)
