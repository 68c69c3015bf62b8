"""End to end into PostgreSQL, as a cron job runs it: the emulator -> the installed tap-intercom CLI ->
meltanolabs-target-postgres (its own venv, from scripts/e2e_setup.sh), twice, carrying the state between runs.

The pipeline is the sync script of docs/RUNNING.md, taken from the document itself, so the documented cron
job is what is tested. Needs `scripts/e2e_setup.sh` (PostgreSQL running, .e2e/target-postgres).
"""
import datetime
import json
import os
import re
import subprocess

import pytest

from conftest import ROOT, TAP, discover, select_streams, tap_config

E2E = ROOT / ".e2e"
TARGET_POSTGRES = E2E / "target-postgres" / "bin" / "target-postgres"
PG = {
    "host": os.environ.get("E2E_PG_HOST", "localhost"),
    "port": int(os.environ.get("E2E_PG_PORT", "5432")),
    "user": os.environ.get("E2E_PG_USER", "tap_intercom"),
    "password": os.environ.get("E2E_PG_PASSWORD", "tap_intercom_e2e"),
    "dbname": os.environ.get("E2E_PG_DATABASE", "tap_intercom_test"),
}
STREAMS = ["users", "contacts", "social_profiles", "companies", "conversations", "conversation_parts",
           "deleted_conversations", "admins", "teams", "tags", "segments", "company_segments", "company_attributes",
           "contact_attributes", "tickets", "ticket_parts", "ticket_types", "ticket_states", "activity_logs",
           "articles", "help_center_collections", "help_centers", "news_items", "newsfeeds", "subscription_types"]
INCREMENTAL = {"users", "contacts", "social_profiles", "conversations", "conversation_parts", "deleted_conversations",
               "tickets", "ticket_parts", "activity_logs"}

# psycopg lives in the target's venv, not the tap's: queries run there, answers come back as JSON.
_QUERY = r"""
import json, sys, psycopg
job = json.load(sys.stdin)
answers = []
with psycopg.connect(**job["conn"], autocommit=True) as conn:
    for query, params in job["queries"]:
        cursor = conn.execute(query, params)
        answers.append([list(row) for row in cursor.fetchall()] if cursor.description else None)
print(json.dumps(answers, default=str))
"""


def require_e2e_setup():
    if not TARGET_POSTGRES.exists():
        pytest.fail(f"{TARGET_POSTGRES} is missing: run scripts/e2e_setup.sh first (scripts/test.sh does)")


def pg_query(*queries):
    """Run (sql, params) pairs in one connection; a list of row lists (None for statements)."""
    python = TARGET_POSTGRES.with_name("python")
    job = {"conn": PG, "queries": [q if isinstance(q, (list, tuple)) else (q, None) for q in queries]}
    proc = subprocess.run([str(python), "-c", _QUERY], input=json.dumps(job), capture_output=True, text=True,
                          timeout=120)
    if proc.returncode:
        raise AssertionError(f"query failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def pg_drop_schema(schema):
    pg_query(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def pg_target_config(schema):
    return {"host": PG["host"], "port": PG["port"], "user": PG["user"], "password": PG["password"],
            "database": PG["dbname"], "default_target_schema": schema, "load_method": "upsert"}


def stream_keys():
    """Each stream's key, as the installed tap describes itself."""
    about = json.loads(subprocess.run([TAP, "--about"], capture_output=True, text=True, check=True).stdout)
    return {s["name"]: s["key_properties"] for s in about["streams"]}


def default_streams(incremental=False):
    """The streams a catalog selects unless told otherwise (`--about`: selected_by_default), in the tap's order;
    incremental=True: those of them that keep a bookmark."""
    about = json.loads(subprocess.run([TAP, "--about"], capture_output=True, text=True, check=True).stdout)
    return [s["name"] for s in about["streams"] if s["selected_by_default"]
            and (not incremental or s["replication_method"] == "INCREMENTAL")]


def key_of(record, key):
    return tuple(str(record[k]) for k in key)


def check_tables_match_truth(schema, truth, keys, streams=STREAMS):
    """One table per stream; its rows are the truth's records, one row per key, none missing, none extra. Each of
    STREAMS has a table; another stream of `streams` may have none when it has no records (targets create a table
    with its first row)."""
    tables = {t[0] for t in pg_query(("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                      [schema]))[0]}
    assert tables <= set(streams), f"tables of streams not synced: {sorted(tables - set(streams))}"
    missing = [s for s in streams if s not in tables and (s in STREAMS or truth[s])]
    assert not missing, f"no table for {missing}"
    checked = [s for s in streams if s in tables]
    queries = []
    for stream in checked:
        columns = ", ".join(f'"{k}"::text' for k in keys[stream])
        queries.append(f'SELECT {columns} FROM "{schema}"."{stream}"')
        queries.append(f'SELECT {columns}, count(*) FROM "{schema}"."{stream}" GROUP BY {columns} '
                       f'HAVING count(*) > 1')
    answers = pg_query(*queries)
    for i, stream in enumerate(checked):
        rows, duplicates = answers[2 * i], answers[2 * i + 1]
        assert duplicates == [], f"{stream}: duplicate keys {duplicates[:5]}"
        expected = {key_of(r, keys[stream]) for r in truth[stream]}
        assert len(rows) == len(truth[stream]), f"{stream}: {len(rows)} rows, the emulator has {len(truth[stream])}"
        assert {tuple(r) for r in rows} == expected, f"{stream}: keys differ from the emulator's"


def sync_script():
    """The cron job's script, exactly as docs/RUNNING.md prints it."""
    text = (ROOT / "docs" / "RUNNING.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    scripts = [b for b in blocks if b.startswith("#!/usr/bin/env bash") and "sync-intercom.sh" in b]
    assert len(scripts) == 1, "docs/RUNNING.md should hold one bash block with the sync-intercom.sh script"
    return scripts[0]


class CronJob:
    """A workspace folder as docs/RUNNING.md lays it out, and the script run as cron would run it. The tap is
    wrapped to keep a copy of its output (the wrapper keeps its exit status: pipefail)."""

    def __init__(self, folder, tap_config_value, catalog, target_config):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "tap-config.json").write_text(json.dumps(tap_config_value))
        (folder / "catalog.json").write_text(json.dumps(catalog))
        (folder / "target-config.json").write_text(json.dumps(target_config))
        self.script = folder / "sync-intercom.sh"
        self.script.write_text(sync_script())
        self.script.chmod(0o755)
        self.wrapper = folder / "tap-wrapper.sh"
        self.wrapper.write_text('#!/usr/bin/env bash\nset -o pipefail\n"$REAL_TAP" "$@" | tee "$TAP_COPY"\n')
        self.wrapper.chmod(0o755)
        self.runs = 0

    @property
    def state(self):
        path = self.folder / "state.json"
        return json.loads(path.read_text()) if path.exists() else None

    def run(self):
        self.runs += 1
        copy = self.folder / f"tap-output-{self.runs}.jsonl"
        env = {**os.environ, "INTERCOM_SYNC_DIR": str(self.folder), "TAP": str(self.wrapper),
               "REAL_TAP": TAP, "TARGET": str(TARGET_POSTGRES), "TAP_COPY": str(copy)}
        proc = subprocess.run(["bash", str(self.script)], env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"sync-intercom.sh exited {proc.returncode}:\n{proc.stderr[-4000:]}"
        messages = [json.loads(line) for line in copy.read_text().splitlines() if line.strip()]
        return messages, proc.stderr


def records(messages, stream):
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def epoch(value):
    return int(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def rfc3339(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def test_cron_pipeline_into_postgres_twice(make_emulator, tmp_path):
    require_e2e_setup()
    emulator = make_emulator(seed=23, contacts=400, companies=80, conversations=70)
    emulator.mutate(action="delete", stream="conversations", count=1)  # so every table has rows
    schema = f"intercom_e2e_{os.getpid()}"
    pg_drop_schema(schema)
    keys = stream_keys()
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), set(STREAMS))
    job = CronJob(tmp_path / "workspace", config, catalog, pg_target_config(schema))

    # ---- run 1: everything since start_date --------------------------------------------------------
    messages, log = job.run()
    truth = emulator.truth()
    tap_states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert tap_states, "the tap emitted no STATE"
    # What the script saved is the last STATE the tap emitted, passed on by the target once committed.
    assert job.state == tap_states[-1]
    assert set(job.state["bookmarks"]) == INCREMENTAL
    assert job.state["currently_syncing"] is None
    for stream in STREAMS:
        assert len(records(messages, stream)) == len(truth[stream]), stream
    check_tables_match_truth(schema, truth, keys)
    first_state = job.state

    # ---- the workspace changes ---------------------------------------------------------------------
    changed = {}
    for stream, count in (("users", 4), ("contacts", 3), ("companies", 3), ("conversations", 3)):
        changed[stream] = set(emulator.mutate(action="update", stream=stream, count=count)["ids"])
    created = {}
    for stream, count in (("users", 3), ("contacts", 2), ("companies", 2), ("conversations", 2)):
        created[stream] = set(emulator.mutate(action="create", stream=stream, count=count)["ids"])
    # Conversations under Intercom's 500-part cap: on a cut one, new parts push old ones out of the API
    # (not out of the warehouse), and the row count could no longer equal the emulator's.
    quiet = sorted({c["id"] for c in truth["conversations"]} - changed["conversations"]
                   - set(truth["cut_conversations"]))[:2]
    added = emulator.mutate(action="add_parts", ids=quiet, count=3)
    changed["conversations"] |= set(quiet)
    changed["tickets"] = set(emulator.mutate(action="update", stream="tickets", count=2)["ids"])
    quiet_tickets = sorted({t["id"] for t in truth["tickets"]} - changed["tickets"] - set(truth["cut_tickets"]))[:2]
    added_ticket_parts = emulator.mutate(action="add_parts", stream="tickets", ids=quiet_tickets, count=2)
    changed["tickets"] |= set(quiet_tickets)
    created["tickets"] = set(emulator.mutate(action="create", stream="tickets", count=2)["ids"])
    tagged = sorted({u["id"] for u in truth["users"]} - changed["users"])[0]
    emulator.mutate(action="tag", ids=[tagged], count=len(truth["tags"]) + 2)  # > 10 tags, 2+ new tags
    changed["users"].add(tagged)

    # ---- run 2: from the saved state ---------------------------------------------------------------
    messages, log = job.run()
    after = emulator.truth()
    lookback = 900  # the tap's default lookback_window
    since = {s: epoch(first_state["bookmarks"][s]["updated_at"]) - lookback for s in INCREMENTAL}
    contacts_from = min(since["users"], since["contacts"], since["social_profiles"])
    assert f"reading /contacts/search from {rfc3339(contacts_from)}" in log
    assert f"reading /conversations/search from {rfc3339(since['conversations'])}" in log

    # Only what changed (or sits inside the lookback window) was read again.
    for stream in ("users", "contacts", "conversations", "tickets"):
        emitted = {r["id"] for r in records(messages, stream)}
        expected = {r["id"] for r in after[stream] if r["updated_at"] >= since[stream]}
        assert emitted == expected, f"{stream}: run 2 emitted {sorted(emitted - expected)[:5]} extra, " \
                                    f"missed {sorted(expected - emitted)[:5]}"
        assert changed[stream] | created[stream] <= emitted, stream
        assert len(emitted) < len(after[stream]), f"{stream}: run 2 did not resume from the state"
    changed_people = {c["id"] for c in after["users"] + after["contacts"]
                      if c["updated_at"] >= since["social_profiles"]}
    assert {key_of(r, keys["social_profiles"]) for r in records(messages, "social_profiles")} == {
        key_of(p, keys["social_profiles"]) for p in after["social_profiles"] if p["contact_id"] in changed_people}
    changed_conversations = {c["id"] for c in after["conversations"]
                             if c["updated_at"] >= since["conversation_parts"]}
    emitted_parts = {r["id"] for r in records(messages, "conversation_parts")}
    assert emitted_parts == {p["id"] for p in after["conversation_parts"]
                             if p["conversation_id"] in changed_conversations}
    assert set(added["part_ids"]) <= emitted_parts
    changed_tickets = {t["id"] for t in after["tickets"] if t["updated_at"] >= since["ticket_parts"]}
    emitted_ticket_parts = {r["id"] for r in records(messages, "ticket_parts")}
    assert emitted_ticket_parts == {p["id"] for p in after["ticket_parts"] if p["ticket_id"] in changed_tickets}
    assert set(added_ticket_parts["part_ids"]) <= emitted_ticket_parts
    assert {r["id"] for r in records(messages, "activity_logs")} == {
        x["id"] for x in after["activity_logs"] if x["created_at"] >= since["activity_logs"]}
    for stream in STREAMS:
        if stream not in INCREMENTAL:
            assert len(records(messages, stream)) == len(after[stream]), stream
    assert job.state == [m["value"] for m in messages if m["type"] == "STATE"][-1]
    for stream in INCREMENTAL:
        assert epoch(job.state["bookmarks"][stream]["updated_at"]) >= epoch(first_state["bookmarks"][stream]
                                                                             ["updated_at"]), stream

    # ---- the database now equals the workspace -----------------------------------------------------
    check_tables_match_truth(schema, after, keys)
    by_id = {stream: {r["id"]: r for r in after[stream]} for stream in ("users", "contacts", "companies",
                                                                       "conversations")}
    users, contacts, companies, conversations, tags = pg_query(
        (f'SELECT id, name, custom_attributes, tags FROM "{schema}".users WHERE id = ANY(%s)',
         [sorted(changed["users"] | created["users"])]),
        (f'SELECT id, name FROM "{schema}".contacts WHERE id = ANY(%s)',
         [sorted(changed["contacts"] | created["contacts"])]),
        (f'SELECT id, name, custom_attributes FROM "{schema}".companies WHERE id = ANY(%s)',
         [sorted(changed["companies"] | created["companies"])]),
        (f'SELECT id, title FROM "{schema}".conversations WHERE id = ANY(%s)',
         [sorted(changed["conversations"] | created["conversations"])]),
        f'SELECT id, name FROM "{schema}".tags',
    )
    dates = {a["name"] for a in emulator.emulator.ws.attributes(None, True) if a["data_type"] == "date"}

    def typed(custom):  # custom date attributes arrive as RFC 3339, like the standard timestamps
        return {k: rfc3339(v) if k in dates and v is not None else v for k, v in custom.items()}

    assert len(users) == len(changed["users"] | created["users"])
    for user_id, name, custom, user_tags in users:
        assert name == by_id["users"][user_id]["name"]
        assert custom == typed(by_id["users"][user_id]["custom_attributes"])
        assert {t["id"] for t in user_tags["data"]} == {t["id"] for t in by_id["users"][user_id]["tags"]["data"]}
    assert any(name.startswith("Updated Person @") for _, name, _, _ in users)
    tagged_row = next(row for row in users if row[0] == tagged)
    assert len(tagged_row[3]["data"]) > 10 and tagged_row[3]["has_more"] is False
    assert {(i, n) for i, n in contacts} == {(i, by_id["contacts"][i]["name"])
                                             for i in changed["contacts"] | created["contacts"]}
    for company_id, name, custom in companies:
        assert name == by_id["companies"][company_id]["name"]
        assert custom == typed(by_id["companies"][company_id]["custom_attributes"])
    assert {name for _, name, _ in companies} >= {f"Renamed company @{by_id['companies'][i]['updated_at']}"
                                                   for i in changed["companies"]}
    assert {(i, t) for i, t in conversations} == {(i, by_id["conversations"][i]["title"])
                                                  for i in changed["conversations"] | created["conversations"]}
    assert {(i, n) for i, n in tags} == {(t["id"], t["name"]) for t in after["tags"]}
    assert len(after["tags"]) > len(truth["tags"])
    pg_drop_schema(schema)


def test_failed_run_keeps_what_was_loaded_and_exits_non_zero(make_emulator, tmp_path):
    """A run whose conversation search keeps failing: the other streams load and their bookmarks move, the
    conversations' bookmarks stay, and the script exits non-zero."""
    require_e2e_setup()
    emulator = make_emulator(seed=5, contacts=60, companies=12, conversations=10)
    schema = f"intercom_e2e_fail_{os.getpid()}"
    pg_drop_schema(schema)
    config = tap_config(emulator.url, max_retries=0)
    catalog = select_streams(discover(tmp_path, config), set(STREAMS))
    job = CronJob(tmp_path / "workspace", config, catalog, pg_target_config(schema))
    job.run()
    saved = job.state
    emulator.mutate(action="update", stream="users", count=2)
    emulator.faults(path="/conversations/search", kind="500", count=50)
    env = {**os.environ, "INTERCOM_SYNC_DIR": str(job.folder), "TAP": TAP, "TARGET": str(TARGET_POSTGRES)}
    proc = subprocess.run(["bash", str(job.script)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "tap-intercom: error: conversations, conversation_parts failed" in proc.stderr
    kept = job.state
    assert kept["bookmarks"]["conversations"] == saved["bookmarks"]["conversations"]
    assert kept["bookmarks"]["users"]["updated_at"] > saved["bookmarks"]["users"]["updated_at"]
    assert not (job.folder / "state.json.new").exists()
    pg_drop_schema(schema)
