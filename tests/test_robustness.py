"""One bad thing stays small: lost answers, failing records, forbidden streams, signals, skewed clocks, odd
values. Each test drives the installed CLI against the emulator with the fault it needs."""
import json
import signal
import subprocess
import time

import pytest

from conftest import TAP, run_tap, tap_config, write_json
from test_resilience import keys


def ids(records):
    return {str(r["id"]) for r in records}


@pytest.mark.parametrize("kind", ["lost", "served_504"])
def test_a_lost_scroll_answer_restarts_the_scroll_and_loses_no_company(tmp_path, make_emulator, kind):
    emulator = make_emulator(seed=5, contacts=20, companies=200, conversations=5, scroll_expiry=1,
                             scroll_page_size=50)
    # the 3rd scroll request is served (the scroll moves on) but its answer never arrives
    emulator.faults(path="/companies/scroll", kind=kind, count=1, after=2)
    run = run_tap(tmp_path, tap_config(emulator.url, max_retries=2))
    assert ids(run.records("companies")) == ids(emulator.truth("companies")["companies"])
    assert "restarting it from the first page (1 of 5)" in run.stderr


def test_a_repeating_cursor_ends_the_read_with_a_clear_error(tmp_path, make_emulator):
    emulator = make_emulator(seed=5, contacts=400, companies=5, conversations=5)
    emulator.emulator.searcher.page = _repeating(emulator.emulator.searcher.page)
    run = run_tap(tmp_path, tap_config(emulator.url, page_size=50), check=False, timeout=60)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "returned the same next-page cursor twice" in run.stderr
    assert run.records("companies") and run.records("conversations")  # the other sources finished


def _repeating(page):
    def same_cursor(kind, query, sort, per_page, starting_after):
        recs, total, number, pages, following = page(kind, query, sort, per_page, starting_after)
        if kind == "contacts" and starting_after:
            return recs, total, number, pages, starting_after  # Intercom handing out the same cursor again
        return recs, total, number, pages, following
    return same_cursor


def test_a_conversation_that_always_fails_is_owed_and_does_not_block_anything(tmp_path, make_emulator):
    emulator = make_emulator(seed=6, contacts=60, companies=10, conversations=30)
    conversations = emulator.truth("conversations")["conversations"]
    bad = conversations[3]["id"]
    emulator.faults(path=f"/conversations/{bad}", kind="500", count=1000)
    config = tap_config(emulator.url, max_retries=1)
    state = None
    for attempt in (1, 2):
        run = run_tap(tmp_path, config, state=state, check=False)
        assert run.returncode == 1 and "Traceback" not in run.stderr
        assert "1 per-record fetch(es) owed" in run.stderr.splitlines()[-1]
        assert run.state["owed"] == [{"stream": "conversation_parts", "id": bad, "runs": attempt}]
        assert f"record {bad}" in run.stderr
        if attempt == 1:
            assert ids(run.records("users")) and bad in ids(run.records("conversations"))
        state = run.state
    assert run.state["bookmarks"]["conversations"] == run.state["bookmarks"]["conversation_parts"]
    assert not any(p["conversation_id"] == bad for p in run.records("conversation_parts"))
    emulator.emulator.faults._queue.clear()  # Intercom answers again: the next run settles what is owed
    run = run_tap(tmp_path, config, state=state)
    assert "owed" not in run.state
    parts = emulator.truth("conversation_parts")["conversation_parts"]
    assert keys("conversation_parts", [p for p in run.records("conversation_parts") if p["conversation_id"] == bad]) \
        == keys("conversation_parts", [p for p in parts if p["conversation_id"] == bad])


def test_a_transient_404_on_a_contact_list_is_owed_then_completed(tmp_path, make_emulator):
    emulator = make_emulator(seed=6, contacts=200, companies=10, conversations=5)
    users = emulator.truth("users")["users"]
    long = next(u for u in users if u["tags"]["total_count"] > 10)
    emulator.faults(path=f"/contacts/{long['id']}/tags", kind="404", count=1)
    config = tap_config(emulator.url)
    first = run_tap(tmp_path, config, check=False)
    assert first.returncode == 1
    assert first.state["owed"] == [{"stream": "users", "id": long["id"], "runs": 1}]
    written = next(u for u in first.records("users") if u["id"] == long["id"])
    assert len(written["tags"]["data"]) == 10  # written with what Intercom embedded
    second = run_tap(tmp_path, config, state=first.state)
    assert "retrying the owed fetch for record " + long["id"] in second.stderr
    again = [u for u in second.records("users") if u["id"] == long["id"]]
    assert len(again) == 1 and len(again[0]["tags"]["data"]) == long["tags"]["total_count"]
    assert "owed" not in second.state


def test_an_owed_fetch_is_given_up_after_three_runs(tmp_path, make_emulator):
    emulator = make_emulator(seed=6, contacts=20, companies=5, conversations=10)
    conversation = emulator.truth("conversations")["conversations"][0]["id"]
    emulator.faults(path=f"/conversations/{conversation}", kind="404", count=1000)
    state = None
    for _ in range(3):
        run = run_tap(tmp_path, tap_config(emulator.url), state=state, check=False)
        state = run.state
    assert run.returncode == 0 and "owed" not in run.state
    assert f"giving up the fetch for record {conversation} after it failed in 3 runs" in run.stderr


def test_a_failing_source_does_not_stop_the_others_even_when_resumed_first(tmp_path, make_emulator):
    emulator = make_emulator(seed=6, contacts=60, companies=30, conversations=10)
    emulator.faults(path="/companies/scroll", kind="503", count=1000)
    config = tap_config(emulator.url, max_retries=1)
    run = run_tap(tmp_path, config, state={"bookmarks": {}, "currently_syncing": "companies"}, check=False)
    assert "resuming companies first" in run.stderr
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.splitlines()[-1].startswith("tap-intercom: error: companies failed: GET /companies/scroll")
    assert ids(run.records("conversations")) == ids(emulator.truth("conversations")["conversations"])
    assert "companies" not in run.state["bookmarks"] and "users" in run.state["bookmarks"]


def test_a_plan_restricted_or_unavailable_endpoint_is_skipped_and_a_401_still_fails(tmp_path, emulator):
    emulator.faults(path="/companies/scroll", kind="403", count=1)
    emulator.faults(path="/segments", kind="unavailable", count=2)
    run = run_tap(tmp_path, tap_config(emulator.url))
    skipped = [line for line in run.stderr.splitlines() if "skipping" in line]
    assert len(skipped) == 3 and "api_plan_restricted" in skipped[0] + skipped[1] + skipped[2]
    assert "companies" not in run.streams() and "segments" not in run.streams() and run.records("users")
    emulator.faults(path="/teams", kind="401", count=1)
    failed = run_tap(tmp_path, tap_config(emulator.url), check=False)
    assert failed.returncode == 1 and "rejected the access token" in failed.stderr
