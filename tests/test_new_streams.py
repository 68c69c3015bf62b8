"""Tickets and their parts, activity logs and the paged help-center/news lists, through the installed CLI
against the emulator: incremental re-reads of same-day ticket changes, the 500-part cap, the activity-log
window, and faults on the ticket endpoints."""
import time

from conftest import TOKEN, discover, run_tap, select_streams, tap_config
from test_sync import by_key, comparable, expected_records, with_parent_cursor
from tap_intercom.config import parse_datetime

TICKETS = {"tickets", "ticket_parts"}


def ticket_catalog(tmp_path, emulator, streams=TICKETS):
    return select_streams(discover(tmp_path, tap_config(emulator.url)), streams)


def test_tickets_changed_on_the_bookmarks_day_come_again_with_their_new_parts(tmp_path, emulator):
    config, catalog = tap_config(emulator.url), ticket_catalog(tmp_path, emulator)
    first = run_tap(tmp_path, config, catalog=catalog)
    bookmark = int(parse_datetime(first.state["bookmarks"]["tickets"]["updated_at"], "bookmark"))
    assert first.state["bookmarks"]["ticket_parts"] == first.state["bookmarks"]["tickets"]
    ids = sorted(t["id"] for t in first.records("tickets"))
    # Changes in the bookmark's own second and the second after it: a `>` taken as strictly greater, or a
    # filter without the lookback, would miss them.
    changed = emulator.mutate(action="update", stream="tickets", ids=ids[:2], updated_at=bookmark)["ids"]
    changed += emulator.mutate(action="update", stream="tickets", ids=ids[2:4], updated_at=bookmark + 1)["ids"]
    added = emulator.mutate(action="add_parts", stream="tickets", ids=ids[4:6], count=2, updated_at=bookmark + 1)
    created = emulator.mutate(action="create", stream="tickets", count=2, updated_at=bookmark + 1)["ids"]

    second = run_tap(tmp_path, config, catalog=catalog, state=first.state)
    truth = with_parent_cursor(emulator.truth())
    expected = expected_records("tickets", truth["tickets"])
    emitted = by_key("tickets", second.records("tickets"))
    for ticket_id in changed + added["ids"] + created:
        assert emitted[(ticket_id,)] == expected[(ticket_id,)], ticket_id
    parts = by_key("ticket_parts", second.records("ticket_parts"))
    assert set(added["part_ids"]) <= {key[0] for key in parts}
    wanted = expected_records("ticket_parts", [p for p in truth["ticket_parts"]
                                               if p["ticket_id"] in set(changed + added["ids"] + created)])
    for key, part in wanted.items():
        assert comparable("ticket_parts", parts[key]) == part, key
    assert len(emitted) < len(truth["tickets"]) / 2  # only the changed ones and the lookback come again
    assert second.state["bookmarks"]["tickets"]["updated_at"] >= first.state["bookmarks"]["tickets"]["updated_at"]


def test_a_ticket_over_500_parts_is_named(tmp_path, emulator):
    run = run_tap(tmp_path, tap_config(emulator.url), catalog=ticket_catalog(tmp_path, emulator, {"ticket_parts"}))
    cut = emulator.truth("cut_tickets")["cut_tickets"]
    assert cut
    for ticket_id in cut:
        assert f"ticket {ticket_id} has " in run.stderr
        assert sum(1 for p in run.records("ticket_parts") if p["ticket_id"] == ticket_id) == 500


def test_faults_on_the_ticket_endpoints_lose_nothing(tmp_path, emulator):
    emulator.faults(path="/tickets/search", kind="503", count=1)
    emulator.faults(path="/tickets/search", kind="drop", count=1, after=1)
    emulator.faults(path="/tickets/3", kind="502", count=3, method="GET")
    emulator.faults(path="/tickets/3", kind="nonjson", count=2, method="GET", after=10)
    run = run_tap(tmp_path, tap_config(emulator.url, page_size=7),
                  catalog=ticket_catalog(tmp_path, emulator))
    truth = emulator.truth()
    for stream in TICKETS:
        assert set(by_key(stream, run.records(stream))) == set(expected_records(stream, truth[stream])), stream
    assert "retry" in run.stderr


def test_activity_logs_read_a_window_ending_when_the_run_began(tmp_path, make_emulator):
    # Intercom's clock 20 days ahead of ours: logs "from the future" are left for a later run, and the
    # bookmark stays behind the moment the run began.
    ahead = int(time.time()) + 20 * 86400
    emulator = make_emulator(seed=12, contacts=20, companies=3, conversations=3, clock=ahead)
    config = tap_config(emulator.url)
    catalog = ticket_catalog(tmp_path, emulator, {"activity_logs"})
    began = int(time.time())
    first = run_tap(tmp_path, config, catalog=catalog)
    logs = emulator.truth("activity_logs")["activity_logs"]
    expected = {x["id"] for x in logs if x["created_at"] <= began}
    emitted = {x["id"] for x in first.records("activity_logs")}
    assert expected <= emitted and len(emitted) < len(logs)
    assert all(x["created_at"] <= time.time() + 1 for x in logs if x["id"] in emitted)
    bookmark = parse_datetime(first.state["bookmarks"]["activity_logs"]["updated_at"], "bookmark")
    assert bookmark <= time.time()
    second = run_tap(tmp_path, config, catalog=catalog, state=first.state)
    assert len(second.records("activity_logs")) <= 5  # only the lookback's few come again
    assert emulator.stats()["by_endpoint"]["GET /admins/activity_logs"] >= 400 // 50


def test_paged_lists_are_read_past_a_missing_next(tmp_path, emulator):
    streams = {"news_items", "articles", "help_center_collections"}
    catalog = ticket_catalog(tmp_path, emulator, streams)
    emulator.reset_stats()  # discovery's samples read first pages too
    run = run_tap(tmp_path, tap_config(emulator.url), catalog=catalog)
    truth = emulator.truth()
    for stream in ("news_items", "articles", "help_center_collections"):
        assert set(by_key(stream, run.records(stream))) == set(expected_records(stream, truth[stream])), stream
    stats = emulator.stats()["by_endpoint"]
    assert stats["GET /news/news_items"] == 2 and stats["GET /articles"] == 2  # 55 and 60 records, 50 a page


def test_a_token_without_the_tickets_scope_skips_the_ticket_streams_and_syncs_the_rest(tmp_path, emulator):
    """Many workspaces lack tickets, or a token lacks their scope: those streams are skipped with one
    warning per source naming what they need, their bookmarks untouched; every other stream syncs, exit 0."""
    limited = "no-tickets-token-61c2"
    emulator.configure(tokens={TOKEN: "all", limited: ["read_users_companies", "read_admins", "read_tags",
                                                       "read_conversations"]})
    config = tap_config(emulator.url, access_token=limited)
    catalog = select_streams(discover(tmp_path, tap_config(emulator.url)),
                             {"tickets", "ticket_parts", "ticket_types", "users", "admins", "conversations"})
    bookmark = {"updated_at": "2024-01-01T00:00:00.000000Z"}
    state = {"bookmarks": {"tickets": bookmark, "ticket_parts": bookmark}, "tap": "tap-intercom"}
    run = run_tap(tmp_path, config, catalog=catalog, state=state)  # check=True: exit 0
    skipped = [line for line in run.stderr.splitlines() if "skipping" in line]
    assert len(skipped) == 2, skipped  # the ticket search (tickets + ticket_parts) and the ticket_types list
    assert any("tickets, ticket_parts" in line for line in skipped) and any("ticket_types" in line for line in skipped)
    assert all("read_tickets" in line and "403" in line for line in skipped), skipped
    assert run.state["bookmarks"]["tickets"]["updated_at"] == bookmark["updated_at"] == \
        run.state["bookmarks"]["ticket_parts"]["updated_at"]
    assert {"users", "admins", "conversations"} <= run.streams()
    assert not run.streams() & {"tickets", "ticket_parts", "ticket_types"}
    assert limited not in run.stderr
