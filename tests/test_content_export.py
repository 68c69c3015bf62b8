"""The content data export as streams message_receipts, message_events and message_checkpoints: the installed CLI
against the emulator's export jobs (intercom_emulator/content_export.py).

Rows are compared with the emulator's files (its truth: what an export of the same range holds) after the runs are
upserted on their keys, as a target would."""
import datetime
import gzip
import io
import json
import random
import zipfile

import pytest

from conftest import discover, killed_tap, run_tap, select_streams, tap_config
from tap_intercom.errors import ExportError
from tap_intercom.reading import archives
from tap_intercom.reading.content_export import split, statistic
from tap_intercom.streams import STREAMS_BY_NAME

MESSAGES = ["message_receipts", "message_events", "message_checkpoints"]
DAY = 86400


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat()


def epoch(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def export_control(emulator, **settings):
    return emulator._call("POST", "content_export", settings)


def truth(emulator, stream, after=None):
    query = f"truth?stream={stream}" + (f"&after={after}" if after is not None else "")
    return emulator._call("GET", query)


@pytest.fixture
def workspace(make_emulator):
    emulator = make_emulator(seed=5, contacts=20, companies=3, conversations=3, tickets=2, activity_logs=5)
    export_control(emulator, polls=1)
    clock = emulator.configure()["clock"]
    config = tap_config(emulator.url, start_date=iso(clock - 31 * DAY))
    return emulator, config, clock


@pytest.fixture
def catalog(tmp_path, workspace):
    return select_streams(discover(tmp_path, workspace[1]), MESSAGES)


def normal(record):
    """A row as comparable text: times as epoch seconds, nothing (null or empty) left out, other values as text."""
    out = {}
    for column, value in record.items():
        if value is None or value == "":
            continue
        if column in ("received_at", "occurred_at", "created_at", "last_processed_at", "expires_at") or \
                column.startswith("first_"):
            value = epoch(value) if isinstance(value, str) else value
        out[column] = str(value)
    if "event" in out:  # the emulator's rows have no detail: what tells two events of a receipt apart
        out.setdefault("detail", " ".join(out[c] for c in ("url", "step_id", "question_id") if c in out) or "-")
    return out


def key_of(stream, row):
    return tuple(row.get(k, "") for k in STREAMS_BY_NAME[stream].key)


def upserted(runs, stream):
    """The table a target holds after loading `runs` in order, upserting on the stream's key."""
    table = {}
    for records in runs:
        for record in records.get(stream, ()):
            row = normal(record)
            table[key_of(stream, row)] = row
    return table


def records_of(run):
    return {stream: run.records(stream) for stream in MESSAGES}


def expected(emulator, stream, after=None):
    return {key_of(stream, row): row for row in map(normal, truth(emulator, stream, after))}


def assert_tables_equal_truth(emulator, runs, streams=MESSAGES):
    for stream in streams:
        want, got = expected(emulator, stream), upserted(runs, stream)
        assert len(want) == len(truth(emulator, stream)), f"{stream}: the emulator's keys repeat"
        assert got == want, (stream, [want.get(k) for k in set(want) ^ set(got)][:3],
                             [got.get(k) for k in set(want) ^ set(got)][:3])


def enqueued(emulator):
    return emulator._call("GET", "content_export")["enqueued"]


# ---- units ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, stat", [
    ("receipt_20251121.csv", "receipt"), ("receipts_20240625-101500.csv", "receipt"),
    ("open_20251121.csv", "open"), ("opens_20240625-101500.csv", "open"), ("export/replies_20240625-101500.csv", "reply"),
    ("goal_successes_20240625-101500.csv", "goal_success"), ("fin_steps_reached_20240625.csv", "fin_step_reached"),
    ("hard_bounce_20251121.csv", "hard_bounce"), ("series_disengagements_20240625-101500.csv", "series_disengagement"),
    ("answers_combined_20240625-101500.csv", "answer_combined"), ("tour_step_views.csv", "tour_step_view"),
    ("button_taps_20251121.csv", "button_tap"), ("whatsapp_failure_20251121.csv", "whatsapp_failure"),
])
def test_statistic_of_a_file_name(name, stat):
    assert statistic(name) == stat


def test_split_cuts_whole_days_and_overlaps_by_the_lookback():
    start, end = 1_700_000_000, 1_700_000_000 + 9 * DAY + 5
    first, second = split((start, end))
    assert first[0] == start and second[1] == end and second[0] == first[1] + 1 and second[0] % DAY == 0
    first, second = split((start, end), 2 * DAY)
    assert second[0] == first[1] + 1 - 2 * DAY
    first, second = split((start, end), 30 * DAY)  # never the whole range again: it shrinks by a day at least
    assert second[0] == start - start % DAY + DAY


def test_archives_by_their_bytes(tmp_path):
    text = b'receipt_id,content_title\r\n1,"Hello, ""you"""\r\n'
    forms = {}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("receipt_20251121.csv", text)
    forms["zip"] = out.getvalue()
    out = io.BytesIO()
    with gzip.GzipFile(filename="receipts_20240625-101500.csv", mode="wb", fileobj=out) as g:
        g.write(text)
    forms["gz"] = out.getvalue()
    forms["gzip of a zip"] = gzip.compress(forms["zip"])
    forms["csv"] = text
    for form, data in forms.items():
        spool = tmp_path / form
        spool.write_bytes(data)
        with open(spool, "rb") as handle:
            got = [(name, header, list(rows)) for name, header, rows in archives.tables(handle, form)]
        assert [(h, r) for _, h, r in got] == [(["receipt_id", "content_title"], [["1", 'Hello, "you"']])], form
        assert got[0][0] in ("receipt_20251121.csv", "receipts_20240625-101500.csv", None)
    spool = tmp_path / "bad"
    spool.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(600))
    with open(spool, "rb") as handle, pytest.raises(ExportError, match="neither a ZIP"):
        list(archives.tables(handle, "bad"))


# ---- the CLI against the emulator -------------------------------------------------------------------------------

def test_not_selected_by_default_and_in_every_catalog(tmp_path, workspace):
    catalog = discover(tmp_path, workspace[1])
    entries = {e["tap_stream_id"]: e for e in catalog["streams"]}
    for stream in MESSAGES:
        assert entries[stream]["metadata"][0]["metadata"]["selected-by-default"] is False
    assert entries["message_events"]["key_properties"] == ["receipt_id", "event", "occurred_at", "detail"]
    run = run_tap(tmp_path, workspace[1], args=())  # no catalog: every stream selected by default, not these
    assert not set(MESSAGES) & run.streams() and enqueued(workspace[0]) == []


def test_full_run_then_later_engagement(tmp_path, workspace, catalog):
    emulator, config, clock = workspace
    first = run_tap(tmp_path, config, catalog=catalog)
    assert_tables_equal_truth(emulator, [records_of(first)])
    assert len(enqueued(emulator)) == 1  # one job for the whole span
    events = first.records("message_events")
    assert {e["event"] for e in events} >= {"open", "click", "answer", "tour_step_view", "reply", "completion"}
    titles = {r["content_title"] for r in first.records("message_receipts")}
    assert 'Spring "sale": 20% off, today only' in titles and "Product update\nMarch" in titles
    assert "-1" in {r["company_id"] for r in first.records("message_receipts")}
    assert "overview" in first.stderr and "left out" in first.stderr
    bookmark = epoch(first.state["bookmarks"]["message_receipts"]["updated_at"])
    assert set(first.state["bookmarks"]["message_receipts"]) == {"updated_at"}  # finished: no run under way

    # Opens and clicks now, of messages sent in the last 7 days; new messages sent; and opens of messages sent
    # 20+ days ago, which no export of the lookback covers (the documented limit).
    export_control(emulator, engage=6, engage_days=5, send=3)  # inside the lookback
    old = export_control(emulator, engage_old=2, engage_days=20)
    assert old["events"] > 0
    second = run_tap(tmp_path, config, catalog=catalog, state=first.state)
    after, _ = enqueued(emulator)[-1]
    assert after == bookmark - 7 * DAY  # the lookback
    assert_tables_equal_truth_except_old(emulator, [records_of(first), records_of(second)], after)


def assert_tables_equal_truth_except_old(emulator, runs, after):
    """Every row equals the emulator's, but for late engagement on messages sent before the lookback's range."""
    recent = expected(emulator, "message_receipts", after)
    for stream in MESSAGES:
        want, got = expected(emulator, stream), upserted(runs, stream)
        missing = set(want) - set(got)
        assert not set(got) - set(want), stream
        if stream == "message_events":
            assert missing and all(want[k]["event"] in ("open", "click") and (k[0],) not in recent for k in missing)
        else:
            assert not missing, stream
        differ = [k for k in want if k in got and got[k] != want[k]]
        if stream == "message_receipts":  # first_open / first_click of those old messages: not updated
            assert all(k not in recent for k in differ)
            assert all(set(want[k]) - set(got[k]) <= {"first_open", "first_click"} for k in differ)
        else:
            assert not differ, stream


@pytest.mark.parametrize("settings", [{"format": "tgz", "names": "stamp"}, {"format": "tar", "names": "day"},
                                      {"format": "zip", "times": "text"}, {"format": "gz"}])
def test_each_archive_form(tmp_path, workspace, catalog, settings):
    emulator = workspace[0]
    export_control(emulator, **settings)
    run = run_tap(tmp_path, workspace[1], catalog=catalog)
    if settings["format"] == "gz":  # one gzipped CSV: the receipt file alone
        assert_tables_equal_truth(emulator, [records_of(run)], ["message_receipts"])
        assert not run.records("message_events")
    else:
        assert_tables_equal_truth(emulator, [records_of(run)])


def test_the_one_job_429_is_waited_out(tmp_path, workspace, catalog):
    emulator, config, _ = workspace
    export_control(emulator, external_job=3)  # another app's job holds the workspace's one slot for 3 s
    run = run_tap(tmp_path, config, catalog=catalog)
    assert "another content data export job is active" in run.stderr
    assert emulator.stats()["by_status"].get("429", 0) >= 1
    assert_tables_equal_truth(emulator, [records_of(run)])


def test_failed_retried_once_then_only_these_streams_fail(tmp_path, workspace, catalog):
    emulator, config, _ = workspace
    export_control(emulator, fail_next=1)
    run = run_tap(tmp_path, config, catalog=catalog)
    assert "failed (job" in run.stderr and "enqueuing it once more" in run.stderr
    assert_tables_equal_truth(emulator, [records_of(run)])

    export_control(emulator, cancel_next=1, fail_next=1)  # a job canceled, then its retry failed
    both = select_streams(discover(tmp_path, config), MESSAGES + ["tags"])
    failed = run_tap(tmp_path, config, catalog=both, state=run.state, check=False)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("tap-intercom: error: message_receipts, message_events, message_checkpoints failed: "
                           "the content data export of ") and "failed twice" in last
    assert failed.records("tags")  # the other streams went on
    assert failed.state["bookmarks"]["message_events"]["updated_at"] == \
        run.state["bookmarks"]["message_events"]["updated_at"]
    assert "export_from" in failed.state["bookmarks"]["message_events"]  # the next run resumes the range


def test_no_data_is_an_empty_range(tmp_path, workspace, catalog):
    emulator, _, clock = workspace
    config = {**workspace[1], "start_date": iso(clock)}  # nothing was sent since yesterday 00:00
    run = run_tap(tmp_path, config, catalog=catalog)
    assert "no message was sent" in run.stderr and not run.streams()
    assert "message_events" in run.state["bookmarks"]
    export_control(emulator, send=2)
    again = run_tap(tmp_path, config, catalog=catalog, state=run.state)
    assert len(again.records("message_receipts")) == 2


def test_an_expired_download_is_exported_again(tmp_path, workspace, catalog):
    emulator, config, _ = workspace
    export_control(emulator, expire_next=1, expired_status=410)
    run = run_tap(tmp_path, config, catalog=catalog)
    assert "is gone" in run.stderr
    ranges = enqueued(emulator)
    assert len(ranges) == 2 and ranges[0] == ranges[1]
    assert_tables_equal_truth(emulator, [records_of(run)])


def test_the_row_cap_cuts_a_range_in_two(tmp_path, workspace, catalog):
    emulator, config, _ = workspace
    export_control(emulator, max_rows=300, polls=0)
    # the lookback (10 days) covers the emulator's latest engagement (9 days after a send): the halves overlap by it
    run = run_tap(tmp_path, {**config, "content_export_max_rows": 300, "content_export_lookback_days": 10},
                  catalog=catalog)
    assert "Intercom's cap" in run.stderr
    ranges = enqueued(emulator)
    assert len(ranges) > 2
    assert_tables_equal_truth(emulator, [records_of(run)])
    states = [s["bookmarks"]["message_events"]["updated_at"] for s in run.states if "message_events" in s["bookmarks"]
              and "updated_at" in s["bookmarks"]["message_events"]]
    assert len(set(states)) > 2 and states == sorted(states)  # the bookmark moves range by range


def test_killed_mid_export_and_resumed_loses_nothing(tmp_path, workspace, catalog):
    """Kills right after a STATE (a target keeps the records before its last STATE): each chain resumes from
    the first unfinished range until a run completes, and every row of the emulator's files was written."""
    emulator, config, _ = workspace
    export_control(emulator, max_rows=300, polls=0, seconds=1)
    config = {**config, "content_export_max_rows": 300, "content_export_lookback_days": 10}
    full = run_tap(tmp_path, config, catalog=catalog)
    lines = [json.dumps(m) for m in full.messages]
    after_states = [i + 1 for i, m in enumerate(full.messages) if m["type"] == "STATE"][1:-1]
    assert len(after_states) >= 2
    want = {stream: set(expected(emulator, stream)) for stream in MESSAGES}
    rng = random.Random(27)
    under_way = 0  # kills that left a range unfinished: the next run resumed it
    for chain in range(2):
        seen = {stream: set() for stream in MESSAGES}
        state, runs, previous = None, 0, None
        while True:
            runs += 1
            kill_at = rng.choice(after_states) if runs < 4 else 10 ** 9
            completed, messages = killed_tap(tmp_path, config, state, kill_at, catalog=catalog)
            last = max((i for i, m in enumerate(messages) if m["type"] == "STATE"), default=-1)
            kept = messages if completed else messages[:last + 1]
            for message in kept:
                if message["type"] == "RECORD":
                    seen[message["stream"]].add(key_of(message["stream"], normal(message["record"])))
            state = messages[last]["value"] if last >= 0 else state
            under_way += "export_from" in ((state or {}).get("bookmarks", {}).get("message_events") or {})
            mark = (state or {}).get("bookmarks", {}).get("message_events", {}).get("updated_at")
            assert previous is None or mark is None or mark >= previous, "a bookmark moved backwards"
            previous = mark or previous
            if completed:
                break
        for stream in MESSAGES:
            assert want[stream] <= seen[stream], f"chain {chain}: {stream} lost {sorted(want[stream] - seen[stream])[:3]}"
    assert lines and under_way >= 2
