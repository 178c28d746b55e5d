"""Machine clients of the integration API (the budget system, 预算管理一体化系统) and the log of their calls.

A client holds one API key at a time. The key is shown once when issued; only its SHA-256 is stored (a random
256-bit key needs no slow hash). Issuing a new key makes the old one stale; revoking ends the client. A key expires
(by default a year after it is issued, at most five years) so a key copied long ago stops working even if nobody
revoked it. Every call, refused ones included, is a row in ``integration_call``."""
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, DomainError, UTCDateTime, text_field, utcnow

# Roles of machine clients: never a person's role (users cannot be given them), but a message event's sender.
MACHINE_ROLES = {"budget_system": "预算系统"}
KEY_PREFIX = "gpk"
KEY_DAYS, KEY_MAX_DAYS = 365, 5 * 365


def _digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class IntegrationClient(Base):
    __tablename__ = "integration_client"
    __table_args__ = (UniqueConstraint("name", name="uq_integration_client_name"),
                      UniqueConstraint("key_id", name="uq_integration_client_key_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(16))  # public part of the key, to find the client
    key_hash: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    key_issued_at = mapped_column(UTCDateTime, default=utcnow)
    key_expires_at = mapped_column(UTCDateTime, nullable=True)
    revoked_at = mapped_column(UTCDateTime, nullable=True)
    last_used_at = mapped_column(UTCDateTime, nullable=True)

    @property
    def username(self):
        """How the client appears as the actor in histories."""
        return f"client:{self.name}"

    @property
    def groups(self):
        return {self.role} if self.active else set()

    @classmethod
    def create(cls, session, name, role, actor, now, valid_days=KEY_DAYS):
        name = text_field(name, "name", "客户端名称", 100)
        if role not in MACHINE_ROLES:
            raise DomainError("INVALID_INPUT", "客户端角色应为 " + "、".join(f"{k}（{v}）" for k, v in MACHINE_ROLES.items()),
                              field="role", status=400)
        if session.scalar(select(cls.id).where(cls.name == name)) is not None:
            raise DomainError("CLIENT_EXISTS", f"客户端名称 {name} 已存在", field="name")
        client = cls(name=name, role=role, created_by=actor, created_at=now, active=True)
        key = client.issue_key(now, valid_days)
        session.add(client)
        session.flush()
        return client, key

    def issue_key(self, now, valid_days=KEY_DAYS):
        """A new key (returned once) valid for ``valid_days``; the previous one is stale from now on."""
        if self.revoked_at is not None:
            raise DomainError("CLIENT_REVOKED", f"客户端 {self.name} 已吊销，不能再签发密钥")
        if not isinstance(valid_days, int) or isinstance(valid_days, bool) or not 1 <= valid_days <= KEY_MAX_DAYS:
            raise DomainError("INVALID_INPUT", f"密钥有效期应为 1 到 {KEY_MAX_DAYS} 天", field="valid_days", status=400)
        self.key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        self.key_hash = _digest(secret)
        self.key_issued_at, self.key_expires_at = now, now + timedelta(days=valid_days)
        return f"{KEY_PREFIX}_{self.key_id}_{secret}"

    def expired(self, now):
        return self.key_expires_at is not None and now >= self.key_expires_at

    def revoke(self, now):
        if self.revoked_at is not None:
            raise DomainError("CLIENT_REVOKED", f"客户端 {self.name} 已吊销")
        self.active, self.revoked_at = False, now

    @classmethod
    def authenticate(cls, session, key, now):
        """(client or None, key id seen, why refused): the active client whose current, unexpired key this is."""
        parts = (key or "").split("_", 2)  # the secret itself may hold "_"
        if len(parts) != 3 or parts[0] != KEY_PREFIX:
            return None, None, "API 密钥无效"
        client = session.scalars(select(cls).where(cls.key_id == parts[1])).first()
        if client is None or not hmac.compare_digest(client.key_hash, _digest(parts[2])) or not client.active:
            return None, parts[1], "API 密钥无效、已更换或已吊销"
        if client.expired(now):
            return None, parts[1], f"API 密钥已于 {client.key_expires_at:%Y-%m-%d} 过期，请系统管理员更换密钥"
        return client, parts[1], None

    def to_dict(self):
        return {"id": self.id, "name": self.name, "role": self.role, "role_label": MACHINE_ROLES.get(self.role),
                "key_id": self.key_id, "key_expires_at": self.key_expires_at, "active": self.active, "created_by": self.created_by,
                "created_at": self.created_at, "key_issued_at": self.key_issued_at, "revoked_at": self.revoked_at,
                "last_used_at": self.last_used_at}


class IntegrationCall(Base):
    """One call of the integration API: who (client, or the key id a refused caller sent), when, what, outcome."""

    __tablename__ = "integration_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("integration_client.id", name="fk_integration_call_client_id"), index=True)
    key_id: Mapped[str | None] = mapped_column(String(16))
    at = mapped_column(UTCDateTime, default=utcnow, index=True)
    method: Mapped[str] = mapped_column(String(8))
    endpoint: Mapped[str] = mapped_column(String(300))
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(300), default="")  # the error code and message, or "ok"
    request_id: Mapped[str | None] = mapped_column(String(64))

    def to_dict(self):
        return {"id": self.id, "client_id": self.client_id, "key_id": self.key_id, "at": self.at,
                "method": self.method, "endpoint": self.endpoint, "status": self.status, "outcome": self.outcome,
                "request_id": self.request_id}


class MachineActor:
    """A machine client acting in an engine step (e.g. its message moves an instance on): the history names it
    ``client:<name>``; it is no user (``id`` None), so nothing is recorded as created by a user."""

    id = None
    is_auditor = False

    def __init__(self, client):
        self.username, self.groups = client.username, client.groups

    def unit_ids(self, session):
        return set()
