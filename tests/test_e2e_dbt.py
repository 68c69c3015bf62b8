"""dbt on the tap's tables: emulator data loaded by the tap into PostgreSQL (meltanolabs-target-postgres) and DuckDB
(target-duckdb), then scripts/dbt_models.sh on each: our package (dbt/) and Fivetran's dbt_intercom, unchanged,
from ../shared/dbt-packages. dbt_intercom's conversation and admin metrics and our marts are compared row by row
with the same definitions computed here in Python from the emulator's own truth (never from the tap's output).

Needs scripts/e2e_setup.sh (PostgreSQL, .e2e/target-postgres, .e2e/target-duckdb, .e2e/dbt; DBT_VENV overrides the
last) and ../shared/dbt-packages. Schemas and files are prefixed `dbt28_`.
"""
import datetime
import json
import os
import subprocess
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest

from conftest import ROOT, TAP, discover, select_streams, tap_config, write_json
from test_e2e_postgres import E2E, PG, TARGET_POSTGRES, pg_drop_schema, pg_query, require_e2e_setup

TARGET_DUCKDB = E2E / "target-duckdb" / "bin" / "target-duckdb"
DBT_VENV = os.environ.get("DBT_VENV") or str(E2E / "dbt")
DBT_PACKAGES = ROOT.parent / "shared" / "dbt-packages"
STREAMS = {"users", "contacts", "users_history", "contacts_history", "companies", "companies_history",
           "conversations", "conversations_history", "conversation_parts", "admins", "teams", "team_admins", "tags",
           "contact_tags", "contact_companies", "company_tags", "conversation_tags", "conversation_contacts",
           "articles", "help_center_collections", "help_centers", "office_hours_schedules",
           "conversation_handling_events", "report_conversation"}
# Part types the definitions turn on: every one is in the workspace (checked first)
PART_KINDS = {"comment", "note", "assignment", "default_assignment", "away_mode_assignment", "assign_and_reopen",
              "open", "close", "snoozed", "timer_unsnooze"}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


# ---- dbt_intercom's definitions, from the emulator's truth ------------------------------------------------

def minutes(start, end):
    return None if start is None or end is None else round((end - start) / 60, 2)


def first(values):
    values = [v for v in values if v is not None]
    return min(values) if values else None


def last(values):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def conversation_metrics(truth):
    """{conversation id: dbt_intercom's intercom__conversation_metrics columns}, from the truth's parts."""
    parts = defaultdict(list)
    for part in truth["conversation_parts"]:
        parts[str(part["conversation_id"])].append(part)
    admins = {str(a["id"]) for a in truth["admins"]}
    out = {}
    for conv in truth["conversations"]:
        cid, made = str(conv["id"]), conv["created_at"]
        mine = parts[cid]
        kind = lambda p: p["part_type"]  # noqa: E731
        who = lambda p: p["author"]["type"]  # noqa: E731
        contact_replies = [p["created_at"] for p in mine if kind(p) == "comment" and who(p) in ("user", "lead")]
        assignments = [p["created_at"] for p in mine if "assignment" in kind(p)]
        responses = [p["created_at"] for p in mine if kind(p) in ("comment", "assignment") and who(p) == "admin"
                     and p["body"] is not None]
        reopens = [p["created_at"] for p in mine if kind(p) == "open"]
        closes = sorted((p["created_at"], p) for p in mine if kind(p) == "close")
        admin_closes = [(at, p) for at, p in closes if who(p) == "admin"]
        teams = sorted((p["created_at"], str(p["assigned_to"]["id"])) for p in mine
                       if (p.get("assigned_to") or {}).get("type") == "team")
        first_reply = first(contact_replies)
        admin_assignee = conv.get("admin_assignee_id")
        team_assignee = conv.get("team_assignee_id")
        assignee = str(admin_assignee) if admin_assignee not in (None, 0, "0") else \
            str(team_assignee) if team_assignee not in (None, 0, "0") else None
        out[cid] = {
            "conversation_state": conv["state"], "conversation_assignee_id": assignee,
            "is_assignee_admin": assignee in admins,
            "conversation_rating": (conv.get("conversation_rating") or {}).get("rating"),
            "count_total_parts": len(mine), "count_assignments": len(assignments), "count_reopens": len(reopens),
            "first_contact_reply_at": first_reply, "last_contact_reply_at": last(contact_replies),
            "first_assignment_at": first(assignments), "last_assignment_at": last(assignments),
            "first_admin_response_at": first(responses), "last_admin_response_at": last(responses),
            "first_reopen_at": first(reopens), "last_reopen_at": last(reopens),
            "first_close_at": closes[0][0] if closes else None, "last_close_at": closes[-1][0] if closes else None,
            "first_admin_close_at": admin_closes[0][0] if admin_closes else None,
            "last_admin_close_at": admin_closes[-1][0] if admin_closes else None,
            "last_close_by_admin_id": str(admin_closes[-1][1]["author"]["id"]) if admin_closes else None,
            "first_team_id": teams[0][1] if teams else None, "last_team_id": teams[-1][1] if teams else None,
            "time_to_first_assignment_minutes": minutes(made, first(assignments)),
            "time_to_last_assignment_minutes": minutes(made, last(assignments)),
            "time_to_first_response_minutes": minutes(made, first(responses)),
            "time_to_first_close_minutes": minutes(first_reply, closes[0][0] if closes else None),
            "time_to_last_close_minutes": minutes(first_reply, closes[-1][0] if closes else None),
            "time_to_admin_first_close_minutes": minutes(first_reply, admin_closes[0][0] if admin_closes else None),
            "time_to_admin_last_close_minutes": minutes(first_reply, admin_closes[-1][0] if admin_closes else None),
        }
    return out


def median(values):
    """percentile_cont(0.5): nulls left out, the mean of the two middle values of an even count."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return round(values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2, 2)


def admin_metrics(truth, metrics):
    """{(admin id, team id): intercom__admin_metrics columns}: the conversations assigned to an admin, grouped by
    the admin who last closed them, on every team of each admin."""
    closed_by = defaultdict(list)
    for row in metrics.values():
        if row["is_assignee_admin"] and row["last_close_by_admin_id"]:
            closed_by[row["last_close_by_admin_id"]].append(row)
    teams = defaultdict(set)
    for link in truth["team_admins"]:
        teams[str(link["admin_id"])].add(str(link["team_id"]))
    out = {}
    for admin in truth["admins"]:
        aid, rows = str(admin["id"]), closed_by.get(str(admin["id"]), [])
        ratings = [r["conversation_rating"] for r in rows if r["conversation_rating"] is not None]
        values = {
            "total_conversations_closed": sum(r["conversation_state"] == "closed" for r in rows) if rows else None,
            "average_conversation_parts": round(sum(r["count_total_parts"] for r in rows) / len(rows), 2)
            if rows else None,
            "average_conversation_rating": sum(ratings) / len(ratings) if ratings else None,
            "median_conversations_reopened": median([r["count_reopens"] for r in rows]),
            "median_conversation_assignments": median([r["count_assignments"] for r in rows]),
            "median_time_to_first_response_time_minutes": median([r["time_to_first_response_minutes"] for r in rows]),
            "median_time_to_last_close_minutes": median([r["time_to_last_close_minutes"] for r in rows]),
        }
        for team in teams.get(aid) or {None}:
            out[(aid, team)] = values
    return out


# ---- our marts' definitions --------------------------------------------------------------------------------

def office_seconds(start, end, schedule):
    """Seconds of [start, end] (epoch seconds) inside the schedule's weekly intervals, on its wall clock."""
    if schedule["twenty_four_seven"]:
        return end - start
    zone = ZoneInfo(schedule["time_zone_name"])
    wall = lambda t: (EPOCH + datetime.timedelta(seconds=t)).astimezone(zone).replace(tzinfo=None)  # noqa: E731
    begin, finish = wall(start), wall(end)
    monday = datetime.datetime.combine(begin.date() - datetime.timedelta(days=begin.weekday()), datetime.time())
    total = 0
    while monday <= finish:
        for interval in schedule["time_intervals"]:
            opens = monday + datetime.timedelta(minutes=interval["start_minute"])
            closes = monday + datetime.timedelta(minutes=interval["end_minute"])
            overlap = (min(closes, finish) - max(opens, begin)).total_seconds()
            total += max(0, overlap)
        monday += datetime.timedelta(days=7)
    return int(total)


def office_hours(truth, metrics):
    schedule = min(truth["office_hours_schedules"], key=lambda s: s["id"])  # the models' default: lowest id
    out = {}
    for conv in truth["conversations"]:
        row, made = metrics[str(conv["id"])], conv["created_at"]

        def office(start, end):
            if start is None or end is None or end < start:
                return None
            return round(office_seconds(start, end, schedule) / 60, 2)

        out[str(conv["id"])] = {
            "time_to_first_response_minutes": row["time_to_first_response_minutes"],
            "office_time_to_first_response_minutes": office(made, row["first_admin_response_at"]),
            "time_to_first_close_minutes": row["time_to_first_close_minutes"],
            "office_time_to_first_close_minutes": office(row["first_contact_reply_at"], row["first_close_at"])}
    return out, schedule["id"]


STATE_AFTER = {"close": "closed", "snoozed": "snoozed", "open": "open", "timer_unsnooze": "open",
               "assign_and_reopen": "open"}


def iso_epoch(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def time_in_state(truth):
    parts = defaultdict(list)
    for part in truth["conversation_parts"]:
        parts[str(part["conversation_id"])].append(part)
    events = defaultdict(list)
    for event in truth["conversation_handling_events"]:
        events[(str(event["conversation_id"]), str(event["teammate_id"]))].append(
            (iso_epoch(event["timestamp"]), event["type"]))
    paused = defaultdict(lambda: [0, 0])
    for (cid, _), mine in events.items():
        mine.sort()
        for (at, kind), following in zip(mine, mine[1:] + [None]):
            if kind == "paused":
                paused[cid][0] += 1
                if following and following[1] == "resumed":
                    paused[cid][1] += following[0] - at
    out = {}
    for conv in truth["conversations"]:
        cid = str(conv["id"])
        state, since, spent = "open", conv["created_at"], defaultdict(int)
        for part in sorted(parts[cid], key=lambda p: (p["created_at"], int(p["id"]))):
            if part["part_type"] in STATE_AFTER:
                spent[state] += part["created_at"] - since
                state, since = STATE_AFTER[part["part_type"]], part["created_at"]
        count, paused_seconds = paused[cid] if cid in paused else (0, 0)
        out[cid] = {"count_snoozes": sum(p["part_type"] == "snoozed" for p in parts[cid]), "current_state": state,
                    "open_minutes": round(spent["open"] / 60, 2), "snoozed_minutes": round(spent["snoozed"] / 60, 2),
                    "closed_minutes": round(spent["closed"] / 60, 2), "count_pauses": count,
                    "paused_minutes": round(paused_seconds / 60, 2),
                    "handling_minutes": round(max(spent["open"] - paused_seconds, 0) / 60, 2)}
    return out


# ---- loading and reading -----------------------------------------------------------------------------------

def tap_to_targets(tmp_path, config, catalog, schema, duckdb_path, state=None, name="run"):
    """One tap run, its output loaded by both targets; the tap's last state."""
    folder = tmp_path / name
    folder.mkdir()
    cmd = [TAP, "--config", write_json(folder, "tap.json", config), "--catalog", write_json(folder, "catalog.json",
                                                                                            catalog)]
    if state is not None:
        cmd += ["--state", write_json(folder, "state.json", state)]
    tap = subprocess.run(cmd, capture_output=True, timeout=300)
    assert tap.returncode == 0, tap.stderr.decode()[-3000:]
    pg = {"host": PG["host"], "port": PG["port"], "user": PG["user"], "password": PG["password"],
          "database": PG["dbname"], "default_target_schema": schema, "load_method": "upsert",
          "add_record_metadata": True}
    duck = {"path": str(duckdb_path), "default_target_schema": schema, "add_metadata_columns": True}
    for target, target_config in ((TARGET_POSTGRES, pg), (TARGET_DUCKDB, duck)):
        out = subprocess.run([str(target), "--config", write_json(folder, f"{target.parent.parent.name}.json",
                                                                  target_config)],
                             input=tap.stdout, capture_output=True, timeout=300)
        assert out.returncode == 0, out.stderr.decode()[-3000:]
    states = [json.loads(line)["value"] for line in tap.stdout.decode().splitlines() if '"STATE"' in line[:30]]
    return states[-1]


def dbt_models(target, schema, duckdb_path=None, packages=DBT_PACKAGES):
    env = {**os.environ, "DBT_TARGET": target, "TAP_SCHEMA": schema, "DBT_VENV": DBT_VENV,
           "DBT_INTERCOM_PATH": str(packages), "DBT_VARS": "tap_intercom_reporting_enabled: true",
           "PGHOST": PG["host"], "PGPORT": str(PG["port"]), "PGUSER": PG["user"], "PGPASSWORD": PG["password"],
           "PGDATABASE": PG["dbname"]}
    if duckdb_path:
        env["DUCKDB_PATH"] = str(duckdb_path)
    run = subprocess.run([str(ROOT / "scripts" / "dbt_models.sh")], capture_output=True, text=True, env=env,
                         timeout=900)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    return run.stdout


TABLES = {"conversation_metrics": "{s}_intercom.intercom__conversation_metrics",
          "admin_metrics": "{s}_intercom.intercom__admin_metrics",
          "office_hours": "{s}_tap_intercom.tap_intercom__conversation_office_hours",
          "time_in_state": "{s}_tap_intercom.tap_intercom__conversation_time_in_state",
          "report": "{s}_tap_intercom.tap_intercom__report_comparison",
          "conversation_history": "{s}_fivetran.conversation_history"}

_DUCK = r"""
import json, sys, duckdb
job = json.load(sys.stdin)
db = duckdb.connect(job["path"], read_only=True)
out = {}
for name, sql in job["queries"].items():
    cursor = db.execute(sql)
    out[name] = [dict(zip([d[0] for d in cursor.description], row)) for row in cursor.fetchall()]
print(json.dumps(out, default=str))
"""


def read_tables(target, schema, duckdb_path=None):
    """{name: [row dicts]} of the built models; values as text or numbers (timestamps as epoch seconds)."""
    queries = {name: f"select * from {table.format(s=schema)}" for name, table in TABLES.items()}
    if target == "postgres":
        wrapped = [f"select row_to_json(q)::text from ({sql}) q" for sql in queries.values()]
        answers = pg_query(*wrapped)
        rows = {name: [json.loads(r[0]) for r in answer] for name, answer in zip(queries, answers)}
    else:
        proc = subprocess.run([str(TARGET_DUCKDB.with_name("python")), "-c", _DUCK], capture_output=True, text=True,
                              input=json.dumps({"path": str(duckdb_path), "queries": queries}), timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        rows = json.loads(proc.stdout)
    return {name: [{k: normal(v) for k, v in row.items()} for row in table] for name, table in rows.items()}


def normal(value):
    """Timestamps as epoch seconds, numbers as floats, the rest as text (both targets answer alike)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text.replace(" ", "T"))
        return float(int(moment.replace(tzinfo=datetime.timezone.utc).timestamp()))
    except ValueError:
        return text


def same(expected, actual, where):
    """Row by row, column by column: numbers within the models' rounding (2 decimals); ids typed as integers by
    Fivetran's columns compare as their text."""
    for column, want in expected.items():
        got = actual[column]
        if want is None or isinstance(want, bool):
            assert got == want, f"{where} {column}: {got!r} != {want!r}"
        elif isinstance(want, str):
            assert (str(int(got)) if isinstance(got, float) else got) == want, f"{where} {column}: {got!r} != {want!r}"
        else:
            assert got is not None and abs(got - want) <= 0.011, f"{where} {column}: {got!r} != {want!r}"


def check_models(tables, truth, report_truth):
    metrics = conversation_metrics(truth)
    built = {str(int(r["conversation_id"])): r for r in tables["conversation_metrics"]}
    assert set(built) == set(metrics)
    for cid, want in metrics.items():
        same(want, built[cid], f"conversation {cid}")

    admins = admin_metrics(truth, metrics)
    rows = {(r["admin_id"] if isinstance(r["admin_id"], str) else str(int(r["admin_id"])),
             None if r["team_id"] is None else str(int(r["team_id"]))): r for r in tables["admin_metrics"]}
    assert set(rows) == set(admins)
    assert any(v["total_conversations_closed"] for v in admins.values())  # the comparison is not all nulls
    for key, want in admins.items():
        same(want, rows[key], f"admin {key}")

    hours, schedule_id = office_hours(truth, metrics)
    rows = {r["conversation_id"] if isinstance(r["conversation_id"], str) else str(int(r["conversation_id"])): r
            for r in tables["office_hours"]}
    assert set(rows) == set(hours)
    assert {str(int(r["schedule_id"])) for r in rows.values()} == {schedule_id}
    assert any(h["office_time_to_first_close_minutes"] for h in hours.values())
    for cid, want in hours.items():
        same(want, rows[cid], f"office hours {cid}")

    states = time_in_state(truth)
    rows = {r["conversation_id"] if isinstance(r["conversation_id"], str) else str(int(r["conversation_id"])): r
            for r in tables["time_in_state"]}
    assert set(rows) == set(states)
    assert any(s["snoozed_minutes"] for s in states.values()) and any(s["paused_minutes"] for s in states.values())
    for cid, want in states.items():
        same(want, rows[cid], f"time in state {cid}")

    # Intercom's report numbers, as the emulator's report holds them; its conversations are not the workspace's
    # (the truth is the file's cells as text, "" for nothing, under qualified ids: standard.conversation_id, ...)
    report = {r["standard.conversation_id"]: r for r in report_truth}
    rows = {r["conversation_id"] if isinstance(r["conversation_id"], str) else str(int(r["conversation_id"])): r
            for r in tables["report"]}
    assert set(rows) == set(report)
    for cid, want in report.items():
        reopens, to_close = want["standard.number_of_reopens"], want["duration.time_to_first_close"]
        same({"intercom_count_reopens": float(reopens) if reopens != "" else None,
              "intercom_time_to_first_close_minutes": None if to_close == "" else round(float(to_close) / 60, 2),
              "intercom_state": want["standard.conversation_state"] or None},
             rows[cid], f"report {cid}")

    # conversation_history keeps every version the runs read; one active per conversation, the truth's latest
    history = defaultdict(list)
    for row in tables["conversation_history"]:
        history[str(int(row["id"]))].append(row)
    assert set(history) == set(metrics)
    assert any(len(v) > 1 for v in history.values())
    latest = {str(c["id"]): c["updated_at"] for c in truth["conversations"]}
    for cid, versions in history.items():
        active = [v for v in versions if v["_fivetran_active"]]
        assert len(active) == 1 and active[0]["updated_at"] == latest[cid], cid


def test_dbt_intercom_and_our_models_match_the_truth_on_postgres_and_duckdb(make_emulator, tmp_path):
    require_e2e_setup()
    for needed in (TARGET_DUCKDB, DBT_PACKAGES / "dbt_intercom"):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: run scripts/e2e_setup.sh (and keep ../shared beside the checkout)")
    emulator = make_emulator(seed=28, contacts=60, companies=10, conversations=40)
    truth = emulator.truth()
    assert PART_KINDS <= {p["part_type"] for p in truth["conversation_parts"]}
    assert {"bot", "lead", "user", "admin"} <= {p["author"]["type"] for p in truth["conversation_parts"]}
    assert any(p["body"] is None for p in truth["conversation_parts"])
    assert any((p.get("assigned_to") or {}).get("type") == "team" for p in truth["conversation_parts"])

    config = tap_config(emulator.url, reporting_datasets=["conversation"])
    catalog = select_streams(discover(tmp_path, config), STREAMS)
    schema, duckdb_path = f"dbt28_{os.getpid()}", tmp_path / "dbt28.duckdb"
    pg_drop_schema(schema)
    state = tap_to_targets(tmp_path, config, catalog, schema, duckdb_path)
    # a second run after new parts: conversation_history then holds two versions of those conversations
    quiet = [c["id"] for c in truth["conversations"][1:4]]
    emulator.mutate(action="add_parts", ids=quiet, count=3)
    tap_to_targets(tmp_path, config, catalog, schema, duckdb_path, state=state, name="again")
    truth = emulator.truth()
    report_truth = emulator.truth("report_conversation")["report_conversation"]

    for target in ("postgres", "duckdb"):
        output = dbt_models(target, schema, duckdb_path if target == "duckdb" else None)
        assert f"built schemas: {schema}_stg_tap_intercom {schema}_fivetran {schema}_tap_intercom " \
               f"{schema}_stg_intercom {schema}_intercom" in output
        check_models(read_tables(target, schema, duckdb_path), truth, report_truth)

    # without dbt_intercom, our own models alone; the message model is off unless its var says so
    output = dbt_models("postgres", schema, packages=tmp_path / "none")
    assert "our models only" in output and "intercom__conversation_metrics" not in output
    assert "tap_intercom__message_rates" not in output
    for suffix in ("stg_tap_intercom", "fivetran", "tap_intercom", "stg_intercom", "intercom"):
        pg_drop_schema(f"{schema}_{suffix}")
    pg_drop_schema(schema)


def test_message_rates_count_receipts_opened_and_clicked(tmp_path):
    """tap_intercom__message_rates on message_receipts and message_events as the content export's streams load
    them (a receipt opened by its first_open time or an open event, clicked likewise); off by default."""
    if not TARGET_DUCKDB.exists():
        pytest.fail(f"{TARGET_DUCKDB} is missing: run scripts/e2e_setup.sh first (scripts/test.sh does)")
    database = tmp_path / "dbt28_messages.duckdb"
    receipts = [  # receipt, message, version, title, first_open, first_click
        ("r1", "m1", "c1", "Welcome, friend", "2026-01-01 10:00:00", None),
        ("r2", "m1", "c1", "Welcome, friend", None, None),            # opened: an open event only
        ("r3", "m1", "c1", "Welcome, friend", "2026-01-01 11:00:00", "2026-01-01 11:01:00"),
        ("r4", "m1", "c2", "Welcome (B)", None, None),                 # clicked: a click event only
        ("r5", "m2", "c9", "Renewal", None, None)]
    events = [("r2", "open", "2026-01-02 09:00:00", None), ("r4", "click", "2026-01-02 09:00:00", "https://x.test"),
              ("r4", "open", "2026-01-02 08:59:00", None), ("r3", "open", "2026-01-01 11:00:00", None)]
    setup = r"""
import json, sys, duckdb
job = json.load(sys.stdin)
db = duckdb.connect(job["path"])
db.execute("create schema msg")
db.execute("create table msg.message_receipts (receipt_id varchar, ruleset_id varchar, content_id varchar, "
           "content_title varchar, content_type varchar, received_at timestamp, first_open timestamp, "
           "first_click timestamp)")
for r in job["receipts"]:
    db.execute("insert into msg.message_receipts values (?, ?, ?, ?, 'email', '2026-01-01 09:00:00', ?, ?)", r)
db.execute("create table msg.message_events (receipt_id varchar, event varchar, occurred_at timestamp, url varchar)")
for e in job["events"]:
    db.execute("insert into msg.message_events values (?, ?, ?, ?)", e)
db.close()
"""
    proc = subprocess.run([str(TARGET_DUCKDB.with_name("python")), "-c", setup], capture_output=True, text=True,
                          input=json.dumps({"path": str(database), "receipts": receipts, "events": events}))
    assert proc.returncode == 0, proc.stderr[-2000:]
    env = {**os.environ, "DBT_TARGET": "duckdb", "TAP_SCHEMA": "msg", "DUCKDB_PATH": str(database),
           "DBT_VENV": DBT_VENV, "DBT_INTERCOM_PATH": str(tmp_path / "none")}
    off = subprocess.run([str(ROOT / "scripts" / "dbt_models.sh")], capture_output=True, text=True, env=env,
                         timeout=600)
    assert off.returncode == 0 and "tap_intercom__message_rates" not in off.stdout, off.stdout[-3000:]
    on = subprocess.run([str(ROOT / "scripts" / "dbt_models.sh")], capture_output=True, text=True, timeout=600,
                        env={**env, "DBT_VARS": "tap_intercom_messages_enabled: true"})
    assert on.returncode == 0 and "tap_intercom__message_rates" in on.stdout, on.stdout[-3000:]
    read = {"rates": "select ruleset_id, content_id, content_title, receipts, receipts_opened, receipts_clicked, "
                     "open_rate, click_rate from msg_tap_intercom.tap_intercom__message_rates"}
    proc = subprocess.run([str(TARGET_DUCKDB.with_name("python")), "-c", _DUCK], capture_output=True, text=True,
                          input=json.dumps({"path": str(database), "queries": read}), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {(r["ruleset_id"], r["content_id"]): r for r in json.loads(proc.stdout)["rates"]}
    assert {k: (r["content_title"], r["receipts"], r["receipts_opened"], r["receipts_clicked"],
                float(r["open_rate"]), float(r["click_rate"])) for k, r in rows.items()} == {
        ("m1", "c1"): ("Welcome, friend", 3, 3, 1, 1.0, 0.3333),
        ("m1", "c2"): ("Welcome (B)", 1, 1, 1, 1.0, 1.0),
        ("m2", "c9"): ("Renewal", 1, 0, 0, 0.0, 0.0)}


def test_one_set_of_dbt_pins():
    """scripts/dbt_models.sh, scripts/e2e_setup.sh and meltano.yml's dbt utilities install the same dbt."""
    pins = {}
    for path in ("scripts/dbt_models.sh", "scripts/e2e_setup.sh"):
        text = (ROOT / path).read_text(encoding="utf-8")
        pins[path] = set(next(line for line in text.splitlines() if line.startswith(("DBT_PINS=", "DBT_PIN=")))
                         .split("=", 1)[1].strip('"').split())
    assert pins["scripts/dbt_models.sh"] == pins["scripts/e2e_setup.sh"]
    meltano = (ROOT / "meltano.yml").read_text(encoding="utf-8")
    for adapter in ("dbt-postgres", "dbt-duckdb"):
        line = next(line for line in meltano.splitlines() if line.strip().startswith("pip_url: dbt-core")
                    and adapter in line)
        assert set(line.split("#")[0].split(":", 1)[1].split()) <= pins["scripts/dbt_models.sh"], line
