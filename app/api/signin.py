"""Checking a user name and password: throttled per user name and per client address, in constant time.

Used by ``POST /api/login``, the web login form and ``/engine-rest`` HTTP basic auth. The counters live in the
database (``login_throttle``), so every worker and restart shares them; the rules are on the model
(app/models/security.py ``LoginThrottle``), the numbers in the LOGIN_* settings (README "Security"):

- each attempt is counted before the password is checked and given back when it succeeds;
- after LOGIN_FREE_FAILURES failures of one user name (LOGIN_ADDRESS_FREE_FAILURES of one address) the next
  attempt must wait 1, 2, 4 … seconds (at most LOGIN_MAX_DELAY_SECONDS), refused meanwhile with 429 and
  ``Retry-After``; at LOGIN_LOCK_FAILURES (LOGIN_ADDRESS_LOCK_FAILURES) the name (address) is locked for
  LOGIN_LOCK_SECONDS, until then or until an administrator unlocks it;
- unknown and known user names cost the same: an unknown name is checked against a dummy hash, and the
  counters are kept for any name typed, existing or not.
"""
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import LoginFailure, LoginThrottle, User
from ..models import org
from .common import db, now
from .sessions import client_address

KEEP_FAILURES_DAYS = 90  # the failure log administrators read
_DUMMY_HASHES = {}


@dataclass(frozen=True)
class Policy:
    free_user: int
    lock_user: int
    free_address: int
    lock_address: int
    lock_seconds: int
    max_delay: int

    @classmethod
    def of(cls, config):
        return cls(config["LOGIN_FREE_FAILURES"], config["LOGIN_LOCK_FAILURES"],
                   config["LOGIN_ADDRESS_FREE_FAILURES"], config["LOGIN_ADDRESS_LOCK_FAILURES"],
                   config["LOGIN_LOCK_SECONDS"], config["LOGIN_MAX_DELAY_SECONDS"])

    def free(self, scope):
        return self.free_user if scope == "user" else self.free_address

    def lock_after(self, scope):
        return self.lock_user if scope == "user" else self.lock_address


class Throttled(Exception):
    """Too many failures: wait ``retry_after`` seconds (``locked``: the name or address is locked)."""

    def __init__(self, retry_after, locked):
        self.retry_after, self.locked = retry_after, locked
        if locked:
            minutes = max(1, -(-retry_after // 60))
            message = (f"登录失败次数过多，该用户名或登录地址已临时锁定，请 {minutes} 分钟后再试，"
                       f"或联系系统管理员解锁")
        else:
            message = f"登录失败次数过多，请 {retry_after} 秒后再试"
        super().__init__(message)
        self.message = message


def clean_name(username):
    """The user name as the throttle and the log keep it: trimmed, lower case, printable, at most 64."""
    text = str(username or "").strip().lower()
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return text[:64]


def _lookup_name(username):
    """The name to look up, or None when it cannot be a user name (NUL, surrogates, too long)."""
    text = str(username or "").strip().lower()
    if not text or len(text) > 64 or "\x00" in text:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return text


def _dummy_hash():
    method = org.PASSWORD_METHOD
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-password-0", method=method)
    return _DUMMY_HASHES[method]


def _rows(session, keys):
    """The throttle rows of ``keys`` (made when missing), locked for this transaction, in a fixed order."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = [{"scope": scope, "key": key, "failures": 0} for scope, key in sorted(keys)]
    session.execute(insert(LoginThrottle).values(values).on_conflict_do_nothing(index_elements=["scope", "key"]))
    match = or_(*[and_(LoginThrottle.scope == scope, LoginThrottle.key == key) for scope, key in keys])
    return list(session.scalars(select(LoginThrottle).where(match)
                                .order_by(LoginThrottle.scope, LoginThrottle.key).with_for_update()))


def _count_attempt(keys, policy, moment):
    with db().Session() as session, session.begin():
        rows = _rows(session, keys)
        for row in rows:
            row.forget_if_stale(moment, policy)
        waits = [(row.wait_seconds(moment, policy), row.locked(moment)) for row in rows]
        wait = max(w for w, _ in waits)
        if wait:
            raise Throttled(wait, any(locked for w, locked in waits if w))
        previous = {(row.scope, row.key): row.last_failure_at for row in rows}
        for row in rows:
            row.count(moment, policy)
    return previous


def _verdict(keys, policy, moment, user, username, channel, previous):
    with db().Session() as session, session.begin():
        rows = _rows(session, keys)
        if user is not None:
            for row in rows:
                row.give_back(policy, moment, previous.get((row.scope, row.key)))
                if row.scope == "user" or row.failures == 0:
                    session.delete(row)  # a success clears the name; an address only its own attempt
            return
        session.add(LoginFailure(at=moment, username=username, address=keys[1][1], channel=channel,
                                 locked=any(row.locked(moment) for row in rows)))
        session.execute(delete(LoginFailure).where(LoginFailure.at < moment - timedelta(days=KEEP_FAILURES_DAYS)))
        stale = moment - timedelta(seconds=policy.lock_seconds)
        forgotten = select(LoginThrottle.id).where(  # old failures, no lock (any more); rows in use are skipped
            or_(LoginThrottle.last_failure_at <= stale, LoginThrottle.last_failure_at.is_(None)),
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < moment)).with_for_update(skip_locked=True)
        session.execute(delete(LoginThrottle).where(LoginThrottle.id.in_(forgotten.scalar_subquery())))


def authenticate(username, password, channel):
    """The active user with this name and password, or None; raises Throttled when attempts must wait."""
    from flask import current_app
    policy, moment = Policy.of(current_app.config), now()
    name = clean_name(username)
    keys = [("user", name), ("address", client_address())]
    previous = _count_attempt(keys, policy, moment)
    lookup = _lookup_name(username)
    # A lone surrogate cannot be hashed (nor be anyone's password): it is checked (and fails) with "?" in its place.
    password = str(password or "").encode("utf-8", "replace").decode("utf-8")
    with db().ReadSession() as session:
        user = session.scalar(select(User).where(User.username == lookup)) if lookup else None
        if user is None:
            check_password_hash(_dummy_hash(), password)  # the same work as a real check
        elif not user.check_password(password) or not user.active:
            user = None
    _verdict(keys, policy, moment, user, name, channel, previous)
    return user
