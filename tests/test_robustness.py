"""One bad thing stays small: lost answers, failing records, forbidden streams, signals, skewed clocks, odd
values. Each test drives the installed CLI against the emulator with the fault it needs."""
import json
import signal
import subprocess
import time

import pytest

from conftest import TAP, discover, run_tap, select_streams, tap_config, wait_until, write_json
from tap_intercom.records.timestamps import cursor_epoch, epoch_to_rfc3339
from test_resilience import keys


DAY = 86400


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
    assert run.state["owed"] == []
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
    # one fetch serves users and contact_tags: both owe it
    assert first.state["owed"] == [{"stream": "contact_tags", "id": long["id"], "runs": 1},
                                   {"stream": "users", "id": long["id"], "runs": 1}]
    written = next(u for u in first.records("users") if u["id"] == long["id"])
    assert len(written["tags"]["data"]) == 10  # written with what Intercom embedded
    second = run_tap(tmp_path, config, state=first.state)
    assert "retrying the owed fetch for record " + long["id"] in second.stderr
    again = [u for u in second.records("users") if u["id"] == long["id"]]
    assert len(again) == 1 and len(again[0]["tags"]["data"]) == long["tags"]["total_count"]
    assert second.state["owed"] == []


def test_an_owed_fetch_is_given_up_after_three_runs(tmp_path, make_emulator):
    emulator = make_emulator(seed=6, contacts=20, companies=5, conversations=10)
    conversation = emulator.truth("conversations")["conversations"][0]["id"]
    emulator.faults(path=f"/conversations/{conversation}", kind="404", count=1000)
    state = None
    for _ in range(3):
        run = run_tap(tmp_path, tap_config(emulator.url), state=state, check=False)
        state = run.state
    assert run.returncode == 0 and run.state["owed"] == []
    assert f"giving up the fetch for record {conversation} after it failed in 3 runs" in run.stderr


def test_a_failing_source_does_not_stop_the_others_even_when_resumed_first(tmp_path, make_emulator):
    emulator = make_emulator(seed=6, contacts=60, companies=30, conversations=10)
    emulator.faults(path="/companies/scroll", kind="503", count=1000)
    config = tap_config(emulator.url, max_retries=1)
    run = run_tap(tmp_path, config, state={"bookmarks": {}, "currently_syncing": "companies"}, check=False)
    assert "resuming companies first" in run.stderr
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.splitlines()[-1].startswith("tap-intercom: error: companies, company_tags, "
                                                  "company_segment_memberships failed: GET /companies/scroll")
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


def replace(emulator, kind, record_id, **changes):
    """Change a stored record in place of Intercom (copy-on-write, as the emulator's mutations do)."""
    ws = emulator.emulator.ws
    with ws.lock:
        store = getattr(ws, kind)
        store[record_id] = {**store[record_id], **changes}
        ws._bump(kind)


def test_a_lone_surrogate_is_replaced_with_one_warning_per_field(tmp_path, make_emulator):
    emulator = make_emulator(seed=8, contacts=40, companies=20, conversations=5)
    companies = emulator.truth("companies")["companies"][:2]
    user = emulator.truth("users")["users"][0]
    for company in companies:
        replace(emulator, "companies", company["id"], name="Caf\u00e9 \ud83d")
    replace(emulator, "contacts", user["id"], name="\udc00 broken", custom_attributes={"plan \ud83d": "gold"})
    run = run_tap(tmp_path, tap_config(emulator.url))
    names = {c["id"]: c["name"] for c in run.records("companies")}
    assert all(names[c["id"]] == "Caf\u00e9 \ufffd" for c in companies)
    written = next(u for u in run.records("users") if u["id"] == user["id"])
    assert written["name"] == "\ufffd broken" and written["custom_attributes"] == {"plan \ufffd": "gold"}
    assert run.stderr.count("companies.name: text with an unpaired UTF-16 surrogate") == 1
    assert run.stderr.count("users.name: text with an unpaired UTF-16 surrogate") == 1


def test_a_bad_nested_value_nulls_only_itself_and_nested_deselection_holds_on_every_path(tmp_path, make_emulator):
    emulator = make_emulator(seed=8, contacts=10, companies=5, conversations=12)
    truth = emulator.truth("conversations")["conversations"]
    bad = truth[2]
    replace(emulator, "conversations", bad["id"], statistics={**bad["statistics"], "time_to_assignment": "soon"})
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), {"conversations"})
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "conversations")
    entry["metadata"].append({"breadcrumb": ["properties", "statistics", "properties", "median_time_to_reply"],
                              "metadata": {"selected": False}})
    run = run_tap(tmp_path, config, catalog=catalog)
    records = {r["id"]: r for r in run.records("conversations")}
    assert len(records) == len(truth)
    statistics = records[bad["id"]]["statistics"]
    assert statistics["time_to_assignment"] is None and statistics["type"] == bad["statistics"]["type"]
    assert statistics["time_to_admin_reply"] == bad["statistics"]["time_to_admin_reply"]
    assert run.stderr.count("conversations.statistics.time_to_assignment: a value does not fit") == 1
    # the bad record went the slow way, the others the fast way: the deselected field is gone from all
    assert all("median_time_to_reply" not in r["statistics"] for r in records.values() if r["statistics"])


def test_meltano_state_get_output_is_unwrapped(tmp_path, emulator):
    config = tap_config(emulator.url)
    first = run_tap(tmp_path, config)
    second = run_tap(tmp_path, config, state={"singer_state": first.state})
    assert "singer_state" in second.stderr
    assert len(second.records("users")) < len(first.records("users"))  # incremental, not a full re-sync
    assert second.state["bookmarks"]["users"]["updated_at"] >= first.state["bookmarks"]["users"]["updated_at"]


def test_408_and_a_429_with_odd_headers_are_retried(tmp_path, make_emulator):
    emulator = make_emulator(seed=8, contacts=20, companies=5, conversations=5)
    emulator.faults(path="/tags", kind="408", count=1)
    emulator.faults(path="/teams", kind="429_odd", count=2)
    run = run_tap(tmp_path, tap_config(emulator.url))
    assert ids(run.records("tags")) == ids(emulator.truth("tags")["tags"])
    assert ids(run.records("teams")) == ids(emulator.truth("teams")["teams"])
    assert "HTTP 408" in run.stderr and "rate limited (429) on GET /teams" in run.stderr


def test_bookmarks_are_capped_by_intercoms_clock_not_the_machines(tmp_path, make_emulator):
    """This machine's clock runs 10 days ahead of Intercom's (the emulator's clock, and its Date headers, lag it),
    and users change while an incremental read of users is under way: the next run brings them. A search is read
    as windows of updated_at up to this machine's now, so most windows lie in Intercom's future; a bookmark taken
    from an empty window's start, uncapped, would jump days past the changes (contact search matches whole days,
    hence a lag of more than two)."""
    lag = 10 * DAY
    emulator = make_emulator(seed=8, contacts=1200, companies=5, conversations=5, clock=int(time.time()) - lag,
                             clock_headers=True, slow_seconds=1)
    now = emulator.configure()["now"]
    users = sorted(emulator.truth("users")["users"], key=lambda u: u["updated_at"])
    since = now - 30 * DAY
    changed_before = [u for u in users if u["updated_at"] > since]
    assert len(changed_before) > 60, len(changed_before)  # enough pages to be read as several windows
    # a bookmark of 30 days ago in Intercom's clock, as a run then would have left it
    state = {"bookmarks": {"users": {"updated_at": epoch_to_rfc3339(since), "reconciled_at": epoch_to_rfc3339(now)}},
             "tap": "tap-intercom"}
    config = tap_config(emulator.url, lookback_window=0, page_size=10, search_window_pages=2,
                        reconcile_interval_hours=0)  # no pass: this run reads from its bookmark
    catalog = select_streams(discover(tmp_path, config), {"users"})
    emulator.reset_stats()
    # Intercom answers the windows in its future late (their only page is empty): the windows before them finish
    # first, so the bookmark reaches the start of a window in Intercom's future while that window is still read
    emulator.faults(path="/contacts/search", kind="slow", count=100, from_after=now + DAY)
    proc = subprocess.Popen([TAP, "--config", write_json(tmp_path, "c.json", config),
                             "--catalog", write_json(tmp_path, "k.json", catalog),
                             "--state", write_json(tmp_path, "s.json", state)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: emulator.stats()["by_endpoint"].get("POST /contacts/search", 0) >= 3,
               "the third search request")
    # the read is under way: users change now (Intercom's now), some of them already read by this run
    during = [u["id"] for u in changed_before[:3]] + [u["id"] for u in users[:3]]
    emulator.mutate(action="update", stream="users", ids=during)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-3000:]
    first = [json.loads(line) for line in out.splitlines()]
    assert "reading them as" in err  # the search was read as windows, the later ones in Intercom's future
    state = [m["value"] for m in first if m["type"] == "STATE"][-1]
    assert cursor_epoch(state["bookmarks"]["users"]["updated_at"]) <= emulator.configure()["now"]
    second = run_tap(tmp_path, config, catalog=catalog, state=state)
    assert set(during) <= ids(second.records("users"))  # changed during the read: they come in the next run


def read_slowly_and_stop(tmp_path, config, signum, after_bytes):
    """Run the tap with a slow reader of its stdout; send `signum` once `after_bytes` were read."""
    proc = subprocess.Popen([TAP, "--config", write_json(tmp_path, "c.json", config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    data, sent = b"", False
    while True:
        chunk = proc.stdout.read1(8192)
        if not chunk:
            break
        data += chunk
        if not sent and len(data) >= after_bytes:
            proc.send_signal(signum)
            sent = True
        time.sleep(0.003)
    stderr = proc.stderr.read().decode()
    return proc.wait(timeout=60), data, stderr


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_at_a_whole_line_with_a_safe_state(tmp_path, make_emulator, signum, code):
    emulator = make_emulator(seed=9, contacts=400, companies=60, conversations=40, latency_ms=2)
    config = tap_config(emulator.url, page_size=50)
    returncode, data, stderr = read_slowly_and_stop(tmp_path, config, signum, 300_000)
    assert returncode == code and "Traceback" not in stderr
    assert data.endswith(b"\n")
    messages = [json.loads(line) for line in data.splitlines()]  # every line whole
    assert messages[-1]["type"] == "STATE" and f"stopped by {signal.Signals(signum).name}" in stderr
    seen = {m["stream"]: set() for m in messages if m["type"] == "RECORD"}
    for m in messages:
        if m["type"] == "RECORD":
            seen[m["stream"]] |= keys(m["stream"], [m["record"]])
    resumed = run_tap(tmp_path, config, state=messages[-1]["value"])
    truth = emulator.truth()
    for stream in ("users", "conversations", "conversation_parts", "companies"):
        got = seen.get(stream, set()) | keys(stream, resumed.records(stream))
        assert keys(stream, truth[stream]) <= got, stream


def test_an_owed_fetch_ends_once_intercom_confirms_the_deletion(tmp_path, make_emulator):
    emulator = make_emulator(seed=6, contacts=20, companies=5, conversations=10)
    gone = emulator.truth("conversations")["conversations"][4]["id"]
    emulator.faults(path=f"/conversations/{gone}", kind="404", count=1)
    first = run_tap(tmp_path, tap_config(emulator.url), check=False)
    assert first.state["owed"] == [{"stream": "conversation_parts", "id": gone, "runs": 1}]
    emulator.mutate(action="delete", stream="conversations", ids=[gone])
    asked = []

    def deleted(req):  # GET /conversations/deleted as the 2.16 spec shows it
        asked.append(req.version)
        return 200, {"type": "conversations.list", "total_count": 1,
                     "pages": {"type": "pages", "next": None, "page": 1, "per_page": 60, "total_pages": 1},
                     "conversations": [{"type": "conversation", "id": gone, "deleted_at": 1, "metrics_retained": False}]}
    emulator.emulator.api.routes.insert(0, ("GET", "/conversations/deleted", "read_conversations", deleted))
    second = run_tap(tmp_path, tap_config(emulator.url), state=first.state)
    assert f"Intercom confirms conversation {gone} was deleted" in second.stderr
    assert second.state["owed"] == [] and asked and set(asked) == {"2.16"}  # the deleted_conversations stream too


def test_a_record_that_fits_its_schema_in_no_way_costs_only_itself(tmp_path, make_emulator):
    emulator = make_emulator(seed=8, contacts=10, companies=12, conversations=3)
    companies = emulator.truth("companies")["companies"]
    replace(emulator, "companies", companies[5]["id"], updated_at="not a date")
    run = run_tap(tmp_path, tap_config(emulator.url), check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert ids(run.records("companies")) == ids(companies) - {companies[5]["id"]}
    assert f"companies record {companies[5]['id']!r} does not match" in run.stderr
    assert run.stderr.splitlines()[-1] == "tap-intercom: error: 1 record(s) skipped: they fit their schema in no way"
    # companies is read whole every run: a version missing a record is not activated (its row stays)
    activated = {m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"}
    assert "companies" not in activated and "admins" in activated


def test_what_is_owed_to_a_deselected_stream_is_dropped_with_a_warning(tmp_path, emulator):
    config = tap_config(emulator.url)
    state = {"bookmarks": {}, "owed": [{"stream": "conversation_parts", "id": "200000001", "runs": 1}]}
    run = run_tap(tmp_path, config, catalog=select_streams(discover(tmp_path, config), {"tags"}), state=state)
    assert "conversation_parts is not selected: dropping its owed fetch for record 200000001" in run.stderr
    assert run.state["owed"] == []


def test_a_scroll_that_repeats_its_pages_ends_with_a_clear_error(tmp_path, make_emulator):
    emulator = make_emulator(seed=5, contacts=10, companies=120, conversations=5)
    api = emulator.emulator.api
    serve_page = api._scroll_page

    def stuck(scroll):  # a scroll that never moves on: the same first page every time
        scroll["pos"] = 0
        return serve_page(scroll)
    api._scroll_page = stuck
    run = run_tap(tmp_path, tap_config(emulator.url), check=False, timeout=60)
    assert run.returncode == 1 and "returned a page of companies it had already returned" in run.stderr
    assert run.records("users") and "companies" not in run.state["bookmarks"]


def test_a_ticket_whose_parts_fail_is_owed_then_completed(tmp_path, make_emulator):
    emulator = make_emulator(seed=6, contacts=10, companies=5, conversations=5, tickets=8)
    ticket = emulator.truth("tickets")["tickets"][2]["id"]
    config = tap_config(emulator.url, max_retries=2)
    catalog = select_streams(discover(tmp_path, config), {"tickets", "ticket_parts"})  # (its sample reads a ticket)
    emulator.faults(path=f"/tickets/{ticket}", kind="502", count=3)
    first = run_tap(tmp_path, config, catalog=catalog, check=False)
    assert first.returncode == 1 and first.state["owed"] == [{"stream": "ticket_parts", "id": ticket, "runs": 1}]
    second = run_tap(tmp_path, config, catalog=catalog, state=first.state)
    parts = [p for p in emulator.truth("ticket_parts")["ticket_parts"] if p["ticket_id"] == ticket]
    assert parts and keys("ticket_parts", [p for p in second.records("ticket_parts") if p["ticket_id"] == ticket]) \
        == keys("ticket_parts", parts)
    assert second.state["owed"] == []
