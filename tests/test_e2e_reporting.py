"""End to end: the Reporting Data Export's report tables loaded by meltanolabs-target-postgres (its own venv, from
scripts/e2e_setup.sh), a full run then an incremental one; the tables hold the emulator's rows, one per key."""
import datetime
import json
import os
import subprocess

from conftest import TAP, discover, select_streams, tap_config, write_json
from test_e2e_postgres import TARGET_POSTGRES, pg_drop_schema, pg_query, pg_target_config, require_e2e_setup
from intercom_emulator.reporting import DATASETS

REPORTS = ["report_" + name for name in DATASETS]


def pipeline(tmp_path, config, catalog, state, target_config, run):
    """tap | target, as the cron job runs them; the target's last STATE line."""
    cmd = [TAP, "--config", write_json(tmp_path, f"config-{run}.json", config),
           "--catalog", write_json(tmp_path, f"catalog-{run}.json", catalog)]
    if state is not None:
        cmd += ["--state", write_json(tmp_path, f"state-{run}.json", state)]
    with open(tmp_path / f"tap-{run}.log", "w+b") as log:
        tap = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log)
        target = subprocess.run([str(TARGET_POSTGRES), "--config",
                                 write_json(tmp_path, "target.json", target_config)],
                                stdin=tap.stdout, capture_output=True, timeout=600)
        tap.stdout.close()
        assert target.returncode == 0, target.stderr.decode()[-3000:]
        log.seek(0)
        assert tap.wait(timeout=60) == 0, log.read().decode()[-3000:]
    lines = [line for line in target.stdout.decode().splitlines() if line.strip()]
    return json.loads(lines[-1])


def test_report_tables_in_postgres(make_emulator, tmp_path):
    require_e2e_setup()
    emulator = make_emulator(seed=29, contacts=20, companies=3, conversations=3, tickets=2, activity_logs=5)
    emulator._call("POST", "reporting", {"format": "tgz", "timezone": "Europe/Berlin"})
    clock = emulator.configure()["clock"]
    start = datetime.datetime.fromtimestamp(clock - 11 * 86400, datetime.timezone.utc).isoformat()
    config = tap_config(emulator.url, start_date=start, reporting_datasets=["*"], workspace_timezone="Europe/Berlin")
    catalog = select_streams(discover(tmp_path, config), set(REPORTS))
    keys = {e["tap_stream_id"]: e["key_properties"] for e in catalog["streams"]}
    schema = f"i18_reports_{os.getpid()}"
    pg_drop_schema(schema)
    target_config = pg_target_config(schema)
    try:
        state = pipeline(tmp_path, config, catalog, None, target_config, 1)
        emulator._call("POST", "reporting", {"reopen": 2, "add": 3})
        state = pipeline(tmp_path, config, catalog, state, target_config, 2)
        assert set(state["bookmarks"]) == set(REPORTS)

        truth = {stream: emulator.truth(stream)[stream] for stream in REPORTS}
        for stream in REPORTS:
            key = [k for k in keys[stream]]
            columns = ", ".join(f'"{k}"::text' for k in key)
            rows, duplicates = pg_query(f'SELECT {columns} FROM "{schema}"."{stream}"',
                                        f'SELECT {columns}, count(*) FROM "{schema}"."{stream}" GROUP BY {columns} '
                                        f'HAVING count(*) > 1')
            assert not duplicates, stream
            assert len(rows) == len(truth[stream]), f"{stream}: {len(rows)} rows, the emulator {len(truth[stream])}"
        # values: reopened conversations' rows changed; times are UTC timestamps; raw ids beside names
        (rows,) = pg_query(f'SELECT conversation_id, count_reopens::int, conversation_state, '
                           f'extract(epoch from conversation_started_at)::bigint, teammate_assigned_raw_id '
                           f'FROM "{schema}".report_conversation')
        assert sorted(map(tuple, rows)) == sorted(
            (r["conversation_id"], r["count_reopens"], r["conversation_state"], r["conversation_started_at"],
             r["teammate_assigned_raw_id"]) for r in truth["report_conversation"])
        (types,) = pg_query((f"SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                             f"AND table_name = 'report_conversation'", [schema]))
        types = dict(map(tuple, types))
        assert types["conversation_started_at"].startswith("timestamp")
        assert types["conversation_rating"] == "numeric" and types["conversation_rating__text"] in (
            "text", "character varying")  # 'Amazing' is no number: kept beside the numeric column
    finally:
        pg_drop_schema(schema)
