"""A database made by an earlier build starts: missing tables and columns are added, data is kept."""
from sqlalchemy import inspect, text

from app import create_app
from app.models.threshold import DEFAULTS


def _older_build(db):
    """What the database looked like before unit.region, contract.status (indexed) and the threshold table."""
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE threshold"))
        if db.is_sqlite:  # SQLite will not drop an indexed column
            conn.execute(text("DROP INDEX ix_contract_status"))
        conn.execute(text("ALTER TABLE contract DROP COLUMN status"))
        conn.execute(text("ALTER TABLE unit DROP COLUMN region"))


def test_an_older_database_gets_the_new_tables_and_columns(app, clock, login):
    db = app.extensions["db"]
    with db.engine.connect() as conn:
        units_before = [tuple(r) for r in conn.execute(text("SELECT id, name FROM unit ORDER BY id"))]
    _older_build(db)
    inspector = inspect(db.engine)
    assert "threshold" not in inspector.get_table_names()
    assert "region" not in {c["name"] for c in inspector.get_columns("unit")}

    assert sorted(db.create_all()) == ["contract.status", "unit.region"]
    inspector = inspect(db.engine)
    assert "threshold" in inspector.get_table_names()
    assert "ix_contract_status" in {i["name"] for i in inspector.get_indexes("contract")}
    with db.engine.connect() as conn:
        # The rows already there are kept and get the column's default.
        assert [tuple(r) for r in conn.execute(text("SELECT id, name FROM unit ORDER BY id"))] == units_before
        assert {r[0] for r in conn.execute(text("SELECT region FROM unit"))} == {""}
    assert db.create_all() == []  # nothing left to do

    # The service starts on it and works: the thresholds get their defaults, a project registers.
    restarted = create_app({"DATABASE_URL": db.url, "CLOCK": clock, "TESTING": True, "SECRET_KEY": "test"})
    try:
        client = restarted.test_client()
        token = client.post("/api/login", json={"username": "admin", "password": "demo"}).json["token"]
        rows = client.get("/api/thresholds", headers={"Authorization": f"Bearer {token}"}).json
        assert len(rows) == len(DEFAULTS) and {r["source"] for r in rows} == {"001 §2.2.1 注①", "004 §3"}
    finally:
        restarted.extensions["db"].dispose()
