"""End to end into PostgreSQL: typed custom attributes become typed columns with a flattening target.

The installed tap (a discovered catalog) | meltanolabs-target-postgres with `flattening_enabled` and
`flattening_max_depth: 1`: every custom attribute of the emulator, odd names included, is a column of its
type, holding the emulator's values (dates from epoch seconds).
"""
import datetime
import os
import subprocess

from conftest import TAP, discover, select_streams, tap_config, write_json
from test_e2e_postgres import TARGET_POSTGRES, pg_drop_schema, pg_query, pg_target_config, require_e2e_setup

COLUMN_TYPES = {"string": "text", "integer": "bigint", "float": "numeric", "boolean": "boolean",
                "date": "timestamp without time zone"}
TABLES = {"users": "contact", "contacts": "contact", "companies": "company", "conversations": "conversation"}


def test_custom_attributes_become_typed_columns(tmp_path, make_emulator):
    require_e2e_setup()
    emulator = make_emulator(seed=61, contacts=120, companies=20, conversations=15)
    schema = f"custom_columns_{os.getpid()}"
    pg_drop_schema(schema)
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), set(TABLES))
    target = {**pg_target_config(schema), "flattening_enabled": True, "flattening_max_depth": 1}
    pipeline = (f'"{TAP}" --config {write_json(tmp_path, "tap.json", config)} '
                f'--catalog {write_json(tmp_path, "catalog.json", catalog)} | '
                f'"{TARGET_POSTGRES}" --config {write_json(tmp_path, "target.json", target)} > /dev/null')
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    try:
        columns = pg_query(("SELECT table_name, column_name, data_type FROM information_schema.columns "
                            "WHERE table_schema = %s AND column_name LIKE 'custom\\_attributes\\_\\_%%'", [schema]))[0]
        found = {(table, column): kind for table, column, kind in columns}
        attributes = [a for a in emulator.emulator.ws.attributes(None, include_archived=True) if a["custom"]]
        for table, model in TABLES.items():
            for attribute in (a for a in attributes if a["model"] == model):
                column = f"custom_attributes__{attribute['name']}"
                assert found.get((table, column)) == COLUMN_TYPES[attribute["data_type"]], (table, column)

        truth = {str(u["id"]): u["custom_attributes"] for u in emulator.truth("users")["users"]}
        rows = pg_query(f'SELECT id, "custom_attributes__trial_ends_at", "custom_attributes__seats-used", '
                        f'"custom_attributes__plan tier", "custom_attributes__$ltv", '
                        f'"custom_attributes__2fa_enabled" FROM "{schema}".users')[0]
        assert len(rows) == len(truth)
        for user_id, trial_ends_at, seats, plan, ltv, two_factor in rows:
            attrs = truth[user_id]
            expected = attrs["trial_ends_at"]
            if expected is None:
                assert trial_ends_at is None
            else:
                stored = datetime.datetime.fromisoformat(trial_ends_at).replace(tzinfo=datetime.timezone.utc)
                assert stored.timestamp() == expected, user_id
            assert (int(seats), plan, float(ltv), two_factor) == (attrs["seats-used"], attrs["plan tier"],
                                                                   attrs["$ltv"], attrs["2fa_enabled"]), user_id
    finally:
        pg_drop_schema(schema)
