"""End to end: Intercom starts sending a new top-level field and a new nested key between two runs of a saved
catalog. meltanolabs-target-postgres, pipelinewise-target-postgres and target-duckdb each load run 2 without
a failed run: the new column exists and holds the values; the object's JSON column holds the nested key.
Needs `scripts/e2e_setup.sh` (PostgreSQL running, the targets' venvs under .e2e).
"""
import json
import os
import subprocess

import pytest

from conftest import TAP, discover, select_streams, tap_config, write_json
from test_e2e_postgres import E2E, PG, TARGET_POSTGRES, pg_drop_schema, pg_query, pg_target_config

PIPELINEWISE = E2E / "pipelinewise-target-postgres" / "bin" / "target-postgres"
DUCKDB = E2E / "target-duckdb" / "bin" / "target-duckdb"
STREAMS = {"users", "companies", "conversations"}
NEW = {"contact": {"consent_i15": True, "loyalty_i15": "gold", "location.continent_i15": "EU"},
       "company": {"health_i15": 0.75},
       "conversation": {"topics_i15": {"topics": [{"name": "billing"}]}, "source.delivered_as_i15": "api"}}

_DUCK_QUERY = r"""
import json, sys, duckdb
job = json.load(sys.stdin)
conn = duckdb.connect(job["path"], read_only=True)
print(json.dumps([conn.execute(query).fetchall() for query in job["queries"]], default=str))
"""


def duck_query(path, *queries):
    proc = subprocess.run([str(DUCKDB.with_name("python")), "-c", _DUCK_QUERY], capture_output=True, text=True,
                          input=json.dumps({"path": str(path), "queries": list(queries)}), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


class Target:
    """One target: its command, its config, and how to read back (table -> rows of the asked columns)."""

    def __init__(self, name, tmp_path):
        self.name = name
        self.schema = f"i15_{name}_{os.getpid()}"
        if name == "meltanolabs":
            self.command, self.config = TARGET_POSTGRES, pg_target_config(self.schema)
        elif name == "pipelinewise":
            self.command = PIPELINEWISE
            self.config = {"host": PG["host"], "port": PG["port"], "user": PG["user"], "password": PG["password"],
                           "dbname": PG["dbname"], "default_target_schema": self.schema}
        else:
            self.command, self.path = DUCKDB, tmp_path / "i15.duckdb"
            self.config = {"path": str(self.path), "default_target_schema": "main"}
        if not self.command.exists():
            pytest.fail(f"{self.command} is missing: run scripts/e2e_setup.sh first (scripts/test.sh does)")

    def drop(self):
        if self.name != "duckdb":
            pg_drop_schema(self.schema)

    def rows(self, table, columns):
        """The table's rows as dicts of the columns, text (JSON text for objects)."""
        if self.name == "duckdb":
            select = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in columns)
            rows = duck_query(self.path, f'SELECT {select} FROM main."{table}"')[0]
        else:
            select = ", ".join(f'"{c}"::text' for c in columns)
            rows = pg_query(f'SELECT {select} FROM "{self.schema}"."{table}"')[0]
        return [dict(zip(columns, row)) for row in rows]

    def columns(self, table):
        if self.name == "duckdb":
            query = f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
            return {row[0] for row in duck_query(self.path, query)[0]}
        return {row[0] for row in pg_query(("SELECT column_name FROM information_schema.columns WHERE "
                                            "table_schema = %s AND table_name = %s", [self.schema, table]))[0]}


def pipeline(tmp_path, name, target, config, catalog, state):
    folder = tmp_path / name
    folder.mkdir()
    cmd = [TAP, "--config", write_json(folder, "tap.json", config),
           "--catalog", write_json(folder, "catalog.json", catalog)]
    if state is not None:
        cmd += ["--state", write_json(folder, "state.json", state)]
    tap = subprocess.run(cmd, capture_output=True, timeout=300)
    assert tap.returncode == 0, tap.stderr.decode()[-3000:]
    loaded = subprocess.run([str(target.command), "--config", write_json(folder, "target.json", target.config)],
                            input=tap.stdout, capture_output=True, timeout=300)
    assert loaded.returncode == 0, f"{target.name} failed:\n{loaded.stderr.decode()[-3000:]}"
    states = loaded.stdout.decode().strip().splitlines()
    return tap.stderr.decode(), json.loads(states[-1]) if states else state


@pytest.mark.parametrize("target_name", ["meltanolabs", "pipelinewise", "duckdb"])
def test_new_fields_between_two_runs_load_into_the_target(make_emulator, tmp_path, target_name):
    target = Target(target_name, tmp_path)
    target.drop()
    emulator = make_emulator(seed=15, contacts=60, companies=12, conversations=12)
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, tap_config(emulator.url, typed_custom_attributes=False)), STREAMS)
    try:
        _, state = pipeline(tmp_path, "run1", target, config, catalog, None)
        assert "consent_i15" not in target.columns("users")
        emulator.configure(extra_fields=NEW)
        users = emulator.mutate(action="update", stream="users", count=4)["ids"]
        conversations = emulator.mutate(action="update", stream="conversations", count=3)["ids"]
        log, _ = pipeline(tmp_path, "run2", target, config, catalog, state)
        assert "'consent_i15' (boolean)" in log

        assert {"consent_i15", "loyalty_i15"} <= target.columns("users")
        rows = {r["id"]: r for r in target.rows("users", ["id", "consent_i15", "loyalty_i15", "location"])}
        for user_id in users:
            row = rows[user_id]
            assert row["consent_i15"].lower() in ("true", "t"), row
            assert row["loyalty_i15"] == "gold"
            assert json.loads(row["location"])["continent_i15"] == "EU"
        companies = target.rows("companies", ["id", "health_i15"])
        assert companies and all(float(c["health_i15"]) == 0.75 for c in companies)
        rows = {r["id"]: r for r in target.rows("conversations", ["id", "topics_i15", "source"])}
        for conversation_id in conversations:
            assert json.loads(rows[conversation_id]["topics_i15"]) == {"topics": [{"name": "billing"}]}
            assert json.loads(rows[conversation_id]["source"])["delivered_as_i15"] == "api"
    finally:
        target.drop()
