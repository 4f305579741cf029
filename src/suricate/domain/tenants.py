"""Tenants (workspaces), users and their memberships with a role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from suricate.errors import AlreadyExists, InvalidInput, TenantNotFound, UserNotFound
from suricate.names import check_name
from suricate.store.db import Database
from suricate.store.tables import Membership, Tenant, User

_hasher = PasswordHasher()


class Role(StrEnum):
    OWNER = "owner"
    MEMBER = "member"


@dataclass(frozen=True)
class TenantInfo:
    id: int
    name: str
    role: Role


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    created_at: datetime
    tenants: tuple[TenantInfo, ...]


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    if len(password) < 8:
        raise InvalidInput("password must have at least 8 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether ``password`` matches the stored argon2 hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def user_info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        name=user.name,
        created_at=user.created_at,
        tenants=tuple(
            TenantInfo(m.tenant.id, m.tenant.name, Role(m.role)) for m in user.memberships
        ),
    )


class TenantService:
    """Create and look up tenants, users and memberships."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create_user(
        self, name: str, password: str, tenant: str, role: Role | None = None
    ) -> UserInfo:
        """Create a user in ``tenant`` (created if new, the user then its owner)."""
        check_name("user", name)
        check_name("tenant", tenant)
        password_hash = hash_password(password)
        with self.db.session() as s:
            if s.scalar(select(User).where(User.name == name)) is not None:
                raise AlreadyExists("user", name)
            tenant_row = s.scalar(select(Tenant).where(Tenant.name == tenant))
            if tenant_row is None:
                tenant_row = Tenant(name=tenant)
                s.add(tenant_row)
                role = role or Role.OWNER
            user = User(name=name, password_hash=password_hash)
            s.add(user)
            s.flush()
            s.add(Membership(user=user, tenant=tenant_row, role=(role or Role.MEMBER).value))
            s.flush()
            s.refresh(user)
            return user_info(user)

    def create_tenant(self, name: str) -> TenantInfo:
        """Create an empty tenant."""
        check_name("tenant", name)
        with self.db.session() as s:
            if s.scalar(select(Tenant).where(Tenant.name == name)) is not None:
                raise AlreadyExists("tenant", name)
            row = Tenant(name=name)
            s.add(row)
            s.flush()
            return TenantInfo(row.id, row.name, Role.OWNER)

    def add_member(self, tenant: str, user: str, role: Role) -> TenantInfo:
        """Give ``user`` a role in ``tenant``, or change the role it has."""
        with self.db.session() as s:
            user_row = _user(s, user)
            tenant_row = s.scalar(select(Tenant).where(Tenant.name == tenant))
            if tenant_row is None:
                raise TenantNotFound(tenant)
            membership = s.scalar(
                select(Membership).where(
                    Membership.user_id == user_row.id, Membership.tenant_id == tenant_row.id
                )
            )
            if membership is None:
                s.add(Membership(user=user_row, tenant=tenant_row, role=role.value))
            else:
                membership.role = role.value
            return TenantInfo(tenant_row.id, tenant_row.name, role)

    def set_password(self, user: str, password: str) -> None:
        """Replace a user's password."""
        password_hash = hash_password(password)
        with self.db.session() as s:
            _user(s, user).password_hash = password_hash

    def get_user(self, name: str) -> UserInfo:
        with self.db.session() as s:
            return user_info(_user(s, name))

    def authenticate(self, name: str, password: str) -> UserInfo | None:
        """Return the user if the password is right, else None."""
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.name == name))
            if user is None:
                # Spend the same time as a real check so names cannot be probed by timing.
                verify_password(_dummy_hash(), password)
                return None
            if not verify_password(user.password_hash, password):
                return None
            return user_info(user)

    def list_users(self) -> list[UserInfo]:
        with self.db.session() as s:
            return [user_info(u) for u in s.scalars(select(User).order_by(User.name))]

    def list_tenants(self) -> list[tuple[int, str]]:
        with self.db.session() as s:
            return [(t.id, t.name) for t in s.scalars(select(Tenant).order_by(Tenant.name))]


def _user(s: Session, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserNotFound(name)
    return user


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a real password")
