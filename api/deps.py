"""Dependencies injected into routers: the database session and the caller's identity."""

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.auth import KEY_LOOKUP, Principal, hash_key, principal_for, principal_from_row
from api.notified_cache import PrincipalCache
from api.ratelimit import retry_after_header
from gis.reads import Reads
from gis.scoping import enter_isp_scope
from gis.status import Role

_bearer = HTTPBearer(auto_error=False, description="An API key from `fibersync keys create`")
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route returns without error and before
    the reply is sent (see SessionDep)."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit runs when the route returns, before the reply goes out. With
# FastAPI's default the commit came after the reply was sent, so a client's next request
# could miss what the reply had confirmed, and a failed commit was reported as a success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_principal(request: Request, session: SessionDep, credentials: Credentials
                  ) -> Principal:
    """The caller. An ISP's requests run as the database role `fibersync_isp` with its ISP
    in `fibersync.isp` until the request's transaction ends, so row-level security keeps it
    to its own rows whatever the query."""
    plain = _key_of(credentials)
    cache: PrincipalCache | None = request.app.state.principal_cache
    principal = cache.get(hash_key(plain)) if cache else None
    if principal is None:
        generation = cache.generation if cache else 0  # read before the lookup's snapshot
        principal = _known(principal_for(session, plain), cache, plain, generation)
    _within_rate(request, principal)
    if principal.isp_id is not None:
        enter_isp_scope(session, principal.isp_id)
    return principal


def get_reads(request: Request) -> Reads:
    """Reads on the event loop (gis.reads), for the routes that take them."""
    reads: Reads = request.app.state.reads
    return reads


ReadsDep = Annotated[Reads, Depends(get_reads)]


async def get_principal_for_reads(request: Request, reads: ReadsDep,
                                  credentials: Credentials) -> Principal:
    """The caller, for a route that reads through `Reads` (which scopes each read to the
    caller's ISP): the same checks as `get_principal`, without a thread or a session."""
    plain = _key_of(credentials)
    cache: PrincipalCache | None = request.app.state.principal_cache
    principal = cache.get(hash_key(plain)) if cache else None
    if principal is None:
        generation = cache.generation if cache else 0
        row = await reads.fetch_row(KEY_LOOKUP, {"key_hash": hash_key(plain)})
        principal = _known(principal_from_row(row) if row else None, cache, plain, generation)
    _within_rate(request, principal)
    return principal


def _key_of(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "An API key is required: Authorization: Bearer <key>",
                            headers=UNAUTHORIZED_HEADERS)
    return credentials.credentials


def _known(principal: Principal | None, cache: PrincipalCache | None, plain: str,
           generation: int) -> Principal:
    if principal is None:
        raise HTTPException(401, "The API key is not valid or has been revoked",
                            headers=UNAUTHORIZED_HEADERS)
    if cache:
        cache.put(hash_key(plain), generation, principal)
    return principal


def _within_rate(request: Request, principal: Principal) -> None:
    wait = request.app.state.rate_limiter.wait_needed(principal.key_id)
    if wait:
        raise HTTPException(429, f"Too many requests for this key; retry in {wait:.1f} s",
                            headers=retry_after_header(wait))


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
ReadingPrincipal = Annotated[Principal, Depends(get_principal_for_reads)]


def require_roles(*roles: Role, admin: bool = True, reads: bool = False
                  ) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only the given roles (and admin, unless `admin=False`:
    for actions that need what only those roles carry, such as an ISP). `reads`: for a
    route that reads through `Reads` instead of a session."""
    allowed = {Role.admin, *roles} if admin else set(roles)

    async def check(principal: Principal) -> Principal:  # no I/O: no thread hop
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise HTTPException(403, f"This needs one of the roles: {names}; "
                                     f"the key has role {principal.role.value}")
        return principal

    # The same check, on the one principal dependency or the other.
    if reads:
        async def check_reading(principal: ReadingPrincipal) -> Principal:
            return await check(principal)
        return check_reading

    async def check_current(principal: CurrentPrincipal) -> Principal:
        return await check(principal)
    return check_current
