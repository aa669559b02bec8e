"""Dependencies injected into routers: the database session and the caller's identity."""

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.auth import Principal, hash_key, principal_for
from api.notified_cache import PrincipalCache
from api.ratelimit import retry_after_header
from gis.scoping import enter_isp_scope
from gis.status import Role

_bearer = HTTPBearer(auto_error=False, description="An API key from `fibersync keys create`")
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route returns without error."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(request: Request, session: SessionDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None,
                                         Depends(_bearer)]) -> Principal:
    """The caller. An ISP's requests run as the database role `fibersync_isp` with its ISP
    in `fibersync.isp` until the request's transaction ends, so row-level security keeps it
    to its own rows whatever the query."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "An API key is required: Authorization: Bearer <key>",
                            headers=UNAUTHORIZED_HEADERS)
    principal = _cached_principal(request, session, credentials.credentials)
    if principal is None:
        raise HTTPException(401, "The API key is not valid or has been revoked",
                            headers=UNAUTHORIZED_HEADERS)
    wait = request.app.state.rate_limiter.wait_needed(principal.key_id)
    if wait:
        raise HTTPException(429, f"Too many requests for this key; retry in {wait:.1f} s",
                            headers=retry_after_header(wait))
    if principal.isp_id is not None:
        enter_isp_scope(session, principal.isp_id)
    return principal


def _cached_principal(request: Request, session: Session, plain: str) -> Principal | None:
    cache: PrincipalCache | None = request.app.state.principal_cache
    if cache is None:
        return principal_for(session, plain)
    hashed = hash_key(plain)
    principal = cache.get(hashed)
    if principal is None:
        generation = cache.generation  # read before the lookup's snapshot
        principal = principal_for(session, plain)
        if principal is not None:
            cache.put(hashed, generation, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role, admin: bool = True
                  ) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only the given roles (and admin, unless `admin=False`:
    for actions that need what only those roles carry, such as an ISP)."""
    allowed = {Role.admin, *roles} if admin else set(roles)

    async def check(principal: CurrentPrincipal) -> Principal:  # no I/O: no thread hop
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise HTTPException(403, f"This needs one of the roles: {names}; "
                                     f"the key has role {principal.role.value}")
        return principal

    return check
