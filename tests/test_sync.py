"""The tap end to end through its CLI against the emulator over HTTP: complete, valid, incremental."""
import copy
import json
import socket
import subprocess

import jsonschema
import pytest
from singer.transform import UNIX_SECONDS_INTEGER_DATETIME_PARSING, Transformer

from conftest import ROOT, TAP, discover, run_tap, select_streams, tap_config, wait_until, write_json
from kept import declared_only, lost, null_booleans_as_sent
from tap_intercom.catalog import load_schema
from tap_intercom.records.timestamps import epoch_to_rfc3339
from tap_intercom.streams import STREAMS, STREAMS_BY_NAME

ALL = [stream.name for stream in STREAMS if stream.selected_by_default]


def key_of(stream, record):
    return tuple(str(record[k]) for k in STREAMS_BY_NAME[stream].key)


def with_parent_cursor(truth):
    """Child rows carry their parent's updated_at; the emulator's truth lists parents separately."""
    contacts = {c["id"]: c["updated_at"] for c in truth.get("users", []) + truth.get("contacts", [])}
    conversations = {c["id"]: c["updated_at"] for c in truth.get("conversations", [])}
    for row in truth.get("social_profiles", []):
        row.setdefault("contact_updated_at", contacts.get(row["contact_id"]))
    for row in truth.get("contact_merges", []):
        row.setdefault("merged_into_updated_at", contacts.get(row["merged_into_id"]))
    for row in truth.get("conversation_parts", []) + truth.get("conversation_handling_events", []):
        row.setdefault("conversation_updated_at", conversations.get(row["conversation_id"]))
    tickets = {t["id"]: t["updated_at"] for t in truth.get("tickets", [])}
    for row in truth.get("ticket_parts", []):
        row.setdefault("ticket_updated_at", tickets.get(row["ticket_id"]))
    return truth


def expected_records(stream, truth_records):
    """What the stream's declared fields should hold: the emulator's truth through singer's own Transformer
    (which drops what the schema does not declare: `assert_nothing_lost` checks the rest), a null boolean
    left null (the one place we differ from it)."""
    schema = load_schema(STREAMS_BY_NAME[stream].schema)
    out = {}
    for record in truth_records:
        transformed = Transformer(UNIX_SECONDS_INTEGER_DATETIME_PARSING).transform(copy.deepcopy(record), schema)
        transformed = null_booleans_as_sent(transformed, record, schema)
        out[key_of(stream, transformed)] = transformed
    return out


# What the tap reshapes on purpose: completed lists say has_more false; a contact's avatar sent as a URL is
# written as the spec's {"type": "avatar", "image_url": URL}.
RESHAPED = {"users": {"tags.has_more", "companies.has_more", "notes.has_more", "avatar"},
            "contacts": {"tags.has_more", "companies.has_more", "notes.has_more", "avatar"}}


def assert_nothing_lost(stream, truth_records, emitted):
    """Every non-null value the emulator sent reaches stdout in its record, unchanged or converted without
    loss; and the declared fields hold what singer's Transformer makes of them."""
    schema = load_schema(STREAMS_BY_NAME[stream].schema)
    expected = expected_records(stream, truth_records)
    for sent in truth_records:
        key = key_of(stream, sent)
        assert key in emitted, f"{stream} {key} missing"
        assert lost(sent, emitted[key], ignore=RESHAPED.get(stream, ())) == [], f"{stream} {key}"
        assert comparable(stream, declared_only(emitted[key], schema)) == comparable(stream, expected[key]), \
            f"{stream} {key}"


def comparable(stream, record):
    record = copy.deepcopy(record)
    for name in ("tags", "companies", "notes"):  # the tap marks completed lists has_more: false
        if stream in ("users", "contacts") and isinstance(record.get(name), dict):
            record[name].pop("has_more", None)
    return record


def by_key(stream, records):
    return {key_of(stream, record): record for record in records}


def test_full_sync_equals_ground_truth(tmp_path, emulator):
    emulator.mutate(action="delete", stream="conversations", count=2)  # so deleted_conversations has some
    users = [u["id"] for u in emulator.truth("users")["users"]]
    leads = [c["id"] for c in emulator.truth("contacts")["contacts"]]
    emulator.mutate(action="merge", ids=leads[:2], into=users[0])  # so contact_merges has some
    run = run_tap(tmp_path, tap_config(emulator.url))
    truth = with_parent_cursor(emulator.truth())
    for stream in ALL:
        emitted = by_key(stream, run.records(stream))
        expected = expected_records(stream, truth[stream])
        assert expected, f"the emulator has no {stream}"
        assert set(emitted) == set(expected), f"{stream}: missing {set(expected) - set(emitted)}, " \
                                              f"extra {set(emitted) - set(expected)}"
        assert_nothing_lost(stream, truth[stream], emitted)
    assert emulator.stats()["write_calls"] == 0
    assert run.state["currently_syncing"] is None
    assert set(run.state["bookmarks"]) == {s.name for s in STREAMS if s.replication_key and s.name in ALL}


def test_contacts_carry_complete_lists_and_custom_attributes(tmp_path, emulator):
    run = run_tap(tmp_path, tap_config(emulator.url), catalog=select_streams(
        discover(tmp_path, tap_config(emulator.url)), {"users", "contacts"}))
    contacts = run.records("users") + run.records("contacts")
    long_lists = [c for c in contacts if any(len((c.get(n) or {}).get("data") or []) > 10
                                             for n in ("tags", "companies", "notes"))]
    assert long_lists, "the workspace should hold contacts with more than 10 tags, companies or notes"
    for contact in contacts:
        for name in ("tags", "companies", "notes"):
            listing = contact.get(name) or {}
            assert len(listing.get("data") or []) == (listing.get("total_count") or 0), (contact["id"], name)
    odd = {k for c in contacts for k in (c.get("custom_attributes") or {})}
    assert any(not k.isidentifier() for k in odd), odd


def test_records_validate_against_their_schema_message_which_comes_first(tmp_path, emulator):
    run = run_tap(tmp_path, tap_config(emulator.url))
    schemas = {}
    for message in run.messages:
        if message["type"] == "SCHEMA":
            schemas[message["stream"]] = jsonschema.Draft4Validator(message["schema"])
            assert message["key_properties"] == list(STREAMS_BY_NAME[message["stream"]].key)
        elif message["type"] == "RECORD":
            assert message["stream"] in schemas, f"RECORD of {message['stream']} before its SCHEMA"
            schemas[message["stream"]].validate(message["record"])
    assert set(schemas) == set(ALL)


def test_catalog_json_is_what_discover_prints_offline(tmp_path):
    sample = json.loads((ROOT / "catalog.json").read_text())  # the bundled schemas, free-form custom attributes
    with socket.socket() as closed:  # a port nobody listens on: discovery can neither type nor sample
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert discover(tmp_path, tap_config(f"http://127.0.0.1:{port}", typed_custom_attributes=False)) == sample
    assert discover(tmp_path, tap_config(f"http://127.0.0.1:{port}")) == sample


def test_incremental_sync_after_same_day_changes(tmp_path, emulator):
    config = tap_config(emulator.url)
    first = run_tap(tmp_path, config)
    bookmark = first.state["bookmarks"]["users"]["updated_at"]
    users = [u["id"] for u in first.records("users")]
    leads = [c["id"] for c in first.records("contacts")]
    conversations = [c["id"] for c in first.records("conversations")]
    # Changes land later on the bookmark's own day: a tap filtering `updated_at > bookmark` on Intercom's
    # day-granular contact search would miss every one of them.
    changed = {
        "users": emulator.mutate(action="update", stream="users", ids=users[:4])["ids"],
        "contacts": emulator.mutate(action="update", stream="contacts", ids=leads[:3])["ids"],
        "conversations": emulator.mutate(action="update", stream="conversations", ids=conversations[:2])["ids"],
    }
    added = emulator.mutate(action="add_parts", ids=conversations[2:4], count=2)["ids"]
    created = emulator.mutate(action="create", stream="users", count=2)["ids"]
    emulator.reset_stats()

    second = run_tap(tmp_path, config, state=first.state)
    truth = emulator.truth()
    assert second.state["bookmarks"]["users"]["updated_at"] >= bookmark
    for stream, ids in changed.items():
        emitted = {r["id"]: r for r in second.records(stream)}
        assert set(ids) <= set(emitted), f"{stream}: changed records not re-emitted"
        assert_nothing_lost(stream, [r for r in truth[stream] if r["id"] in ids],
                            {(record_id,): emitted[record_id] for record_id in ids})
        # little else: only records inside the lookback window come again
        assert len(emitted) - len(ids) <= 0.1 * len(truth[stream]) + 3, (stream, len(emitted), len(ids))
    assert set(created) <= {r["id"] for r in second.records("users")}
    new_parts = {p["conversation_id"] for p in second.records("conversation_parts")}
    assert set(map(str, added)) | set(changed["conversations"]) <= new_parts
    truth_parts = {p["id"] for p in truth["conversation_parts"] if p["conversation_id"] in new_parts}
    assert truth_parts <= {p["id"] for p in second.records("conversation_parts")}
    # Companies come whole every run (the scroll has no filter): counts change without updated_at moving.
    assert {r["id"] for r in second.records("companies")} == {c["id"] for c in truth["companies"]}
    assert emulator.stats()["requests"] < 60


def test_field_selection(tmp_path, emulator):
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), {"users", "companies"},
                             deselect_fields={"users": {"email", "custom_attributes", "id", "tags"},
                                              "companies": {"name", "website"}})
    run = run_tap(tmp_path, config, catalog=catalog)
    assert run.streams() == {"users", "companies"}
    for user in run.records("users"):
        assert "email" not in user and "custom_attributes" not in user and "tags" not in user
        assert "id" in user and "updated_at" in user  # automatic fields cannot be deselected
    assert all("name" not in c and "website" not in c for c in run.records("companies"))
    schema_fields = {m["stream"]: set(m["schema"]["properties"]) for m in run.messages if m["type"] == "SCHEMA"}
    assert "email" in schema_fields["users"]
    # a deselected list is not completed: no sub-list calls
    assert not any("/tags" in endpoint for endpoint in emulator.stats()["by_endpoint"] if "contacts" in endpoint)


@pytest.mark.parametrize("child, parent", [("conversation_parts", "conversations"), ("social_profiles", "users"),
                                           ("ticket_parts", "tickets")])
def test_child_stream_selected_alone(tmp_path, emulator, child, parent):
    config = tap_config(emulator.url)
    run = run_tap(tmp_path, config, catalog=select_streams(discover(tmp_path, config), {child}))
    assert run.streams() == {child}
    assert set(by_key(child, run.records(child))) == set(expected_records(child, emulator.truth(child)[child]))
    assert set(run.state["bookmarks"]) == {child}


def test_company_scroll_left_open_by_a_killed_run(tmp_path, emulator):
    emulator.configure(scroll_expiry=3)
    emulator.open_scroll()
    config = tap_config(emulator.url)
    run = run_tap(tmp_path, config, catalog=select_streams(discover(tmp_path, config), {"companies"}))
    assert "scroll is already open" in run.stderr
    assert {r["id"] for r in run.records("companies")} == {c["id"] for c in emulator.truth("companies")["companies"]}


def test_company_scroll_expiring_midway_restarts(tmp_path, emulator):
    config = tap_config(emulator.url)
    emulator.faults(path="/companies/scroll", kind="scroll_reset", count=1, after=1)
    run = run_tap(tmp_path, config, catalog=select_streams(discover(tmp_path, config), {"companies"}))
    assert "restarting it from the first page" in run.stderr
    assert {r["id"] for r in run.records("companies")} == {c["id"] for c in emulator.truth("companies")["companies"]}


def test_conversation_over_500_parts_is_named(tmp_path, emulator):
    config = tap_config(emulator.url)
    run = run_tap(tmp_path, config, catalog=select_streams(discover(tmp_path, config), {"conversation_parts"}))
    truth = emulator.truth()
    assert truth["cut_conversations"]
    for conversation_id in truth["cut_conversations"]:
        assert f"conversation {conversation_id} has" in run.stderr
        parts = [p for p in run.records("conversation_parts") if p["conversation_id"] == str(conversation_id)]
        assert len(parts) == 500


def test_a_404_between_listing_and_fetching_is_owed_to_the_next_run(tmp_path, emulator):
    # Intercom's 404 may be transient: the parts are owed (retried next run), not dropped for good
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), {"conversation_parts"})
    emulator.faults(method="GET", path="/conversations/", kind="404", count=1)
    run = run_tap(tmp_path, config, catalog=catalog, check=False)
    assert run.returncode == 1 and "the next run retries it" in run.stderr
    assert [entry["stream"] for entry in run.state["owed"]] == ["conversation_parts"]
    again = run_tap(tmp_path, config, catalog=catalog, state=run.state)
    assert again.state["owed"] == []


def test_records_updated_mid_sync_are_not_lost(tmp_path, make_emulator):
    emulator = make_emulator(seed=5, contacts=400, companies=5, conversations=5, latency_ms=40)
    config = tap_config(emulator.url, page_size=25)
    catalog = select_streams(discover(tmp_path, config), {"users", "contacts"})
    before = {c["id"] for c in emulator.truth("users")["users"] + emulator.truth("contacts")["contacts"]}
    proc = subprocess.Popen([TAP, "--config", write_json(tmp_path, "c.json", config),
                             "--catalog", write_json(tmp_path, "k.json", catalog)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = [proc.stdout.readline() for _ in range(60)]  # some pages are out: now change what was read
    read = [json.loads(line)["record"] for line in lines if '"RECORD"' in line]
    moved = emulator.mutate(action="update", stream="users",
                            ids=[r["id"] for r in read if r["role"] == "user"][:5])["ids"]
    out = proc.stdout.read()  # not communicate(): it would skip what readline() already buffered
    assert proc.wait(timeout=300) == 0
    read = [r["id"] for r in read]
    seen = read + [json.loads(line)["record"]["id"] for line in out.splitlines() if '"RECORD"' in line]
    assert before <= set(seen)
    assert all(seen.count(record_id) >= 1 for record_id in moved)


def test_deselecting_one_stream_keeps_the_others(tmp_path, emulator):
    config = tap_config(emulator.url)
    catalog = discover(tmp_path, config)
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] != "social_profiles":
            continue
        entry["metadata"][0]["metadata"]["selected"] = False
    run = run_tap(tmp_path, config, catalog=catalog)
    # none deleted or merged yet
    assert run.streams() == set(ALL) - {"social_profiles", "deleted_conversations", "contact_merges"}


def test_gzip_compressed_responses(tmp_path, make_emulator):
    emulator = make_emulator(seed=11, contacts=120, companies=20, conversations=15, gzip=True)
    run = run_tap(tmp_path, tap_config(emulator.url))
    truth = emulator.truth()
    for stream in ("users", "contacts", "conversation_parts", "companies"):
        assert set(by_key(stream, run.records(stream))) == set(expected_records(stream, truth[stream]))


def test_a_slow_target_does_not_let_the_company_scroll_expire(tmp_path, make_emulator):
    emulator = make_emulator(seed=8, contacts=20, companies=2500, conversations=5, scroll_expiry=2)
    config = tap_config(emulator.url)
    catalog = select_streams(discover(tmp_path, config), {"companies"})
    emulator.reset_stats()
    proc = subprocess.Popen([TAP, "--config", write_json(tmp_path, "c.json", config),
                             "--catalog", write_json(tmp_path, "k.json", catalog)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # A target busy loading reads nothing: the pipe fills (2,500 companies are far more than a pipe holds), yet
    # the tap reads the scroll to its end (51 pages of 50, the last empty) before anyone reads a line.
    wait_until(lambda: emulator.stats()["by_endpoint"].get("GET /companies/scroll", 0) >= 51,
               "the scroll read to its end while stdout is not read", timeout=120)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert b"restarting it" not in err
    ids = {json.loads(line)["record"]["id"] for line in out.splitlines() if b'"RECORD"' in line}
    assert ids == {c["id"] for c in emulator.truth("companies")["companies"]}


def test_a_search_that_refuses_sorting_is_read_unsorted_and_bookmarked_at_the_end(tmp_path, emulator):
    config = tap_config(emulator.url, page_size=20)
    catalog = select_streams(discover(tmp_path, config), {"conversations"})  # (its sample would take the fault)
    emulator.faults(method="POST", path="/conversations/search", kind="400", count=1)
    run = run_tap(tmp_path, config, catalog=catalog)
    assert "refused the sort" in run.stderr
    truth = emulator.truth("conversations")["conversations"]
    assert {r["id"] for r in run.records("conversations")} == {c["id"] for c in truth}
    assert run.state["bookmarks"]["conversations"]["updated_at"] == epoch_to_rfc3339(
        max(c["updated_at"] for c in truth))


def test_a_stream_selected_later_reads_from_the_start_beside_its_siblings_bookmark(tmp_path, make_emulator):
    """users and contacts share the contact search; when contacts joins after users has a bookmark, the one search
    reads from contacts' start while users still takes only what changed since its own bookmark (reconciliation
    passes off: a pass would read users whole too, at no extra call)."""
    emulator = make_emulator(seed=11, contacts=300, companies=5, conversations=5)
    config = tap_config(emulator.url, page_size=25, reconcile_interval_hours=0)
    first = run_tap(tmp_path, config, catalog=select_streams(discover(tmp_path, config), {"users"}))
    assert first.returncode == 0 and first.records("users")
    changed = emulator.mutate(action="update", stream="users", ids=[r["id"] for r in first.records("users")][:3])
    second = run_tap(tmp_path, config, catalog=select_streams(discover(tmp_path, config), {"users", "contacts"}),
                     state=first.state)
    assert second.returncode == 0
    leads = {c["id"] for c in emulator.truth("contacts")["contacts"]}
    assert {r["id"] for r in second.records("contacts")} == leads  # every lead, from the start
    users_again = {r["id"] for r in second.records("users")}
    assert set(changed["ids"]) <= users_again  # what changed since the bookmark
    assert len(users_again) < len(first.records("users"))  # and not every user again
    assert all(r["role"] == "user" for r in second.records("users"))
