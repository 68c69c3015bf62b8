"""The Reporting Data Export as streams report_<dataset>: the installed CLI against the emulator's export jobs.

Rows are checked against the emulator's truth after the runs are upserted on their keys, as a target would."""
import datetime
import gzip
import io
import json
import tarfile
import tempfile
import time

import pytest
import requests

from conftest import discover, killed_tap, run_tap, select_streams, tap_config
from intercom_emulator.reporting import DATASETS

from tap_intercom.errors import ExportError
from tap_intercom.reading.export_files import csv_files
from tap_intercom.records.report_columns import HASH_KEY, Columns

REPORTS = ["report_" + name for name in DATASETS]
TIME_COLUMNS = {"report_" + name: {a[0] for a in attrs if a[3] == "time"}
                for name, (_, _, _, attrs) in DATASETS.items()}


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
    catalog = discover(tmp_path, config)
    return select_streams(catalog, streams)


def normal(stream, record):
    """A row as comparable text: times as epoch seconds, numbers and text as text, nothing as None."""
    out = {}
    for column, value in record.items():
        if column == HASH_KEY or (column.endswith("__text") and value is None):
            continue
        if column.endswith("__text"):  # a value its column's type cannot hold
            out[column[:-len("__text")]] = value
            continue
        if column + "__text" in record and record[column + "__text"] is not None:
            continue
        if value is None:
            out[column] = None
        elif column in TIME_COLUMNS[stream]:
            out[column] = epoch(value) if isinstance(value, str) else value
        elif isinstance(value, float) and value.is_integer():
            out[column] = str(int(value))
        else:
            out[column] = str(value)
    return out


def upserted(runs, stream, key):
    """The table a target holds after loading `runs` in order, upserting on the stream's key."""
    table = {}
    for run in runs:
        for record in run.records(stream):
            row = normal(stream, record)
            table[tuple(record[k] for k in key) if key != [HASH_KEY] else json.dumps(row, sort_keys=True)] = row
    return table


def assert_matches_truth(emulator, runs, catalog, streams=REPORTS):
    keys = {entry["tap_stream_id"]: entry["key_properties"] for entry in catalog["streams"]}
    for stream in streams:
        truth = emulator.truth(stream)[stream]
        table = upserted(runs, stream, keys[stream])
        expected = {json.dumps(normal(stream, row), sort_keys=True) for row in truth}
        got = {json.dumps(row, sort_keys=True) for row in table.values()}
        assert got == expected, (stream, sorted(expected - got)[:3], sorted(got - expected)[:3])
        assert len(table) == len(truth), stream  # one row per key, none lost to a key collision


def enqueued(emulator, dataset):
    return [(start, end) for name, start, end in emulator._call("GET", "reporting")["enqueued"] if name == dataset]


def test_discovery_full_and_incremental_rows_equal_truth(tmp_path, workspace):
    emulator, config, clock = workspace
    catalog = report_catalog(tmp_path, config)
    entries = {e["tap_stream_id"]: e for e in catalog["streams"] if e["tap_stream_id"] in REPORTS}
    assert set(entries) == set(REPORTS)
    conversation = entries["report_conversation"]
    assert conversation["key_properties"] == ["conversation_id"]
    assert conversation["replication_key"] == "conversation_started_at"
    props = conversation["schema"]["properties"]
    assert props["conversation_started_at"]["format"] == "date-time"
    assert props["time_to_first_close"]["type"] == ["null", "number"]
    assert props["channel"]["type"] == ["null", "string"]
    assert "Brand" in props and "conversation.Brand" in props  # one id in two namespaces: two columns
    assert entries["report_conversation_state"]["key_properties"] == ["conversation_id", "state_started_at"]
    assert entries["report_admin_status_change"]["key_properties"] == ["teammate_id", "status_started_at"]
    assert entries["report_conversation_tag"]["key_properties"] == [HASH_KEY]

    first = run_tap(tmp_path, config, catalog=catalog)
    assert_matches_truth(emulator, [first], catalog)
    assert "'Amazing' is not a number; such values go to conversation_rating__text" in first.stderr
    assert [r["conversation_rating__text"] for r in first.records("report_conversation")
            if r.get("conversation_rating__text")] == ["Amazing"]
    bookmarks = first.state["bookmarks"]
    for stream in REPORTS:
        assert set(bookmarks[stream]) == {"updated_at"}  # finished: no export under way
    until = epoch(bookmarks["report_conversation"]["updated_at"])
    windows = enqueued(emulator, "conversation")
    assert windows[0][0] == clock - 11 * 86400 and windows[-1][1] == until
    assert all(b - a <= 86400 for a, b in windows) and all(w[1] == n[0] for w, n in zip(windows, windows[1:]))
    versions = emulator.stats()["versions"]
    assert set(versions) == {"2.14", "2.16"}  # every export call with 2.16, the rest as configured

    # rows describe current state: reopened conversations change their rows, new ones start
    reporting(emulator, reopen=3, add=4)
    before = len(enqueued(emulator, "conversation"))
    second = run_tap(tmp_path, config, catalog=catalog, state=first.state)
    assert_matches_truth(emulator, [first, second], catalog)
    again = enqueued(emulator, "conversation")[before:]
    assert again[0][0] == until - 3 * 86400  # the lookback, re-exported
    assert len(second.records("report_conversation")) < len(first.records("report_conversation"))


@pytest.mark.parametrize("fmt", ["gzip", "tgz"])
def test_each_download_format(tmp_path, workspace, fmt):
    emulator, config, _ = workspace
    reporting(emulator, format=fmt)
    catalog = report_catalog(tmp_path, config, ["report_conversation_state", "report_conversation"])
    run = run_tap(tmp_path, config, catalog=catalog)
    assert_matches_truth(emulator, [run], catalog, ["report_conversation_state", "report_conversation"])


def test_sixth_pending_job_429_is_waited_out(tmp_path, workspace):
    emulator, config, _ = workspace
    catalog = report_catalog(tmp_path, config, ["report_admin_status_change"])
    reporting(emulator, external_jobs={"count": 5, "seconds": 3})  # another app holds the workspace's 5 jobs
    run = run_tap(tmp_path, config, catalog=catalog)
    assert "export jobs already pending in the workspace" in run.stderr
    assert emulator.stats()["by_status"].get("429", 0) >= 1
    assert_matches_truth(emulator, [run], catalog, ["report_admin_status_change"])


def test_never_more_than_five_jobs_pending(tmp_path, workspace):
    """Four streams share the workspace's 5 pending jobs: the tap itself never meets the 429."""
    emulator, config, _ = workspace
    reporting(emulator, polls=4)
    catalog = report_catalog(tmp_path, config)
    run = run_tap(tmp_path, config, catalog=catalog)
    assert emulator.stats()["by_status"].get("429", 0) == 0
    assert_matches_truth(emulator, [run], catalog)


def test_failed_job_retried_once_then_only_its_stream_fails(tmp_path, workspace):
    emulator, config, _ = workspace
    catalog = report_catalog(tmp_path, config, ["report_conversation", "report_conversation_state"])
    reporting(emulator, fail_next={"conversation_state": 1})
    run = run_tap(tmp_path, config, catalog=catalog)
    assert "failed (job" in run.stderr and "enqueuing it once more" in run.stderr
    assert_matches_truth(emulator, [run], catalog, ["report_conversation", "report_conversation_state"])

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
    catalog = report_catalog(tmp_path, config, ["report_conversation", "report_conversation_state"])
    reporting(emulator, blank_keys=True)
    run = run_tap(tmp_path, config, catalog=catalog, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.count("a row without its key (conversation_id) is skipped") == 2  # once per stream
    windows = {stream: {(a, b) for a, b in enqueued(emulator, stream[len("report_"):])}
               for stream in ("report_conversation", "report_conversation_state")}
    files_with_rows = {"report_conversation": 0, "report_conversation_state": 0}
    truth = {s: emulator.truth(s)[s] for s in files_with_rows}
    time_of = {"report_conversation": "conversation_started_at", "report_conversation_state": "state_started_at"}
    for stream, rows in truth.items():
        files_with_rows[stream] = sum(1 for a, b in windows[stream] if any(a <= r[time_of[stream]] <= b for r in rows))
        assert len(run.records(stream)) == len(rows) - files_with_rows[stream]
    skipped = sum(files_with_rows.values())
    assert run.stderr.strip().splitlines()[-1] == f"tap-intercom: error: {skipped} record(s) skipped: they fit " \
                                                  "their schema in no way"
    assert set(run.state["bookmarks"]["report_conversation"]) == {"updated_at"}  # the run went on to its end


def test_killed_run_resumes_at_its_first_unfinished_window(tmp_path, workspace):
    emulator, config, _ = workspace
    catalog = report_catalog(tmp_path, config, ["report_conversation_state"])
    completed, messages = killed_tap(tmp_path, config, None, 60, catalog=catalog)
    assert not completed
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    bookmark = states[-1]["bookmarks"]["report_conversation_state"]
    assert "export_until" in bookmark and "updated_at" in bookmark  # some windows written, the run under way
    before = settled_count(emulator, "conversation_state")
    resumed = run_tap(tmp_path, config, catalog=catalog, state=states[-1])
    assert "resuming the export interrupted at" in resumed.stderr
    assert bookmark["export_from"] == bookmark["updated_at"]
    assert first_start(emulator, "conversation_state", before) == epoch(bookmark["updated_at"])  # no lookback
    assert set(resumed.state["bookmarks"]["report_conversation_state"]) == {"updated_at"}
    first = Killed(messages)
    assert_matches_truth(emulator, [first, resumed], catalog, ["report_conversation_state"])

    # killed again inside the next run's lookback: the bookmark stays, the resumed run re-exports what was owed
    completed, messages = killed_tap(tmp_path, config, resumed.state, 12, catalog=catalog)
    assert not completed
    state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    bookmark = state["bookmarks"]["report_conversation_state"]
    assert epoch(bookmark["export_from"]) < epoch(bookmark["updated_at"])
    before = settled_count(emulator, "conversation_state")
    again = run_tap(tmp_path, config, catalog=catalog, state=state)
    assert first_start(emulator, "conversation_state", before) == epoch(bookmark["export_from"])
    assert_matches_truth(emulator, [first, resumed, Killed(messages), again], catalog, ["report_conversation_state"])


def settled_count(emulator, dataset):
    """Jobs enqueued so far, once a killed tap's last request (the emulator may still be serving it) is in."""
    time.sleep(0.5)
    return len(enqueued(emulator, dataset))


def first_start(emulator, dataset, before):
    """Where the windows enqueued since `before` start."""
    return min(start for start, _ in enqueued(emulator, dataset)[before:])


class Killed:
    """The records a killed run wrote, as a TapRun offers them."""

    def __init__(self, messages):
        self.messages = messages

    def records(self, stream):
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]


def test_workspace_timezone_converts_times_to_utc(tmp_path, workspace):
    emulator, config, _ = workspace
    reporting(emulator, timezone="America/New_York")
    config = {**config, "workspace_timezone": "America/New_York"}
    catalog = report_catalog(tmp_path, config, ["report_conversation", "report_admin_status_change"])
    run = run_tap(tmp_path, config, catalog=catalog)
    assert_matches_truth(emulator, [run], catalog, ["report_conversation", "report_admin_status_change"])


def test_without_the_setting_nothing_changes(tmp_path, workspace):
    emulator, config, _ = workspace
    config = {k: v for k, v in config.items() if k != "reporting_datasets"}
    catalog = discover(tmp_path, config)
    assert not [e for e in catalog["streams"] if e["tap_stream_id"].startswith("report_")]
    assert not [e for e in emulator.stats()["by_endpoint"] if "reporting" in e]


def test_named_datasets_and_bad_settings(tmp_path, workspace):
    emulator, config, _ = workspace
    catalog = discover(tmp_path, {**config, "reporting_datasets": ["conversation", "nonexistent"]})
    assert [e["tap_stream_id"] for e in catalog["streams"] if e["tap_stream_id"].startswith("report_")] == \
        ["report_conversation"]
    for bad in ({"workspace_timezone": "Mars/Olympus"}, {"reporting_datasets": 5},
                {"reporting_lookback_days": -1}):
        run = run_tap(tmp_path, {**config, **bad}, args=["--discover"], check=False)
        assert run.returncode == 1 and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr


def test_emulator_export_protocol(workspace):
    """The emulator as the tests rely on it: 2.16's qualified ids, the 6th pending job's 429, the octet Accept."""
    emulator, _, clock = workspace
    session = requests.Session()
    session.headers.update({"Authorization": "Bearer test-token-5f2a9c", "Intercom-Version": "2.16"})
    listed = session.get(f"{emulator.url}/export/reporting_data/get_datasets").json()["data"]
    assert all("qualified_id" in a for d in listed for a in d["attributes"])
    old = session.get(f"{emulator.url}/export/reporting_data/get_datasets", headers={"Intercom-Version": "2.14"})
    assert not any("qualified_id" in a for d in old.json()["data"] for a in d["attributes"])
    body = {"dataset_id": "conversation", "attribute_ids": ["standard.conversation_id", "conversation_started_at"],
            "start_time": clock - 86400, "end_time": clock}
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
    assert data.startswith(b"conversation_id,conversation_started_at\n")
    assert session.post(f"{emulator.url}/export/reporting_data/enqueue", json=body).status_code == 200  # 4 pending


# ---- unit: the file's format, and times ----------------------------------------------------------------

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
    assert convert(["7", "2026-07-01 00:00:00", "991"]) == {"id": "7", "at": "2026-06-30T23:00:00.000000Z",
                                                            "extra_raw_id": "991"}
    assert convert(["", "2026-07-01 00:00:00", ""]) is None  # no key: skipped with an error line
