"""Deletions: table versions, ACTIVATE_VERSION and reconciliation passes, through the installed CLI against the
emulator. `Warehouse` applies the tap's messages as meltanolabs-target-postgres does (upsert on the key; a row
keeps the version of its last RECORD, none without; ACTIVATE_VERSION v marks deleted every row of an older
version or of none); tests/test_e2e_deletions.py checks the same against the real target."""
import random

from conftest import killed_run, run_tap, tap_config
from tap_intercom.engine.reconcile import NEVER_RECONCILED
from tap_intercom.streams import STREAMS as EVERY_STREAM, STREAMS_BY_NAME, social_profile_rows

STREAMS = [s for s in EVERY_STREAM if s.selected_by_default]  # what a run without a catalog syncs

INCREMENTAL = [s.name for s in STREAMS if s.replication_key and not s.history]  # history: never versioned
FULL_TABLE = [s.name for s in STREAMS if not s.replication_key]
SENT_IN_2_16 = {"GET /conversations/deleted", "GET /macros", "GET /office_hours_schedules",
                "GET /conversations/attributes", "GET /custom_object_instances/{type}", "POST /contacts/search"}
OFTEN = {"reconcile_interval_hours": 0.00001, "reconcile_parts_interval_hours": 0.00001}  # a pass every run


def key_of(stream, record):
    return tuple(str(record[k]) for k in STREAMS_BY_NAME[stream].key)


class Warehouse:
    def __init__(self):
        self.rows = {s.name: {} for s in STREAMS}  # stream -> key -> [version, deleted]

    def apply(self, messages):
        for m in messages:
            if m["type"] == "RECORD":
                self.rows[m["stream"]][key_of(m["stream"], m["record"])] = [m.get("version"), False]
            elif m["type"] == "ACTIVATE_VERSION":
                for row in self.rows[m["stream"]].values():
                    if row[0] is None or row[0] < m["version"]:
                        row[1] = True
        return self

    def live(self, stream):
        return {key for key, (_, deleted) in self.rows[stream].items() if not deleted}


def truth_keys(emulator):
    truth = emulator.truth()
    return {s.name: {key_of(s.name, r) for r in truth[s.name]} for s in STREAMS if not s.history}


def remove_things(emulator, first):
    """Deletes, merges, converts and changes between two runs; returns what must leave which table."""
    users = sorted(r["id"] for r in first.records("users"))
    leads = sorted(r["id"] for r in first.records("contacts"))
    with_profiles = sorted({r["contact_id"] for r in first.records("social_profiles")} - set(users[:2] + leads[:5]))
    conversations = sorted(r["id"] for r in first.records("conversations"))
    emulator.mutate(action="delete", stream="users", ids=users[:2])
    emulator.mutate(action="delete", stream="contacts", ids=leads[:1])
    emulator.mutate(action="merge", ids=leads[1:3], into=users[5])
    emulator.mutate(action="convert", ids=leads[3:5])
    emulator.mutate(action="remove_social_profile", ids=with_profiles[:2])
    emulator.mutate(action="change_social_profile", ids=with_profiles[2:4])
    emulator.mutate(action="delete", stream="conversations", ids=conversations[:3])
    emulator.mutate(action="delete", stream="companies", count=2)
    emulator.mutate(action="delete", stream="tags", ids=[r["id"] for r in first.records("tags")][:2])
    emulator.mutate(action="delete", stream="tickets", ids=sorted(r["id"] for r in first.records("tickets"))[:2])
    return {"users": users[:2], "contacts": leads[:5], "conversations": conversations[:3], "converted": leads[3:5]}


def activations(run):
    return {m["stream"]: m["version"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"}


def test_full_table_streams_and_companies_are_a_new_version_every_run(tmp_path, emulator):
    config = tap_config(emulator.url)
    first = run_tap(tmp_path, config)
    second = run_tap(tmp_path, config, state=first.state)
    for run in (first, second):
        active = activations(run)
        for stream in FULL_TABLE:
            assert {m.get("version") for m in run.messages if m.get("stream") == stream
                    and m["type"] == "RECORD"} == {active[stream]}, stream
            last_record = max(i for i, m in enumerate(run.messages) if m["type"] == "RECORD" and m["stream"] == stream)
            assert run.messages[last_record + 1:].count(
                {"type": "ACTIVATE_VERSION", "stream": stream, "version": active[stream]}) == 1, stream
        assert "companies" in FULL_TABLE and len(run.records("companies")) == len(emulator.truth()["companies"])
    assert all(activations(second)[s] > activations(first)[s] for s in FULL_TABLE)
    # The first run of a stream is its first pass; the next, a day earlier than 24 hours, is plain incremental.
    assert set(INCREMENTAL) - NEVER_RECONCILED <= set(activations(first))
    assert not set(INCREMENTAL) & set(activations(second))
    assert all("version" not in m for m in second.messages if m.get("stream") in INCREMENTAL)


def test_a_pass_removes_deleted_merged_and_converted_records(tmp_path, emulator):
    config = tap_config(emulator.url)
    first = run_tap(tmp_path, config)
    warehouse = Warehouse().apply(first.messages)
    removed = remove_things(emulator, first)
    emulator.reset_stats()
    second = run_tap(tmp_path, {**config, **OFTEN}, state=first.state)
    warehouse.apply(second.messages)
    truth = truth_keys(emulator)
    for stream in truth:
        assert warehouse.live(stream) == truth[stream], stream
    for lead in removed["converted"]:  # a converted lead leaves contacts and is a user
        assert (lead,) in warehouse.live("users") and (lead,) not in warehouse.live("contacts")
    assert {r["id"] for r in second.records("deleted_conversations")} == set(map(str, removed["conversations"]))
    # Only the endpoints of 2.16 (and the contact search, for contact_merges) are sent in 2.16; every other
    # call in the configured version.
    by_endpoint, versions = emulator.stats()["by_endpoint"], emulator.stats()["versions"]
    newer = sum(count for endpoint, count in by_endpoint.items() if endpoint in SENT_IN_2_16)
    assert by_endpoint["GET /conversations/deleted"] and versions == {"2.14": emulator.stats()["requests"] - newer,
                                                                      "2.16": newer}


def test_intervals_decide_which_streams_pass(tmp_path, emulator):
    config = tap_config(emulator.url)
    first = run_tap(tmp_path, config)
    emulator.reset_stats()
    contacts_only = run_tap(tmp_path, {**config, "reconcile_interval_hours": 0.00001}, state=first.state)
    assert set(activations(contacts_only)) == set(FULL_TABLE) | {"users", "contacts", "social_profiles",
                                                                  "conversations", "tickets", "macros",
                                                                  "contact_merges"} | {
        "contact_tags", "contact_companies", "conversation_tags", "conversation_contacts", "conversation_teammates",
        "ticket_contacts"}  # link streams pass with their parent's search
    conversations = len(emulator.truth()["conversations"])
    assert len(contacts_only.records("conversations")) == conversations
    # Parts are not reconciled: only the conversations in the lookback window are fetched, not every one.
    assert emulator.stats()["by_endpoint"].get("GET /conversations/{id}", 0) < conversations / 2
    (tmp_path / "never").mkdir()
    never = run_tap(tmp_path / "never", {**config, "reconcile_interval_hours": 0, "reconcile_parts_interval_hours": 0})
    assert set(activations(never)) == set(FULL_TABLE)
    assert not any("reconciled_at" in b or "version" in b for b in never.state["bookmarks"].values())


def test_released_state_files_still_work(tmp_path, emulator):
    released = {"bookmarks": {"users": {"updated_at": "2000-01-01T00:00:00.000000Z"},
                              "companies": {"updated_at": "2026-01-01T00:00:00.000000Z"}},
                "currently_syncing": None}
    run = run_tap(tmp_path, tap_config(emulator.url), state=released)
    # No pass yet: the interval starts now (an upgrade costs no full re-read), and the next due run passes.
    assert "users" not in activations(run) and "reconciled_at" in run.state["bookmarks"]["users"]
    assert "companies" not in run.state["bookmarks"] and "companies" in activations(run)
    later = run_tap(tmp_path, {**tap_config(emulator.url), **OFTEN}, state=run.state)
    assert "users" in activations(later)
    bad = {"bookmarks": {"users": {"updated_at": "2000-01-01T00:00:00Z", "version": "x"}}}
    refused = run_tap(tmp_path, tap_config(emulator.url), state=bad, check=False)
    assert refused.returncode == 1 and "version of 'users'" in refused.stderr and "Traceback" not in refused.stderr


def test_deleted_conversations_refused_is_skipped_with_one_warning(tmp_path, emulator):
    for kind in ("404", "400"):
        emulator.faults(path="/conversations/deleted", kind=kind, count=1)
        run = run_tap(tmp_path, tap_config(emulator.url))
        assert run.stderr.count("deleted_conversations: skipped") == 1
        assert "deleted_conversations" not in activations(run) and run.records("users")


def test_a_pass_killed_at_random_points_never_removes_a_live_row(tmp_path, make_emulator):
    emulator = make_emulator(seed=23, contacts=260, companies=40, conversations=40)
    config = {**tap_config(emulator.url, page_size=30, max_workers=4), **OFTEN}
    first = run_tap(tmp_path, config)
    remove_things(emulator, first)
    truth = truth_keys(emulator)
    (tmp_path / "count").mkdir()
    total_lines = len(run_tap(tmp_path / "count", config, state=first.state).messages)
    rng = random.Random(77)
    under_way = 0  # killed runs that left a pass to resume
    for chain in range(4):
        warehouse = Warehouse().apply(first.messages)
        kept = {s: warehouse.live(s) & truth[s] for s in truth}  # live rows the warehouse has: they must stay
        state, runs, completed = first.state, 0, False
        while not completed:
            runs += 1
            kill_at = rng.randint(1, total_lines) if runs < 6 else 10 ** 9
            completed, messages, state = killed_run(tmp_path, config, state, kill_at)
            warehouse.apply(messages)
            under_way += not completed and any("version" in b for b in state["bookmarks"].values())
            for stream, keys in kept.items():
                assert keys <= warehouse.live(stream), f"chain {chain} run {runs}: live {stream} rows removed"
        for stream in truth:
            assert warehouse.live(stream) == truth[stream], f"chain {chain}: {stream}"
    assert under_way >= 4


def test_a_contacts_identical_social_profiles_make_one_row():
    twitter = {"type": "social_profile", "name": "Twitter", "url": "https://twitter.com/ada"}
    contact = {"id": "c1", "updated_at": 5, "social_profiles": {"data": [twitter, dict(twitter),
                                                                         dict(twitter, name="X")]}}
    rows = social_profile_rows(contact, None)
    assert [(r["contact_id"], r["name"], r["url"]) for r in rows] == [("c1", "Twitter", twitter["url"]),
                                                                      ("c1", "X", twitter["url"])]



def test_a_pass_with_an_owed_fetch_waits_to_activate(tmp_path, emulator):
    config = {**tap_config(emulator.url, max_retries=0), **OFTEN}
    first = run_tap(tmp_path, config)
    warehouse = Warehouse().apply(first.messages)
    conversation = sorted(r["id"] for r in first.records("conversations"))[5]
    emulator.faults(path=f"/conversations/{conversation}", kind="500", count=1)
    failing = run_tap(tmp_path, config, state=first.state, check=False)
    warehouse.apply(failing.messages)
    assert "conversation_parts" not in activations(failing) and "conversations" in activations(failing)
    assert "conversation_parts: not activating" in failing.stderr
    parts = {(p["id"],) for p in emulator.truth()["conversation_parts"] if p["conversation_id"] == conversation}
    assert parts and parts <= warehouse.live("conversation_parts")  # its parts were not removed
    # The next run fetches what is owed, resumes the pass with the same version and activates it.
    version = failing.state["bookmarks"]["conversation_parts"]["version"]
    settled = run_tap(tmp_path, config, state=failing.state)
    assert activations(settled)["conversation_parts"] == version
    warehouse.apply(settled.messages)
    assert warehouse.live("conversation_parts") == {(p["id"],) for p in emulator.truth()["conversation_parts"]}
