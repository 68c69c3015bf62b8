"""End to end: the Reporting Data Export's report tables loaded by meltanolabs-target-postgres and
pipelinewise-target-postgres (their own venvs, from scripts/e2e_setup.sh), a full run then a lookback run in
which intervals under way end and conversations reopen: each table holds the emulator's export, cell for cell
(text exactly, times as instants, numbers numerically), one row per real row."""
import datetime
import json
import os
import re
import subprocess
import zoneinfo

import pytest

from conftest import TAP, discover, select_streams, tap_config, write_json
from test_e2e_postgres import E2E, PG, TARGET_POSTGRES, pg_drop_schema, pg_query, pg_target_config, \
    require_e2e_setup
from intercom_emulator.reporting import DATASETS

REPORTS = ["report_" + name for name in DATASETS]
PIPELINEWISE = E2E / "pipelinewise-target-postgres" / "bin" / "target-postgres"
TIMEZONE = "Europe/Berlin"


def pipeline(tmp_path, target, config, catalog, state, target_config, run, tap_exit=0):
    """tap | target, as the cron job runs them; the target's last STATE line."""
    cmd = [TAP, "--config", write_json(tmp_path, f"config-{run}.json", config),
           "--catalog", write_json(tmp_path, f"catalog-{run}.json", catalog)]
    if state is not None:
        cmd += ["--state", write_json(tmp_path, f"state-{run}.json", state)]
    with open(tmp_path / f"tap-{run}.log", "w+b") as log:
        tap = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log)
        loaded = subprocess.run([str(target), "--config", write_json(tmp_path, "target.json", target_config)],
                                stdin=tap.stdout, capture_output=True, timeout=600)
        tap.stdout.close()
        assert loaded.returncode == 0, loaded.stderr.decode()[-3000:]
        log.seek(0)
        assert tap.wait(timeout=60) == tap_exit, log.read().decode()[-3000:]
    lines = [line for line in loaded.stdout.decode().splitlines() if line.strip()]
    return json.loads(lines[-1])


def squash(name):
    """A column's name as either target may conform it (lowercase, punctuation to `_` or kept in quotes)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def check_tables(schema, emulator, catalog):
    zone = zoneinfo.ZoneInfo(TIMEZONE)
    for entry in catalog["streams"]:
        stream = entry["tap_stream_id"]
        if stream not in REPORTS:
            continue
        props = entry["schema"]["properties"]
        attributes = {m["breadcrumb"][-1]: m["metadata"].get("intercom-attribute")
                      for m in entry["metadata"] if m["breadcrumb"]}
        (db_columns,) = pg_query(("SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                                  "AND table_name = %s", [schema, stream]))
        db = {squash(c[0]): c[0] for c in db_columns}
        names = {column: db[squash(column)] for column in props}  # every catalog column has its own column
        assert len(set(names.values())) == len(names), stream
        kinds = {c: "time" if p.get("format") == "date-time" else "number" if "number" in p["type"] else "text"
                 for c, p in props.items()}
        select = ", ".join(f'extract(epoch from "{names[c]}")::bigint::text' if kinds[c] == "time"
                           else f'"{names[c]}"::text' for c in props)
        key = ", ".join(f'"{names[k]}"' for k in entry["key_properties"])
        rows, duplicates = pg_query(f'SELECT {select} FROM "{schema}"."{stream}"',
                                    f'SELECT {key}, count(*) FROM "{schema}"."{stream}" GROUP BY {key} '
                                    f'HAVING count(*) > 1')
        assert not duplicates, (stream, duplicates[:3])

        def value(column, text, from_file):
            if text is None or text == "":
                return None
            if kinds[column] == "time":
                if from_file:
                    local = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
                    return int(local.timestamp())
                return int(text)
            return float(text) if kinds[column] == "number" else text

        got = sorted(json.dumps([value(c, v, False) for c, v in zip(props, row)]) for row in rows)
        truth = emulator.truth(stream)[stream]
        expected = sorted(json.dumps([value(c, cells[attributes[c]["qualified_id"] if attributes[c] else c], True)
                                      for c in props]) for cells in truth)
        assert len(rows) == len(truth), f"{stream}: {len(rows)} rows, the export {len(truth)}"
        assert got == expected, (stream, sorted(set(expected) - set(got))[:2], sorted(set(got) - set(expected))[:2])


def target_of(target_name, schema):
    require_e2e_setup()
    if target_name == "meltanolabs":
        return TARGET_POSTGRES, pg_target_config(schema)
    if not PIPELINEWISE.exists():
        pytest.fail(f"{PIPELINEWISE} is missing: run scripts/e2e_setup.sh first (scripts/test.sh does)")
    return PIPELINEWISE, {"host": PG["host"], "port": PG["port"], "user": PG["user"], "password": PG["password"],
                          "dbname": PG["dbname"], "default_target_schema": schema}


@pytest.mark.parametrize("target_name", ["meltanolabs", "pipelinewise"])
def test_report_tables_in_postgres_hold_the_export_one_row_per_real_row(make_emulator, tmp_path, target_name):
    schema = f"i25_reports_{target_name}_{os.getpid()}"
    target, target_config = target_of(target_name, schema)
    emulator = make_emulator(seed=29, contacts=20, companies=3, conversations=3, tickets=2, activity_logs=5)
    emulator._call("POST", "reporting", {"format": "tgz", "timezone": TIMEZONE})
    clock = emulator.configure()["clock"]
    start = datetime.datetime.fromtimestamp(clock - 11 * 86400, datetime.timezone.utc).isoformat()
    config = tap_config(emulator.url, start_date=start, reporting_datasets=["*"], workspace_timezone=TIMEZONE)
    catalog = select_streams(discover(tmp_path, config), set(REPORTS))
    pg_drop_schema(schema)
    try:
        state = pipeline(tmp_path, target, config, catalog, None, target_config, 1)
        check_tables(schema, emulator, catalog)
        emulator._call("POST", "reporting", {"advance": 3, "reopen": 2, "add": 3})
        state = pipeline(tmp_path, target, config, catalog, state, target_config, 2)
        assert set(state["bookmarks"]) == set(REPORTS)
        check_tables(schema, emulator, catalog)  # changed rows replaced, not doubled
        (types,) = pg_query(("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                             "AND table_name = 'report_conversation'", [schema]))
        types = {squash(name): kind for name, kind in types}
        assert types["conversationstartedat"].startswith("timestamp")
        assert types["timetofirstclose"] in ("numeric", "double precision")
        assert types["accountnumber"] in ("text", "character varying")  # `077109` and `AC-814` as written
        assert not [name for name in types if name.endswith("text")]  # no side columns
    finally:
        pg_drop_schema(schema)


@pytest.mark.parametrize("target_name", ["meltanolabs", "pipelinewise"])
def test_a_number_column_that_meets_text_is_made_text_as_docs_reports_says(make_emulator, tmp_path, target_name):
    """docs/REPORTS.md, 'A column that meets text': the stream stops before the window (the target loads the rest),
    the column is made text in the table and the catalog, and the next run loads the cell as the file has it;
    every earlier value keeps its text."""
    schema = f"i25_meets_text_{target_name}_{os.getpid()}"
    target, target_config = target_of(target_name, schema)
    emulator = make_emulator(seed=31, contacts=20, companies=3, conversations=3, tickets=2, activity_logs=5)
    emulator._call("POST", "reporting", {"timezone": TIMEZONE})
    clock = emulator.configure()["clock"]
    start = datetime.datetime.fromtimestamp(clock - 11 * 86400, datetime.timezone.utc).isoformat()
    config = tap_config(emulator.url, start_date=start, reporting_datasets=["conversation", "tickets"],
                        workspace_timezone=TIMEZONE)
    catalog = select_streams(discover(tmp_path, config), {"report_conversation", "report_tickets"})
    pg_drop_schema(schema)
    try:
        state = pipeline(tmp_path, target, config, catalog, None, target_config, 1)
        emulator._call("POST", "reporting", {"set_cell": {"dataset": "conversation", "value": "0123",
                                                          "attribute": "duration.time_to_first_teammate_reply"}})
        state = pipeline(tmp_path, target, config, catalog, state, target_config, 2, tap_exit=1)
        assert "export_until" in state["bookmarks"]["report_conversation"]
        (text_type,) = pg_query(("SELECT data_type FROM information_schema.columns WHERE table_schema = %s AND "
                                 "table_name = 'report_conversation' AND column_name = 'conversation_id'", [schema]))
        pg_query(f'ALTER TABLE "{schema}".report_conversation ALTER COLUMN time_to_first_teammate_reply '
                 f'TYPE {text_type[0][0]}')  # the type the target gives text columns
        for entry in catalog["streams"]:
            if entry["tap_stream_id"] == "report_conversation":
                entry["schema"]["properties"]["time_to_first_teammate_reply"] = {"type": ["null", "string"]}
        pipeline(tmp_path, target, config, catalog, state, target_config, 3)
        check_tables(schema, emulator, catalog)
        (cells,) = pg_query(f'SELECT time_to_first_teammate_reply FROM "{schema}".report_conversation')
        assert "0123" in {c[0] for c in cells}
    finally:
        pg_drop_schema(schema)
