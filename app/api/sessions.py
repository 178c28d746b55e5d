"""Server-side sessions: the web cookie and API bearer tokens both name a row of ``auth_session``.

A session id is 256 random bits; the cookie (signed by Flask) or the token (signed here) carries it, the table
keeps only its SHA-256. Signing out deletes the row, so a copied cookie or token is dead at once; a password
change or deactivation (the user's token generation) and the expiry end it as well.
"""
import secrets
from datetime import timedelta
from functools import cache

from flask import current_app, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import joinedload

from ..models import AuthSession, User
from ..models.security import session_digest


def client_address():
    """The peer's address (behind TRUSTED_PROXIES reverse proxies: the client's, via ProxyFix)."""
    return (request.remote_addr or "")[:64]


def open_session(db_session, user, kind, now):
    """A new session of ``user`` (kind ``web`` or ``api``); returns its id, to be handed to the client only."""
    raw = secrets.token_urlsafe(32)
    ttl = timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"])
    db_session.execute(delete(AuthSession).where(AuthSession.expires_at <= now))  # the table stays small
    db_session.add(AuthSession(digest=session_digest(raw), user_id=user.id, kind=kind,
                               generation=user.token_generation, created_at=now, expires_at=now + ttl,
                               address=client_address()))
    return raw


def session_user(db_session, raw, now):
    """The user whose live session ``raw`` names, or None."""
    if not isinstance(raw, str) or not raw or len(raw) > 128:
        return None
    found = db_session.execute(_session_user_query(), {"digest": session_digest(raw)}).unique().first()
    if found is None:
        return None
    row, user = found
    return user if row.valid_for(user, now) else None


@cache
def _session_user_query():
    """One statement: the session row, its user, the user's roles and grants (four queries before; every request
    pays this). Built once: a statement object keeps its cache key, so each request skips building the query and
    its key (about half this statement's CPU; joined-load options make the key costly)."""
    return (select(AuthSession, User).join(User, User.id == AuthSession.user_id)
            .where(AuthSession.digest == bindparam("digest")).options(*user_loaded()))


def user_loaded():
    """Load options for a user read with its roles and grants in the same statement."""
    return joinedload(User.roles), joinedload(User.grants)


def end_session(db_session, raw):
    """Sign out: the session is gone for every copy of its cookie or token. True when there was one."""
    if not isinstance(raw, str) or not raw:
        return False
    return db_session.execute(delete(AuthSession).where(AuthSession.digest == session_digest(raw))).rowcount > 0


# -- API tokens ---------------------------------------------------------------------------------------------
def _serializer():
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]  # older keys verify, the last signs
    return URLSafeTimedSerializer(keys, salt="api-token")


def token_for(raw):
    return _serializer().dumps({"sid": raw})


class TokenError(Exception):
    """The token is expired or forged; ``message`` is the Chinese reason."""


def token_session_id(token):
    try:
        payload = _serializer().loads(token, max_age=current_app.config["TOKEN_TTL_SECONDS"])
    except SignatureExpired:
        raise TokenError("登录已过期，请重新登录") from None
    except BadSignature:
        raise TokenError("登录凭证无效") from None
    return payload.get("sid") if isinstance(payload, dict) else None
