"""API tokens and the principal a request acts as (a user in one of its tenants)."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from suricate.domain.tenants import Role, TenantInfo, UserInfo, user_info
from suricate.errors import TenantNotFound, TokenNotFound, Unauthenticated, UserNotFound
from suricate.store.db import Database
from suricate.store.tables import ApiToken, User, utcnow

TOKEN_PREFIX = "sur_"
# The scope of a kernel's token (sessions, runs, processors): the web layer lets it reach only
# the data routes the in-kernel SDK uses, never logins, tokens, users, tenants or metrics.
SDK_SCOPE = "sdk"
# Writing last_used_at on every request would make reads write; once a minute is enough to audit.
_LAST_USED_GRANULARITY = timedelta(minutes=1)
# A resolved token is trusted this long without asking the database again (a revocation made
# by another process, e.g. the CLI, takes effect within it; one made by this process at once).
CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user, in one tenant, with a role there."""

    user_id: int
    user_name: str
    tenant_id: int
    tenant_name: str
    role: Role
    tenants: tuple[TenantInfo, ...]
    token_id: int | None = None  # the token (API or web session) the request came with
    scope: str | None = None  # SDK_SCOPE for a kernel's token; None: the user's full rights


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def new_token() -> str:
    """A new clear API token (what ``TokenService.add`` stores the hash of)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        row.id,
        row.user.name,
        row.name,
        row.prefix,
        row.created_at,
        row.expires_at,
        row.last_used_at,
        row.revoked_at,
    )


class TokenService:
    """Issue, list, revoke and check API tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[tuple[str, str | None], tuple[float, Principal]] = {}

    def cached(self, token: str, tenant: str | None = None) -> Principal | None:
        """Return the principal of a recently checked token, or None."""
        hit = self._cache.get((hash_token(token), tenant))
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def create(
        self,
        user: str,
        name: str = "cli",
        expires_in: timedelta | None = None,
        tenant_id: int | None = None,
        scope: str | None = None,
    ) -> tuple[str, TokenInfo]:
        """Issue a new token for ``user`` (limited to one tenant when ``tenant_id`` is given,
        and to the SDK's routes when ``scope`` is ``SDK_SCOPE``); the clear token is returned
        once and never stored."""
        token = new_token()
        with self.db.session() as s:
            return token, self.add(s, token, user, name, expires_in, tenant_id, scope)

    def add(
        self,
        s: Session,
        token: str,
        user: str,
        name: str,
        expires_in: timedelta | None = None,
        tenant_id: int | None = None,
        scope: str | None = None,
    ) -> TokenInfo:
        """``create`` within the transaction ``s``, for a token made by ``new_token`` (that
        works from its commit on)."""
        user_row = s.scalar(select(User).where(User.name == user))
        if user_row is None:
            raise UserNotFound(user)
        row = ApiToken(
            user=user_row,
            name=name,
            tenant_id=tenant_id,
            scope=scope,
            token_hash=hash_token(token),
            prefix=token[: len(TOKEN_PREFIX) + 6],
            expires_at=utcnow() + expires_in if expires_in else None,
        )
        s.add(row)
        s.flush()
        return _info(row)

    def list(self, user: str | None = None) -> list[TokenInfo]:
        with self.db.session() as s:
            query = select(ApiToken).join(User).order_by(ApiToken.id)
            if user is not None:
                query = query.where(User.name == user)
            return [_info(row) for row in s.scalars(query)]

    def revoke(self, ref: str) -> TokenInfo:
        """Revoke a token given its id or the token itself."""
        with self.db.session() as s:
            if ref.startswith(TOKEN_PREFIX):
                row = s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(ref)))
            elif ref.isdigit():
                row = s.get(ApiToken, int(ref))
            else:
                row = None
            if row is None:
                raise TokenNotFound(ref if not ref.startswith(TOKEN_PREFIX) else ref[:10] + "...")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            self._cache.clear()
            return _info(row)

    def authenticate(self, token: str, tenant: str | None = None) -> Principal:
        """Resolve a bearer token (and an optional tenant name) to the principal it acts as."""
        now = utcnow()
        with self.db.session() as s:
            row = s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
            if row is None or row.revoked_at is not None:
                raise Unauthenticated("invalid or revoked API token")
            if row.expires_at is not None and row.expires_at <= now:
                raise Unauthenticated("API token expired")
            if row.last_used_at is None or now - row.last_used_at > _LAST_USED_GRANULARITY:
                row.last_used_at = now
            info = user_info(row.user)
            if row.tenant_id is not None:
                # A tenant-bound token sees its tenant only, as if the user had no other.
                info = replace(
                    info, tenants=tuple(t for t in info.tenants if t.id == row.tenant_id)
                )
            principal = replace(principal_for(info, tenant), token_id=row.id, scope=row.scope)
        until = time.monotonic() + CACHE_SECONDS
        if row.expires_at is not None:
            until = min(until, time.monotonic() + (row.expires_at - now).total_seconds())
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[(hash_token(token), tenant)] = (until, principal)
        return principal


def principal_for(user: UserInfo, tenant: str | None) -> Principal:
    """Pick the tenant a user acts in: the named one if a member, else the first one."""
    if not user.tenants:
        raise Unauthenticated(f"user {user.name!r} belongs to no tenant")
    if tenant is None:
        chosen = user.tenants[0]
    else:
        found = [t for t in user.tenants if t.name == tenant]
        if not found:
            # A tenant the user is not in looks exactly like one that does not exist.
            raise TenantNotFound(tenant)
        chosen = found[0]
    return Principal(user.id, user.name, chosen.id, chosen.name, chosen.role, user.tenants)


def principal_of(db: Database, user_id: int | None, tenant_id: int) -> Principal | None:
    """Rebuild the principal of a stored action (a run), or None if the user or role is gone."""
    if user_id is None:
        return None
    with db.session() as s:
        user = s.get(User, user_id)
        if user is None:
            return None
        info = user_info(user)
    tenants = tuple(t for t in info.tenants if t.id == tenant_id)
    if not tenants:
        return None
    return principal_for(replace(info, tenants=tenants), None)
