"""Never lose a record: faults, rate limits and syncs killed at random points, checked against ground truth."""
import random

from conftest import killed_run, run_tap, tap_config
from tap_intercom.streams import STREAMS as EVERY_STREAM, STREAMS_BY_NAME

STREAMS = [s for s in EVERY_STREAM if s.selected_by_default]  # what a run without a catalog syncs


def keys(stream, records):
    return {tuple(str(r[k]) for k in STREAMS_BY_NAME[stream].key) for r in records}


def truth_keys(truth):
    return {s.name: keys(s.name, truth[s.name]) for s in STREAMS if not s.history}  # history: not selected


def test_random_faults_under_a_tight_rate_limit_lose_nothing(tmp_path, make_emulator):
    emulator = make_emulator(seed=3, contacts=260, companies=80, conversations=50, rate_limit=40, rate_window=2,
                             fault_rate=0.12, fault_kinds="500,502,503,504,429,nonjson,empty,drop", fault_seed=9)
    # small pages and windows: both searches are read as concurrent windows, faults and all
    run = run_tap(tmp_path, tap_config(emulator.url, max_retries=12, page_size=20, search_window_pages=1),
                  timeout=600)
    assert run.stderr.count("windows of updated_at") >= 2
    truth = emulator.truth()
    for stream, expected in truth_keys(truth).items():
        assert keys(stream, run.records(stream)) == expected, stream
    stats = emulator.stats()
    assert sum(n for status, n in stats["by_status"].items() if status.startswith("5")) > 0
    assert "retry" in run.stderr


def test_rate_limit_headers_keep_the_tap_under_the_limit(tmp_path, make_emulator):
    emulator = make_emulator(seed=4, contacts=200, companies=30, conversations=60, rate_limit=25, rate_window=2)
    run = run_tap(tmp_path, tap_config(emulator.url))
    stats = emulator.stats()
    assert stats["by_status"].get("429", 0) <= 2, stats["by_status"]  # paced by the headers, not by 429s
    assert keys("conversation_parts", run.records("conversation_parts")) == \
        keys("conversation_parts", emulator.truth("conversation_parts")["conversation_parts"])


def test_server_clock_is_the_greatest_date_sample_never_ahead_of_intercom(monkeypatch):
    """Date is truncated to the second: each answer's Date, less our clock, is at or below the true difference.
    The clock keeps the greatest of the last minute, so it comes within a fraction of a second of Intercom's
    and never runs ahead of it (a window's end is not guessed early, a bookmark not capped late)."""
    from email.utils import formatdate
    from types import SimpleNamespace

    from tap_intercom.http import client

    ours = [1_000_000.0]  # this machine's clock: monotonic and epoch alike here
    monkeypatch.setattr(client, "time", SimpleNamespace(time=lambda: ours[0], monotonic=lambda: ours[0]))
    clock = client.ServerClock()
    assert clock.now() is None and clock.to_server(5.0) == 5.0
    skew = 7.3  # Intercom's clock runs 7.3 s ahead of ours
    for step in (0.0, 0.6, 0.55, 0.7, 0.9, 0.65):  # answers arriving at different fractions of a second
        ours[0] += step
        clock.observe({"Date": formatdate(int(ours[0] + skew), usegmt=True)})
        assert clock.now() <= ours[0] + skew
    assert ours[0] + skew - clock.now() < 0.1  # 0.3 s behind after the first answer, 0.05 s after these
    assert abs(clock.to_server(ours[0] - 100) - (ours[0] - 100 + 7.25)) < 1e-6
    ours[0] += 0.2  # answers closer together than SAMPLE_SECONDS: not parsed
    clock.observe({"Date": formatdate(int(ours[0] + skew) + 100, usegmt=True)})
    assert ours[0] + skew - clock.now() < 0.1
    skew = 2.0  # Intercom's clock stepped back 5.3 s: the older samples count for KEEP_SECONDS, then not
    ours[0] += client.ServerClock.KEEP_SECONDS + 1
    clock.observe({"Date": formatdate(int(ours[0] + skew), usegmt=True)})
    assert clock.now() <= ours[0] + skew


def test_a_429_waits_for_the_reset_and_retries(tmp_path, make_emulator):
    emulator = make_emulator(seed=2, contacts=100, companies=10, conversations=10, rate_window=2)
    emulator.faults(path="/contacts/search", kind="429", count=2)
    run = run_tap(tmp_path, tap_config(emulator.url))
    assert "rate limited (429)" in run.stderr
    assert keys("users", run.records("users")) == keys("users", emulator.truth("users")["users"])


def test_persistent_5xx_fails_with_one_line_after_bounded_retries(tmp_path, emulator):
    emulator.faults(path="/tags", kind="503", count=100)
    run = run_tap(tmp_path, tap_config(emulator.url, max_retries=2), check=False)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "tap-intercom: error: tags failed: GET /tags failed after 3 attempts: HTTP 503" in run.stderr


def test_client_errors_are_not_retried(tmp_path, emulator):
    emulator.faults(path="/teams", kind="400", count=1)
    run = run_tap(tmp_path, tap_config(emulator.url), check=False)
    assert run.returncode != 0
    assert emulator.stats()["by_endpoint"].get("GET /teams") == 1


def test_killed_at_random_points_and_resumed_loses_nothing(tmp_path, make_emulator):
    # a scroll left open by a kill idles out in 2 s here (60 s at Intercom), so the chains run quickly
    emulator = make_emulator(seed=21, contacts=300, companies=60, conversations=100, tickets=90, latency_ms=2,
                             scroll_expiry=2)
    # small windows: the three searches are partitioned, so kills land between and inside concurrent windows
    config = tap_config(emulator.url, page_size=30, max_workers=4, search_window_pages=1)
    expected = truth_keys(emulator.truth())
    first = run_tap(tmp_path, config)
    assert all(f"{path}: " in first.stderr for path in ("/contacts/search", "/conversations/search", "/tickets/search"))
    total_lines = len(first.messages)
    rng = random.Random(1234)
    for attempt in range(6):  # six independent chains of killed runs, each resumed until one completes
        seen = {name: set() for name in expected}
        state, runs = None, 0
        previous = {}
        while True:
            runs += 1
            kill_at = rng.randint(1, total_lines) if runs < 6 else 10 ** 9
            completed, kept, state = killed_run(tmp_path, config, state, kill_at)
            for message in (m for m in kept if m["type"] == "RECORD"):
                seen[message["stream"]] |= keys(message["stream"], [message["record"]])
            bookmarks = {k: v["updated_at"] for k, v in ((state or {}).get("bookmarks") or {}).items() if "updated_at" in v}
            assert all(bookmarks[k] >= v for k, v in previous.items()), "a bookmark moved backwards"
            previous = bookmarks
            if completed:
                break
        for stream, wanted in expected.items():
            assert wanted <= seen[stream], f"chain {attempt}: {stream} lost {sorted(wanted - seen[stream])[:5]}"


def test_currently_syncing_stream_is_resumed_first(tmp_path, emulator):
    config = tap_config(emulator.url)
    first = run_tap(tmp_path, config)
    state = {**first.state, "currently_syncing": "conversation_parts"}
    second = run_tap(tmp_path, config, state=state)
    assert "resuming conversation_parts first" in second.stderr
    schemas = [m["stream"] for m in second.messages if m["type"] == "SCHEMA"]
    assert set(schemas[:2]) == {"conversations", "conversation_parts"}  # its source runs alone, first
    data = [m["stream"] for m in second.messages if m["type"] == "RECORD"]
    resumed = [i for i, stream in enumerate(data) if stream in ("conversations", "conversation_parts")]
    others = [i for i, stream in enumerate(data) if stream not in ("conversations", "conversation_parts")]
    assert resumed and others and max(resumed) < min(others)
    assert second.state["currently_syncing"] is None
