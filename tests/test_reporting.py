"""The Reporting Data Export as streams report_<dataset>: the installed CLI against the emulator's export jobs.

Rows are compared with the emulator's export cell for cell (text exactly, times as instants, numbers
numerically) after the runs are upserted on their keys, as a target would: one row per real row."""
import datetime
import gzip
import io
import json
import re
import signal
import subprocess
import tarfile
import tempfile
import zoneinfo

import pytest
import requests

from conftest import TAP, discover, run_tap, select_streams, tap_config, write_json
from intercom_emulator.reporting import DATASETS

from tap_intercom.errors import ExportError
from tap_intercom.reading.export_files import csv_files
from tap_intercom.records.report_columns import Columns, key_of, kind_by_name, match_header, number

REPORTS = ["report_" + name for name in DATASETS]


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat()


def epoch(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


@pytest.fixture
def workspace(make_emulator):
    emulator = make_emulator(seed=5, contacts=20, companies=3, conversations=3, tickets=2, activity_logs=5)
    clock = emulator.configure()["clock"]
    config = tap_config(emulator.url, start_date=iso(clock - 11 * 86400), reporting_datasets=["*"])
    return emulator, config, clock


def reporting(emulator, **settings):
    return emulator._call("POST", "reporting", settings)


def report_catalog(tmp_path, config, streams=REPORTS):
    return select_streams(discover(tmp_path, config), streams)


def entries_of(catalog):
    return {e["tap_stream_id"]: e for e in catalog["streams"] if e["tap_stream_id"].startswith("report_")}


class Table:
    """A stream's table as a target holds it after loading runs in order, upserting on the catalog's key; rows
    compared with the emulator's file cells by the catalog's types."""

    def __init__(self, entry, timezone="UTC"):
        self.entry, self.zone = entry, zoneinfo.ZoneInfo(timezone)
        self.key = entry["key_properties"]
        props = entry["schema"]["properties"]
        self.kinds = {c: "time" if p.get("format") == "date-time" else "number" if "number" in p["type"] else "text"
                      for c, p in props.items()}
        attributes = {tuple(m["breadcrumb"])[-1]: m["metadata"].get("intercom-attribute")
                      for m in entry["metadata"] if m["breadcrumb"]}
        # the truth names a cell by its attribute's qualified id, a column beside a name by its header
        self.cell_name = {c: (a["qualified_id"] if a else c) for c, a in attributes.items()}
        self.rows = {}

    def value(self, column, value):
        """A record's value or a file's cell as comparable: an instant, a number, the exact text; None for nothing."""
        if value is None or value == "":
            return None
        kind = self.kinds[column]
        if kind == "time":
            if "T" in value:
                return epoch(value)
            return int(datetime.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=self.zone).timestamp())
        if kind == "number":
            return float(value)
        assert isinstance(value, str), (column, value)  # text stays text, exactly as the file wrote it
        return value

    def load(self, records):
        for record in records:
            assert not [c for c in record if c.endswith("__text")], record
            row = {c: self.value(c, v) for c, v in record.items()}
            self.rows[tuple(row[k] for k in self.key)] = row
        return self

    def assert_equals(self, truth, stream, only_loaded=False):
        expected = {}
        for cells in truth:
            row = {c: self.value(c, cells[self.cell_name[c]]) for c in self.kinds}
            key = tuple(row[k] for k in self.key)
            assert key not in expected, f"{stream}: two real rows share the key {key}"
            expected[key] = row
        if only_loaded:  # the rows this table loaded, each as the file has it now
            expected = {key: row for key, row in expected.items() if key in self.rows}
        assert set(self.rows) == set(expected), (stream, sorted(set(expected) - set(self.rows))[:3],
                                                 sorted(set(self.rows) - set(expected))[:3])
        for key, row in expected.items():
            got = {c: self.rows[key].get(c) for c in row}
            assert got == row, (stream, key, {c: (got[c], row[c]) for c in row if got[c] != row[c]})


def assert_tables_equal_export(emulator, runs, catalog, streams=REPORTS, timezone="UTC"):
    entries = entries_of(catalog)
    for stream in streams:
        table = Table(entries[stream], timezone)
        for run in runs:
            table.load(run.records(stream))
        table.assert_equals(emulator.truth(stream)[stream], stream)


def enqueued(emulator, dataset):
    return [(start, end) for name, start, end in emulator._call("GET", "reporting")["enqueued"] if name == dataset]


# ---- discovery ----------------------------------------------------------------------------------------

def test_discovery_types_text_unless_intercom_says_otherwise_and_keys_from_the_dataset(tmp_path, workspace):
    emulator, config, _ = workspace
    catalog = discover(tmp_path, config)
    entries = entries_of(catalog)
    assert set(entries) == set(REPORTS)
    keys = {name: (e["key_properties"], e["metadata"][0]["metadata"]["intercom-key-rule"])
            for name, e in entries.items()}
    assert keys == {
        "report_conversation": (["conversation_id"], "entity"),
        "report_conversation_state": (["conversation_id", "conversation_state_started_at"], "log"),
        "report_admin_status_change": (["teammate_status_period_started_at", "teammate_status_id"], "interval"),
        "report_tickets": (["ticket_id"], "entity"),
        "report_ticket_time_in_state": (["ticket_id", "ticket_state_id"], "interval"),
    }
    conversation = entries["report_conversation"]
    assert conversation["replication_key"] == "conversation_started_at"
    props = conversation["schema"]["properties"]
    kinds = {c: p.get("format") or [t for t in p["type"] if t != "null"][0] for c, p in props.items()}
    assert kinds["conversation_started_at"] == kinds["conversation_first_closed_at"] == "date-time"
    assert kinds["time_to_first_close"] == kinds["number_of_reopens"] == "number"  # Intercom's durations, counts
    assert kinds["time_to_first_close_in_office_hours"] == "number"
    for text in ("conversation_id", "channel", "conversation_rating", "currently_assigned_team_id",
                 "Account Number", "# bookkeeping clients", "Brand", "conversation.Brand"):
        assert kinds[text] == "string", text  # custom attributes whatever their name; ratings; names in *_id
    # a custom attribute named like a count: its sample holds "07", which no number prints back
    assert kinds["number_of_seats"] == "string"
    # the ids beside names, seen in the sample file, are columns of the catalog
    assert kinds["currently_assigned_team_raw_id"] == kinds["currently_assigned_teammate_raw_id"] == "string"
    state = entries["report_conversation_state"]["schema"]["properties"]
    assert state["time_in_conversation_state"]["type"] == ["null", "number"]  # a `duration.` attribute
    assert "ticket" not in {e["metadata"][0]["metadata"]["intercom-dataset"] for e in entries.values()}
    assert not [c for e in entries.values() for c in e["schema"]["properties"] if c.endswith("__text")]
    # one sample job per dataset, asked for with 2.16's qualified ids
    assert len(emulator._call("GET", "reporting")["enqueued"]) == len(DATASETS)


# ---- rows ---------------------------------------------------------------------------------------------

def test_full_then_lookback_run_rows_equal_the_export_one_per_real_row(tmp_path, workspace):
    emulator, config, clock = workspace
    catalog = report_catalog(tmp_path, config)
    first = run_tap(tmp_path, config, catalog=catalog)
    assert_tables_equal_export(emulator, [first], catalog)
    records = first.records("report_conversation")
    assert {r["Account Number"] for r in records} >= {"077109", "AC-814", "1e5", "000", "4.50"}  # as written
    assert "07" in {r["number_of_seats"] for r in records}
    bookmarks = first.state["bookmarks"]
    for stream in REPORTS:
        assert set(bookmarks[stream]) == {"updated_at"}  # finished: no export under way
    until = epoch(bookmarks["report_conversation"]["updated_at"])
    windows = enqueued(emulator, "conversation")[1:]  # after discovery's sample
    assert windows[0][0] == clock - 11 * 86400 and windows[-1][1] == until
    assert all(b - a <= 86400 for a, b in windows) and all(w[1] == n[0] for w, n in zip(windows, windows[1:]))
    assert set(emulator.stats()["versions"]) == {"2.14", "2.16"}  # every export call with 2.16

    # between the runs, states and status periods under way end, closed conversations reopen, new ones start
    open_states = [r for r in emulator.truth("report_conversation_state")["report_conversation_state"]
                   if r["timestamp.conversation_state_ended_at"] == ""]
    reporting(emulator, advance=3, reopen=2, add=3)
    changed = [r for r in emulator.truth("report_conversation_state")["report_conversation_state"]
               if r["timestamp.conversation_state_ended_at"] == ""]
    assert len([r for r in open_states if r not in changed]) >= 3  # some intervals closed
    before = len(enqueued(emulator, "conversation"))
    second = run_tap(tmp_path, config, catalog=catalog, state=first.state)
    again = enqueued(emulator, "conversation")[before:]
    assert again[0][0] == until - 3 * 86400  # the lookback, re-exported
    assert_tables_equal_export(emulator, [first, second], catalog)  # replaced, not doubled
    reopened = [r for r in second.records("report_conversation") if r["number_of_reopens"]]
    assert reopened


@pytest.mark.parametrize("fmt", ["gzip", "tgz"])
def test_each_download_format(tmp_path, workspace, fmt):
    emulator, config, _ = workspace
    reporting(emulator, format=fmt)
    streams = ["report_conversation_state", "report_conversation"]
    catalog = report_catalog(tmp_path, config, streams)
    run = run_tap(tmp_path, config, catalog=catalog)
    assert_tables_equal_export(emulator, [run], catalog, streams)


def test_workspace_timezone_converts_times_to_utc(tmp_path, workspace):
    emulator, config, _ = workspace
    reporting(emulator, timezone="America/New_York")
    config = {**config, "workspace_timezone": "America/New_York"}
    streams = ["report_conversation", "report_admin_status_change"]
    catalog = report_catalog(tmp_path, config, streams)
    run = run_tap(tmp_path, config, catalog=catalog)
    assert_tables_equal_export(emulator, [run], catalog, streams, timezone="America/New_York")


def test_a_number_column_that_meets_text_stops_its_stream_and_changes_no_value(tmp_path, workspace):
    """A cell discovery's sample did not see: the stream stops before its window (others go on), and once the
    column is made text in the catalog the next run writes the cell as the file has it."""
    emulator, config, _ = workspace
    streams = ["report_conversation", "report_tickets"]
    catalog = report_catalog(tmp_path, config, streams)
    reporting(emulator, set_cell={"dataset": "conversation", "attribute": "duration.time_to_first_teammate_reply",
                                  "value": "0123"})
    run = run_tap(tmp_path, config, catalog=catalog, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-intercom: error: report_conversation failed:") and \
        "column time_to_first_teammate_reply is typed number in the catalog but holds '0123'" in last
    assert not [r for r in run.records("report_conversation") if r["time_to_first_teammate_reply"] == 123]
    assert set(run.state["bookmarks"]["report_tickets"]) == {"updated_at"}  # the other stream went on
    assert "export_until" in run.state["bookmarks"]["report_conversation"]  # its run resumes there

    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "report_conversation":
            entry["schema"]["properties"]["time_to_first_teammate_reply"] = {"type": ["null", "string"]}
    again = run_tap(tmp_path, config, catalog=catalog, state=run.state)
    assert "0123" in {r["time_to_first_teammate_reply"] for r in again.records("report_conversation")}
    table = Table(entries_of(catalog)["report_conversation"]).load(again.records("report_conversation"))
    table.assert_equals(emulator.truth("report_conversation")["report_conversation"], "report_conversation",
                        only_loaded=True)


def test_without_a_catalog_columns_are_typed_by_name_and_a_code_stops_its_stream(tmp_path, workspace):
    """A sync without --catalog types report columns from get_datasets alone (no sample: a table's types must
    not change from one run to the next): `number_of_seats` is a number until its "07" stops the stream."""
    emulator, config, _ = workspace
    run = run_tap(tmp_path, {**config, "reporting_datasets": ["conversation", "tickets"]}, check=False)
    assert run.returncode == 1
    assert "column number_of_seats is typed number in the catalog but holds" in run.stderr
    assert run.records("report_tickets") and "updated_at" in run.state["bookmarks"]["report_tickets"]
    assert len(enqueued(emulator, "conversation")) >= 1 and not enqueued(emulator, "admin_status_change")


# ---- the job protocol ---------------------------------------------------------------------------------

def test_sixth_pending_job_429_is_waited_out(tmp_path, workspace):
    emulator, config, _ = workspace
    catalog = report_catalog(tmp_path, config, ["report_admin_status_change"])
    reporting(emulator, external_jobs={"count": 5, "refusals": 2})  # another app's 5 jobs, for 2 of our tries
    run = run_tap(tmp_path, config, catalog=catalog)
    assert "export jobs already pending in the workspace" in run.stderr
    assert emulator.stats()["by_status"].get("429", 0) >= 1
    assert_tables_equal_export(emulator, [run], catalog, ["report_admin_status_change"])


def test_never_more_than_five_jobs_pending(tmp_path, workspace):
    """Five streams share the workspace's 5 pending jobs: the tap itself never meets the 429."""
    emulator, config, _ = workspace
    reporting(emulator, polls=4)
    catalog = report_catalog(tmp_path, config)
    run = run_tap(tmp_path, config, catalog=catalog)
    assert emulator.stats()["by_status"].get("429", 0) == 0
    assert_tables_equal_export(emulator, [run], catalog)


def test_failed_job_retried_once_then_only_its_stream_fails(tmp_path, workspace):
    emulator, config, _ = workspace
    streams = ["report_conversation", "report_conversation_state"]
    catalog = report_catalog(tmp_path, config, streams)
    reporting(emulator, fail_next={"conversation_state": 1})
    run = run_tap(tmp_path, config, catalog=catalog)
    assert "failed (job" in run.stderr and "enqueuing it once more" in run.stderr
    assert_tables_equal_export(emulator, [run], catalog, streams)

    reporting(emulator, fail_next={"conversation": -1})  # every job: the retry fails too
    failed = run_tap(tmp_path, config, catalog=catalog, state=run.state, check=False)
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-intercom: error: report_conversation failed: the export job of report_conversation")
    assert "failed twice" in last and "Traceback" not in failed.stderr
    assert failed.records("report_conversation_state")  # the other stream went on
    bookmarks = failed.state["bookmarks"]
    assert "export_until" in bookmarks["report_conversation"]  # its run is unfinished: the next one resumes it
    assert "export_until" not in bookmarks["report_conversation_state"]


def test_garbage_download_fails_the_stream_with_one_line(tmp_path, workspace):
    emulator, config, _ = workspace
    catalog = report_catalog(tmp_path, config, ["report_conversation"])
    reporting(emulator, garbage_next=1)
    run = run_tap(tmp_path, config, catalog=catalog, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("tap-intercom: error:")]
    assert len(errors) == 1 and "is neither CSV, gzip nor tar.gz" in errors[0]
    assert "updated_at" not in run.state["bookmarks"].get("report_conversation", {})


def test_a_row_without_its_key_is_skipped_and_said(tmp_path, workspace):
    emulator, config, _ = workspace
    streams = ["report_conversation", "report_conversation_state"]
    catalog = report_catalog(tmp_path, config, streams)
    before = {s: len(enqueued(emulator, s[len("report_"):])) for s in streams}
    reporting(emulator, blank_keys=True)
    run = run_tap(tmp_path, config, catalog=catalog, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.count("a row without its key (conversation_id) is skipped") == 2  # once per stream
    time_of = {"report_conversation": "timestamp.conversation_started_at",
               "report_conversation_state": "timestamp.conversation_state_started_at"}
    skipped = 0
    for stream in streams:
        windows = enqueued(emulator, stream[len("report_"):])[before[stream]:]
        table = Table(entries_of(catalog)[stream])
        starts = [table.value(time_of[stream].split(".")[1], row[time_of[stream]])
                  for row in emulator.truth(stream)[stream]]
        with_rows = sum(1 for a, b in windows if any(a <= t <= b for t in starts))
        assert len(run.records(stream)) == len(starts) - with_rows
        skipped += with_rows
    assert run.stderr.strip().splitlines()[-1] == f"tap-intercom: error: {skipped} record(s) skipped: they fit " \
                                                  "their schema in no way"
    assert set(run.state["bookmarks"]["report_conversation"]) == {"updated_at"}  # the run went on to its end


# ---- killed and resumed -------------------------------------------------------------------------------

def killed_after_state(tmp_path, config, catalog, state, states):
    """Run the tap and SIGKILL it right after its `states`-th STATE line: (whether it completed first, the
    records a target committed (those before the last STATE), that STATE)."""
    cmd = [TAP, "--config", write_json(tmp_path, "config.json", config),
           "--catalog", write_json(tmp_path, "catalog.json", catalog)]
    if state is not None:
        cmd += ["--state", write_json(tmp_path, "state.json", state)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    messages, seen = [], 0
    for line in proc.stdout:
        messages.append(json.loads(line))
        if messages[-1]["type"] == "STATE":
            seen += 1
            if seen >= states:
                proc.send_signal(signal.SIGKILL)
                break
    proc.stdout.close()
    completed = proc.wait(timeout=300) == 0
    last = max((i for i, m in enumerate(messages) if m["type"] == "STATE"), default=-1)
    kept = messages if completed else messages[:last + 1]
    return completed, Kept([m for m in kept if m["type"] == "RECORD"]), messages[last]["value"] if last >= 0 else state


class Kept:
    """The records a target committed, as a TapRun offers them."""

    def __init__(self, records):
        self.messages = records

    def records(self, stream):
        return [m["record"] for m in self.messages if m["stream"] == stream]


def test_killed_run_resumes_at_its_first_unfinished_window(tmp_path, workspace):
    emulator, config, _ = workspace
    stream = "report_conversation_state"
    catalog = report_catalog(tmp_path, config, [stream])
    completed, first, state = killed_after_state(tmp_path, config, catalog, None, 5)
    assert not completed
    bookmark = state["bookmarks"][stream]
    assert "export_until" in bookmark and "updated_at" in bookmark  # some windows written, the run under way
    assert bookmark["export_from"] == bookmark["updated_at"]
    before = len(enqueued(emulator, "conversation_state"))
    resumed = run_tap(tmp_path, config, catalog=catalog, state=state)
    assert "resuming the export interrupted at" in resumed.stderr
    # the windows enqueued since (a killed tap's job may still land: only starts from the bookmark on count)
    starts = [start for start, _ in enqueued(emulator, "conversation_state")[before:]]
    assert min(starts) == epoch(bookmark["updated_at"])  # no lookback, no window before the bookmark
    assert set(resumed.state["bookmarks"][stream]) == {"updated_at"}
    assert_tables_equal_export(emulator, [first, resumed], catalog, [stream])

    # intervals end between runs; killed again inside the next run's lookback: the bookmark stays, the resumed
    # run re-exports what was owed, and every changed row replaces its earlier version
    reporting(emulator, advance=3, reopen=2)
    completed, second, state = killed_after_state(tmp_path, config, catalog, resumed.state, 3)
    assert not completed
    bookmark = state["bookmarks"][stream]
    assert epoch(bookmark["export_from"]) < epoch(bookmark["updated_at"])
    before = len(enqueued(emulator, "conversation_state"))
    again = run_tap(tmp_path, config, catalog=catalog, state=state)
    assert min(start for start, _ in enqueued(emulator, "conversation_state")[before:]) == \
        epoch(bookmark["export_from"])
    assert_tables_equal_export(emulator, [first, resumed, second, again], catalog, [stream])


# ---- settings -----------------------------------------------------------------------------------------

def test_without_the_setting_nothing_changes(tmp_path, workspace):
    emulator, config, _ = workspace
    config = {k: v for k, v in config.items() if k != "reporting_datasets"}
    catalog = discover(tmp_path, config)
    assert not [e for e in catalog["streams"] if e["tap_stream_id"].startswith("report_")]
    assert not [e for e in emulator.stats()["by_endpoint"] if "reporting" in e]


def test_named_datasets_and_bad_settings(tmp_path, workspace):
    emulator, config, _ = workspace
    catalog = discover(tmp_path, {**config, "reporting_datasets": ["conversation", "ticket", "ticket_state"]})
    assert [e["tap_stream_id"] for e in catalog["streams"] if e["tap_stream_id"].startswith("report_")] == \
        ["report_conversation"]  # there is no `ticket` or `ticket_state` dataset: the real one is `tickets`
    for bad in ({"workspace_timezone": "Mars/Olympus"}, {"reporting_datasets": 5},
                {"reporting_lookback_days": -1}):
        run = run_tap(tmp_path, {**config, **bad}, args=["--discover"], check=False)
        assert run.returncode == 1 and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr


def test_emulator_export_protocol(workspace):
    """The emulator as the tests rely on it: 2.16's qualified ids, plain ids as headers, display names for
    custom attributes (one name twice), the 6th pending job's 429, the octet Accept."""
    emulator, _, clock = workspace
    session = requests.Session()
    session.headers.update({"Authorization": "Bearer test-token-5f2a9c", "Intercom-Version": "2.16"})
    listed = session.get(f"{emulator.url}/export/reporting_data/get_datasets").json()["data"]
    assert all("qualified_id" in a for d in listed for a in d["attributes"])
    assert [d["id"] for d in listed] == list(DATASETS)
    old = session.get(f"{emulator.url}/export/reporting_data/get_datasets", headers={"Intercom-Version": "2.14"})
    assert not any("qualified_id" in a for d in old.json()["data"] for a in d["attributes"])
    body = {"dataset_id": "conversation", "attribute_ids": ["standard.conversation_id", "conversation_started_at",
                                                            "team.currently_assigned_team_id", "people.Brand",
                                                            "conversation.Brand"],
            "start_time": clock - 10 * 86400, "end_time": clock}
    jobs = [session.post(f"{emulator.url}/export/reporting_data/enqueue", json=body) for _ in range(6)]
    assert [j.status_code for j in jobs] == [200] * 5 + [429]
    assert jobs[5].json()["errors"][0]["message"] == "Exceeded rate limit of 5 pending reporting dataset export jobs"
    job = jobs[0].json()["job_identifier"]
    assert jobs[0].json()["status"] == "pending"
    statuses = [session.get(f"{emulator.url}/export/reporting_data/{job}").json()["status"] for _ in range(2)]
    assert statuses == ["pending", "complete"]
    assert session.get(f"{emulator.url}/download/reporting_data/{job}").status_code == 406
    data = session.get(f"{emulator.url}/download/reporting_data/{job}",
                       headers={"Accept": "application/octet-stream"}).content
    assert data.startswith(b"conversation_id,conversation_started_at,currently_assigned_team_id,"
                           b"currently_assigned_team_raw_id,Brand,Brand\n")
    assert b",Unassigned,," in data  # a name in an *_id column, no id beside it
    assert session.post(f"{emulator.url}/export/reporting_data/enqueue", json=body).status_code == 200  # 4 pending


# ---- unit: the rules, the file's format, and times ------------------------------------------------------

def test_a_number_is_a_cell_that_prints_back_to_its_text():
    assert [number(t) for t in ("0", "77109", "-3", "12.5", "1234567890123456789")] == \
        [0, 77109, -3, 12.5, 1234567890123456789]
    for text in ("077109", "AC-814", "1e5", "12.50", "+5", "-0", "1_000", "nan", "inf", " 5", "0x1f", ""):
        with pytest.raises(ValueError):
            number(text)


def test_kinds_by_what_intercom_says():
    def kind(ident, prefix="standard", time_attribute="conversation_started_at", header=None):
        return kind_by_name({"id": ident, "qualified_id": f"{prefix}.{ident}"}, time_attribute, header)

    assert kind("conversation_started_at") == kind("ticket_last_resolved_at") == "time"
    assert kind("anything", "timestamp") == "time"
    assert kind("time_to_first_close") == kind("ticket_time_to_resolve") == kind("handling_seconds") == "number"
    assert kind("count_reopens") == kind("number_of_reopens") == kind("reopen_count") == "number"
    assert kind("time_in_state", "duration") == "number"
    for text in ("account_number", "discount_code", "conversation_rating", "currently_assigned_team_id",
                 "number_ofx", "accounted_seconds_note"):
        assert kind(text) == "text", text
    assert kind("Account Number", "conversation") == kind("Renewal at", "people") == "text"  # custom attributes
    assert kind("count_seats", "conversation", header="Seats") == "text"  # the file heads it by a display name
    assert kind_by_name({"id": "count_seats", "qualified_id": "conversation.Seat count"}, None) == "text"


def test_keys_of_each_known_dataset():
    """docs/REPORTS.md's table of keys: each dataset id of API-NOTES section 11 with its rule (columns as
    section 11 names them, or as they would be named)."""
    def key(dataset, columns, time_column):
        return key_of(dataset, [(c, True) for c in columns], time_column)

    assert key("conversation", ["conversation_id", "conversation_started_at", "currently_assigned_team_id",
                                "currently_assigned_team_raw_id"], "conversation_started_at") == \
        (("conversation_id",), "entity")
    assert key("conversation_state", ["conversation_state", "conversation_state_started_at",
                                      "conversation_state_ended_at", "conversation_id",
                                      "currently_assigned_teammate_id"], "conversation_state_started_at") == \
        (("conversation_id", "conversation_state_started_at"), "log")
    assert key("admin_status_change", ["teammate_status_period_started_at", "teammate_status_period_ended_at",
                                       "teammate_away_reason", "teammate_status_id", "teammate_status"],
               "teammate_status_period_started_at") == \
        (("teammate_status_period_started_at", "teammate_status_id"), "interval")
    assert key("tickets", ["ticket_id", "ticket_created_at"], "ticket_created_at") == (("ticket_id",), "entity")
    assert key("ticket_time_in_state", ["ticket_id", "ticket_created_at", "ticket_state_id"], "ticket_created_at") \
        == (("ticket_id", "ticket_state_id"), "interval")  # the ticket's time is shared by its states' rows
    assert key("call", ["call_id", "call_started_at"], "call_started_at") == (("call_id",), "entity")
    assert key("call_teammate_stats", ["call_id", "teammate_id", "teammate_raw_id", "call_started_at"],
               "call_started_at") == (("call_id", "teammate_raw_id"), "interval")
    assert key("teammate_handling_conversation", ["teammate_id", "teammate_raw_id", "conversation_id",
                                                  "handling_started_at"], "handling_started_at") == \
        (("conversation_id", "teammate_raw_id", "handling_started_at"), "log")
    assert key("conversation_sla_status_log", ["conversation_id", "sla_status_changed_at"],
               "sla_status_changed_at") == (("conversation_id", "sla_status_changed_at"), "log")
    assert key("consolidated_conversation_part", ["conversation_id", "conversation_part_id", "action_time"],
               "action_time") == (("conversation_part_id", "action_time"), "log")
    assert key("conversation_rating_sent", ["conversation_id", "rating_sent_at"], "rating_sent_at") == \
        (("conversation_id", "rating_sent_at"), "log")
    assert key("copilot_prompt_response_pair", ["conversation_id", "prompt_sent_at"], "prompt_sent_at") == \
        (("prompt_sent_at", "conversation_id"), "interval")
    # custom attributes never key a row; nothing at all: the row's hash, said in a warning
    assert key_of("x", [("Account Number", False)], None) == (("_row_hash",), "row")


def test_header_cells_matched_to_attributes_none_lost():
    attributes = [("Brand", {"id": "Brand", "qualified_id": "people.Brand", "name": "Brand"}),
                  ("conversation.Brand", {"id": "Brand", "qualified_id": "conversation.Brand", "name": "Brand"}),
                  ("currently_assigned_team_id", {"id": "currently_assigned_team_id"})]
    matched = match_header(["Brand", "Brand", "currently_assigned_team_id", "currently_assigned_team_raw_id",
                            "extra", "extra"], attributes)
    assert [name for name, _ in matched] == ["Brand", "conversation.Brand", "currently_assigned_team_id",
                                              "currently_assigned_team_raw_id", "extra", "extra__2"]


CSV = b"conversation_id,state\n1,open\n2,\n"


def rows_of(data):
    with tempfile.TemporaryFile() as spool:
        spool.write(data)
        return [(header, list(rows)) for header, rows in csv_files(spool, "test")]


def tar_of(files, compressed=True):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz" if compressed else "w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_formats_told_apart_by_their_first_bytes():
    expected = [(["conversation_id", "state"], [["1", "open"], ["2", ""]])]
    assert rows_of(CSV) == expected
    assert rows_of(b"\xef\xbb\xbf" + CSV) == expected  # a byte order mark
    assert rows_of(gzip.compress(CSV)) == expected
    assert rows_of(tar_of({"a.csv": CSV, "b.csv": CSV})) == expected * 2
    assert rows_of(tar_of({"a.csv": CSV}, compressed=False)) == expected
    assert rows_of(b"") == []
    for garbage in (b"\x00\x01\x02binary", b'{"type":"error.list"}', b"<html>oops</html>", b"\xff\xfe\xfa"):
        with pytest.raises(ExportError):
            rows_of(garbage)
    with pytest.raises(ExportError):
        rows_of(b"\x1f\x8b\x08broken gzip")


class _Selection:
    def __init__(self, requested):
        from tap_intercom.streams import Source, Stream

        self.stream = Stream("report_x", None, ("id",), Source("report_x", "x", "", "export"), "at")
        self.schema = {"properties": {"id": {"type": ["string"]},
                                      "at": {"type": ["null", "string"], "format": "date-time"}}}
        self.fields = frozenset(self.schema["properties"])
        self.metadata = {("properties", name): {"intercom-attribute": {"id": name}} for name in requested}


def test_times_from_the_workspace_timezone_to_utc():
    columns = Columns(_Selection(["id", "at"]), "Europe/Dublin")
    assert columns.to_utc("2026-07-01 10:30:15") == "2026-07-01T09:30:15.000000Z"  # summer time
    assert columns.to_utc("2026-01-15 10:30") == "2026-01-15T10:30:00.000000Z"  # winter, minutes only
    assert columns.to_utc("2026-01-15T10:30:00+02:00") == "2026-01-15T08:30:00.000000Z"  # an explicit offset wins
    assert columns.to_utc("2026-07-01") == "2026-06-30T23:00:00.000000Z"  # a date: its local midnight
    assert columns.to_utc("1782900000") == "2026-07-01T10:00:00.000000Z"  # epoch seconds are UTC already
    convert = columns.converter(["id", "at", "extra_raw_id"], "test")
    assert convert(["007", "2026-07-01 00:00:00", "991"]) == {"id": "007", "at": "2026-06-30T23:00:00.000000Z",
                                                              "extra_raw_id": "991"}
    assert convert(["", "2026-07-01 00:00:00", ""]) is None  # no key: skipped with an error line


def test_docs_table_of_keys_lists_every_known_dataset():
    """docs/REPORTS.md names a rule and a key for each dataset id of API-NOTES section 11, and no other."""
    from conftest import ROOT

    section = (ROOT / "docs" / "REPORTS.md").read_text().split("## Keys", 1)[1].split("\n## ", 1)[0]
    listed = [m.group(1) for m in re.finditer(r"^\| `([a-z_]+)` \|", section, re.M)]
    assert listed == ["conversation", "conversation_state", "admin_status_change", "consolidated_conversation_part",
                      "conversation_rating_sent", "conversation_sla_status_log", "teammate_handling_conversation",
                      "tickets", "ticket_time_in_state", "call", "call_team_stats", "call_teammate_stats",
                      "copilot_prompt_response_pair"]
