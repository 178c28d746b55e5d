"""Sign-in state kept in the database, so every worker and restart shares it: the generated signing keys,
server-side sessions (web cookie and API token alike), and the login throttle with its failure log."""
import hashlib
from datetime import timedelta

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class AppSecret(Base):
    """A generated signing key (PostgreSQL installations without SECRET_KEY; SQLite keeps it in a file).
    The newest row signs; older rows still verify until dropped (rotation)."""

    __tablename__ = "app_secret"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at = mapped_column(UTCDateTime)


def session_digest(raw):
    """Sessions are stored by the SHA-256 of their id: reading the table never yields a usable cookie."""
    return hashlib.sha256(raw.encode()).hexdigest()


class AuthSession(Base):
    """One signed-in session: a browser's (kind ``web``) or an API token's (kind ``api``). Logging out deletes
    the row, so a copied cookie or token stops working at once; expiry and the user's token generation
    (bumped by a password change or deactivation) end it too."""

    __tablename__ = "auth_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # web / api
    generation: Mapped[int] = mapped_column(Integer)  # the user's token_generation when signed in
    created_at = mapped_column(UTCDateTime)
    expires_at = mapped_column(UTCDateTime, index=True)
    address: Mapped[str] = mapped_column(String(64), default="")

    def valid_for(self, user, now):
        return user is not None and user.active and user.token_generation == self.generation \
            and self.expires_at > now


class LoginThrottle(Base):
    """Failed sign-ins counted per user name (scope ``user``) or client address (scope ``address``).

    Every attempt is counted before the password is checked (so parallel guesses cannot slip through between
    check and count) and given back when it succeeds. Past ``free`` failures each next attempt waits
    1, 2, 4 … seconds (at most ``max_delay``); at ``lock_after`` the key is locked for ``lock_seconds``.
    A key with no failure for ``lock_seconds`` starts counting afresh."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at = mapped_column(UTCDateTime, nullable=True)
    locked_until = mapped_column(UTCDateTime, nullable=True)

    def forget_if_stale(self, now, policy):
        if self.last_failure_at is not None and not self.locked(now) \
                and now - self.last_failure_at >= timedelta(seconds=policy.lock_seconds):
            self.failures, self.locked_until = 0, None

    def locked(self, now):
        return self.locked_until is not None and self.locked_until > now

    def wait_seconds(self, now, policy):
        """Seconds before the next attempt may be checked (0: now)."""
        if self.locked(now):
            return _ceil((self.locked_until - now).total_seconds())
        free = policy.free(self.scope)
        if self.failures <= free or self.last_failure_at is None:
            return 0
        delay = min(policy.max_delay, 2 ** min(self.failures - free - 1, 30))
        return _ceil(delay - (now - self.last_failure_at).total_seconds())

    def count(self, now, policy):
        self.failures += 1
        self.last_failure_at = now
        if self.failures >= policy.lock_after(self.scope):
            self.locked_until = now + timedelta(seconds=policy.lock_seconds)

    def give_back(self, policy, counted_at, previous):
        """The attempt counted at ``counted_at`` succeeded: it was no failure, so it neither adds to the count,
        nor delays the next attempt, nor keeps a lock it set."""
        self.failures = max(self.failures - 1, 0)
        if self.last_failure_at == counted_at:
            self.last_failure_at = previous
        if self.failures < policy.lock_after(self.scope):
            self.locked_until = None

    def to_dict(self, now, policy):
        return {"id": self.id, "scope": self.scope, "key": self.key, "failures": self.failures,
                "last_failure_at": self.last_failure_at, "locked_until": self.locked_until if self.locked(now) else None,
                "locked": self.locked(now), "retry_after": self.wait_seconds(now, policy)}


def _ceil(seconds):
    return max(int(-(-seconds // 1)), 0)


class LoginFailure(Base):
    """The log of refused sign-ins (wrong user name or password) administrators read on 系统设置."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    at = mapped_column(UTCDateTime, index=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # api / web / engine-rest
    locked: Mapped[bool] = mapped_column(default=False)  # this failure locked the user name or the address

    def to_dict(self):
        return {"id": self.id, "at": self.at, "username": self.username, "address": self.address,
                "channel": self.channel, "locked": self.locked}
