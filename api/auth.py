"""API keys: creation, hashing and the role check used by every router."""

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gis.errors import InvalidInput
from gis.models import ApiKey
from gis.status import Role

KEY_PREFIX = "fsk_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's role and what it is bound to."""

    key_id: int
    name: str
    role: Role
    isp_id: str | None = None
    crew_id: str | None = None


def hash_key(plain: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough (no password stretching).
    return hashlib.sha256(plain.encode()).hexdigest()


def create_api_key(session: Session, role: Role, name: str, isp_id: str | None = None,
                   crew_id: str | None = None) -> tuple[str, ApiKey]:
    """Store a new key (hashed) and return the plain key, which is never stored."""
    if role is Role.isp and not isp_id:
        raise InvalidInput("an isp key must be bound to an ISP (--isp)")
    if role is Role.technician and not crew_id:
        raise InvalidInput("a technician key must be bound to a crew or contractor (--crew)")
    if role not in (Role.isp, Role.technician) and (isp_id or crew_id):
        raise InvalidInput(f"a {role.value} key is not bound to an ISP or crew")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, key_prefix=plain[:12], key_hash=hash_key(plain), role=role.value,
                 isp_id=isp_id, crew_id=crew_id)
    session.add(key)
    session.flush()
    return plain, key


def revoke_api_key(session: Session, key: str) -> int:
    """Revoke the live key with this id or key prefix; returns how many were revoked
    (API processes forget it at once: migration 0011 notifies them)."""
    match = ApiKey.id == int(key) if key.isdigit() else ApiKey.key_prefix == key[:12]
    result = session.execute(update(ApiKey).where(match, ApiKey.revoked_at.is_(None))
                             .values(revoked_at=func.now()))
    return int(result.rowcount)  # type: ignore[attr-defined]


# The same lookup for a route that reads through gis.reads (psycopg, no session).
KEY_LOOKUP = ("SELECT id, name, role, isp_id, crew_id FROM api_keys"
              " WHERE key_hash = %(key_hash)s AND revoked_at IS NULL")


def principal_from_row(row: tuple[Any, ...]) -> Principal:
    key_id, name, role, isp_id, crew_id = row
    return Principal(key_id, name, Role(role), isp_id, crew_id)


def principal_for(session: Session, plain: str) -> Principal | None:
    key = session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(plain), ApiKey.revoked_at.is_(None))
    )
    if key is None:
        return None
    return Principal(key.id, key.name, Role(key.role), key.isp_id, key.crew_id)
