"""The 2.14-2.16 streams end to end into PostgreSQL: the emulator -> the installed tap-intercom CLI ->
meltanolabs-target-postgres, twice (the second run from the first one's state, after changes): every new table
is created and holds the emulator's records, one row per key. Needs `scripts/e2e_setup.sh`."""
import json
import subprocess

from conftest import TAP, discover, select_streams, tap_config, write_json
from test_e2e_postgres import TARGET_POSTGRES, pg_drop_schema, pg_query, pg_target_config, require_e2e_setup
from tap_intercom.streams import STREAMS_BY_NAME

SCHEMA = "i17_newer"
NEW = ["calls", "call_transcripts", "internal_articles", "away_status_reasons", "office_hours_schedules",
       "conversation_attributes", "macros", "contact_merges", "conversation_handling_events",
       "custom_object_instances"]
TEXT_KEYS = {"conversation_handling_events": ("conversation_id", "teammate_id", "type")}  # timestamp: a timestamptz


def load(tmp_path, config, catalog, state, name):
    command = [TAP, "--config", write_json(tmp_path, "config.json", config),
               "--catalog", write_json(tmp_path, "catalog.json", catalog)]
    if state:
        command += ["--state", write_json(tmp_path, "state.json", state)]
    tap = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert tap.returncode == 0, tap.stderr[-3000:]
    target = subprocess.run([str(TARGET_POSTGRES), "--config",
                             write_json(tmp_path, f"target-{name}.json", pg_target_config(SCHEMA))],
                            input=tap.stdout, capture_output=True, text=True, timeout=300)
    assert target.returncode == 0, target.stderr[-3000:]
    states = [json.loads(line)["value"] for line in tap.stdout.splitlines() if line.startswith('{"type":"STATE"')
              or line.startswith('{"type": "STATE"')]
    return states[-1]


def test_new_tables_load_into_postgres(tmp_path, make_emulator):
    require_e2e_setup()
    emulator = make_emulator(seed=17, contacts=80, companies=5, conversations=40)
    users = [u["id"] for u in emulator.truth("users")["users"]]
    leads = [c["id"] for c in emulator.truth("contacts")["contacts"]]
    emulator.mutate(action="merge", ids=leads[:2], into=users[0])
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), NEW)
    pg_drop_schema(SCHEMA)
    try:
        state = load(tmp_path, config, catalog, None, "first")
        emulator.mutate(action="update", stream="macros", count=3)
        emulator.mutate(action="complete_transcripts", stream="calls")
        emulator.mutate(action="merge", ids=leads[2:3], into=users[1])
        emulator.mutate(action="create", stream="handling_events",
                        ids=sorted(c["id"] for c in emulator.truth("conversations")["conversations"])[:3])
        load(tmp_path, config, catalog, state, "second")
        truth = emulator.truth()
        tables = pg_query(("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [SCHEMA]))[0]
        assert sorted(t[0] for t in tables) == sorted(NEW)
        for stream in NEW:
            key = TEXT_KEYS.get(stream, STREAMS_BY_NAME[stream].key)
            columns = ", ".join(f'"{k}"::text' for k in key)
            rows = pg_query(f'SELECT {columns} FROM "{SCHEMA}"."{stream}"')[0]
            assert sorted(tuple(r) for r in rows) == sorted(tuple(str(t[k]) for k in key) for t in truth[stream]), \
                stream
        statuses = pg_query(f'SELECT DISTINCT transcript_status FROM "{SCHEMA}".call_transcripts')[0]
        assert ["pending"] not in statuses  # completed since: the second run asked again and updated the rows
    finally:
        pg_drop_schema(SCHEMA)
