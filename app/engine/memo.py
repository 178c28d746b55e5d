"""Values one part of a step hands to a later part of the same transaction (the rows read under the lock, the
reply's open tasks), so they are not read twice; gone with the transaction."""


def remember(session, key, value):
    """Keep ``value`` for the rest of the session's current transaction (``recall`` it once)."""
    session.info[key] = (session.get_transaction(), value)


def recall(session, key, default=None):
    """What ``remember`` kept under ``key`` in this transaction (once), else ``default``."""
    kept = session.info.pop(key, None)
    return kept[1] if kept is not None and kept[0] is session.get_transaction() else default
