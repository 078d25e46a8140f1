"""Authentication dependencies: the signed-in user, role checks, the signing partner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer

from dispatch.auth import service as auth_service
from dispatch.auth.models import Partner, Role, User
from dispatch.auth.scope import Scope
from dispatch.db import Database, DatabaseDep, SessionDep
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


async def user_scope(user: CurrentUser) -> Scope:
    """The scope of the signed-in user."""
    return Scope(role=Role(user.role), unit=user.unit)


UserScope = Annotated[Scope, Depends(user_scope)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that admits only the given roles (403 for others)."""
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> User:
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


async def signed_partner(
    request: Request,
    body: RawBody,
    database: DatabaseDep,
    x_api_key: Annotated[str | None, Header()] = None,
    x_signature: Annotated[str | None, Header()] = None,
) -> Partner:
    """The partner whose key and signature match the body; 401 otherwise, 429 if flooding."""
    return await partner_of(request, body, database, x_api_key, x_signature)


async def partner_of(
    request: Request,
    body: bytes,
    database: Database,
    x_api_key: str | None,
    x_signature: str | None,
) -> Partner:
    """`signed_partner` as a plain call, for the intake route (no dependency solving on the
    busiest path): 401 for a missing or unknown key or a bad signature, 429 if flooding.

    A known key is checked in memory (auth_service.PartnerKeys); only a key not seen in the
    last half minute costs a database read, in a worker thread.
    """
    keys: auth_service.PartnerKeys = request.app.state.partner_keys
    partner = keys.cached(x_api_key) if x_api_key else None
    if partner is None and x_api_key and x_signature:
        partner = await run_in_threadpool(_load_partner, database, keys, x_api_key)
    try:
        partner = auth_service.authenticate_partner(
            partner=partner, api_key=x_api_key, signature=x_signature, body=body
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


def _load_partner(
    database: Database, keys: auth_service.PartnerKeys, api_key: str
) -> Partner | None:
    with database.session() as session:
        return keys.load(session, api_key)


SignedPartner = Annotated[Partner, Depends(signed_partner)]
