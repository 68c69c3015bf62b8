"""Partitioned searches (windows of updated_at read concurrently) and the in-flight target, through the CLI."""
import datetime

from conftest import discover, run_tap, select_streams, tap_config
from tap_intercom.http.concurrency import InFlightTarget
from test_resilience import keys
from test_sync import with_parent_cursor

SEARCHED = {"users": "updated_at", "contacts": "updated_at", "social_profiles": "contact_updated_at",
            "conversations": "updated_at", "conversation_parts": "conversation_updated_at"}


def epoch(rfc3339):
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_windows_read_everything_and_every_state_covers_only_written_records(tmp_path, make_emulator):
    # A workspace timezone far from UTC: contact windows end at its midnights, which the tap cannot know.
    emulator = make_emulator(seed=13, contacts=700, companies=10, conversations=160, latency_ms=5,
                             tz_offset_hours=-7)
    config = tap_config(emulator.url, page_size=20, search_window_pages=2)
    run = run_tap(tmp_path, config, catalog=select_streams(discover(tmp_path, config), set(SEARCHED)))
    assert "/contacts/search: 700 records" in run.stderr and "/conversations/search: 160 records" in run.stderr
    assert run.stderr.count("windows of updated_at") >= 3  # a window still too large split again
    truth = with_parent_cursor(emulator.truth())
    for stream in SEARCHED:
        assert keys(stream, run.records(stream)) == keys(stream, truth[stream]), stream
    searches = emulator.stats()["by_endpoint"]["POST /contacts/search"]
    assert 35 < searches < 35 * 1.5  # 700 records at 20 a page, and a partial page or two per window
    assert emulator.stats()["max_concurrency"] > 1

    # STATE only past written records: at every STATE, each record updated before a stream's bookmark has
    # already been written (a bookmark past an unfinished window would fail this).
    written = {stream: set() for stream in SEARCHED}
    previous = {}
    for message in run.messages:
        if message["type"] == "RECORD":
            written[message["stream"]] |= keys(message["stream"], [message["record"]])
        elif message["type"] == "STATE":
            for stream, bookmark in message["value"]["bookmarks"].items():
                if "updated_at" not in bookmark:  # a reconciliation pass's keys alone (deletions)
                    continue
                cutoff = epoch(bookmark["updated_at"])
                assert cutoff >= previous.get(stream, 0), f"{stream}: bookmark moved backwards"
                previous[stream] = cutoff
                before = keys(stream, [r for r in truth[stream] if r[SEARCHED[stream]] < cutoff])
                assert before <= written[stream], f"{stream}: STATE at {bookmark} before {before - written[stream]}"
    assert len(run.states) > 10  # bookmarks moved during the run, not only at its end


def test_an_incremental_run_with_little_to_read_stays_one_window(tmp_path, emulator):
    config = tap_config(emulator.url, search_window_pages=1)
    first = run_tap(tmp_path, config)
    emulator.mutate(action="update", stream="users", count=3)
    emulator.reset_stats()
    second = run_tap(tmp_path, config, state=first.state)
    by_endpoint = emulator.stats()["by_endpoint"]
    assert by_endpoint["POST /contacts/search"] == 1 and by_endpoint["POST /conversations/search"] == 1
    assert "windows of updated_at" not in second.stderr


def test_requests_in_flight_follow_latency_and_budget_under_max_workers(tmp_path, make_emulator):
    # 300 ms: the lower bound below holds with a wide margin however busy the machine (a slower machine measures
    # more latency, which only asks for more in flight)
    emulator = make_emulator(seed=6, contacts=40, companies=5, conversations=120, latency_ms=300)
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), {"conversation_parts"})
    run_tap(tmp_path, config, catalog=catalog)
    # 166 a second x 0.3 s = 50 needed in flight: far more than the old fixed pool of 16, fewer than max_workers
    assert 16 < emulator.stats()["max_concurrency"] <= 100
    emulator.reset_stats()
    run_tap(tmp_path, tap_config(emulator.url, max_workers=5), catalog=catalog)
    assert emulator.stats()["max_concurrency"] <= 5
    emulator.configure(latency_ms=100)
    emulator.reset_stats()
    run_tap(tmp_path, tap_config(emulator.url, max_requests_per_minute=600), catalog=catalog)
    assert emulator.stats()["max_concurrency"] <= 6  # 10 a second x 0.1 s, with headroom, within the floor of 4


def test_in_flight_target_is_rate_times_latency_within_floor_and_ceiling():
    target = InFlightTarget(ceiling=100)
    assert target.target(166.7) == 4  # nothing measured yet
    target.observe(0.3)
    assert 50 <= target.target(166.7) <= 100  # Little's law: 166.7 a second x 0.3 s = 50
    assert target.target(16.7) < 10
    assert InFlightTarget(ceiling=8).target(166.7) <= 8
    for _ in range(100):
        target.observe(0.001)
    assert target.target(166.7) == 4


def test_a_search_alone_keeps_rate_x_latency_windows_in_flight_not_a_fixed_few(tmp_path, make_emulator):
    # 150 pages of contact search and nothing else in flight (social_profiles fetch nothing per record): at
    # 166 a second and 100 ms, Little's law wants ~17 requests in flight, the target ~26; the old fixed cap was 4.
    emulator = make_emulator(seed=21, contacts=3000, companies=5, conversations=5, latency_ms=100)
    config = tap_config(emulator.url, page_size=20)
    catalog = select_streams(discover(tmp_path, config), {"social_profiles"})
    emulator.reset_stats()
    run = run_tap(tmp_path, config, catalog=catalog)
    stats = emulator.stats()
    assert 12 <= stats["max_concurrency"] <= 100, stats["max_concurrency"]
    searches = stats["by_endpoint"]["POST /contacts/search"]
    assert 150 <= searches < 150 * 1.3  # smaller windows, each with a partial last page: a few calls more
    truth = with_parent_cursor(emulator.truth())
    assert keys("social_profiles", run.records("social_profiles")) == keys("social_profiles", truth["social_profiles"])
    # A small budget wants few in flight: 10 a second x 0.1 s, with headroom, within the floor of 4.
    emulator.reset_stats()
    run_tap(tmp_path, tap_config(emulator.url, page_size=20, max_requests_per_minute=600), catalog=catalog)
    assert emulator.stats()["max_concurrency"] <= 6
