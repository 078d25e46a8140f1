"""Authentication dependencies: the signed-in user, role checks, the signing partner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from dispatch.auth import service as auth_service
from dispatch.auth.models import Partner, Role, User
from dispatch.auth.scope import Scope
from dispatch.db import SessionDep
from dispatch.deps import ClockDep, SettingsDep

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def current_user(
    token: Annotated[str | None, Depends(oauth2_scheme)],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> User:
    """The user named by the bearer token; 401 without a valid one."""
    if not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return auth_service.user_from_token(
            session=session, token=token, settings=settings, now=clock.now()
        )
    except auth_service.AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from exc


CurrentUser = Annotated[User, Depends(current_user)]


def user_scope(user: CurrentUser) -> Scope:
    """The scope of the signed-in user."""
    return Scope(role=Role(user.role), unit=user.unit)


UserScope = Annotated[Scope, Depends(user_scope)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency that admits only the given roles (403 for others)."""
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> User:
        if Role(user.role) not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {user.role} may not do this; needs one of: "
                + ", ".join(sorted(r.value for r in allowed)),
            )
        return user

    return check


async def raw_body(request: Request) -> bytes:
    """The raw request body (signatures are computed over these exact bytes)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def signed_partner(
    request: Request,
    body: RawBody,
    session: SessionDep,
    x_api_key: Annotated[str | None, Header()] = None,
    x_signature: Annotated[str | None, Header()] = None,
) -> Partner:
    """The partner whose key and signature match the body; 401 otherwise, 429 if flooding."""
    try:
        partner = auth_service.authenticate_partner(
            session=session, api_key=x_api_key, signature=x_signature, body=body
        )
    except auth_service.AuthError as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from exc
    limiter = request.app.state.partner_limiter
    if not limiter.hit(partner.api_key):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "partner rate limit exceeded; retry with the same external_id (it is idempotent)",
            headers={"Retry-After": "1"},
        )
    return partner


SignedPartner = Annotated[Partner, Depends(signed_partner)]
