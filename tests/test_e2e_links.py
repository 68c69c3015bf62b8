"""Link tables and history streams: the CLI against the emulator, then end to end into PostgreSQL (both
targets) and DuckDB, with the emulator's relations changed between runs.

The current links are read through the queries docs/QUERIES.md documents (the README's view), and compared
with the emulator's relations; a reconciliation pass then removes (hard delete) or marks (soft delete) the
stale rows. History tables hold every version the runs emitted, none removed. Needs `scripts/e2e_setup.sh`
for the target tests (PostgreSQL running, .e2e/target-postgres, .e2e/pipelinewise-target-postgres,
.e2e/target-duckdb). Schemas and files are prefixed `i16_`.
"""
import json
import os
import re
import subprocess

import pytest

from conftest import ROOT, TAP, discover, killed_run, run_tap, select_streams, tap_config, write_json
from test_deletions import OFTEN
from test_e2e_postgres import E2E, PG, TARGET_POSTGRES, epoch, pg_drop_schema, pg_query, pg_target_config, \
    require_e2e_setup
from test_sync import expected_records
from tap_intercom.records import links
from tap_intercom.streams import STREAMS, STREAMS_BY_NAME

PIPELINEWISE = E2E / "pipelinewise-target-postgres" / "bin" / "target-postgres"
TARGET_DUCKDB = E2E / "target-duckdb" / "bin" / "target-duckdb"
LINKS = ["contact_tags", "contact_companies", "company_tags", "company_segment_memberships", "conversation_tags",
         "conversation_contacts", "conversation_teammates", "ticket_contacts", "team_admins"]
HISTORY = {"users_history": "users", "contacts_history": "contacts", "companies_history": "companies",
           "conversations_history": "conversations", "tickets_history": "tickets"}
PARENT = {"contact": None, "company": "companies", "conversation": "conversations", "ticket": "tickets"}
FULL_TABLE_LINKS = {"company_tags", "company_segment_memberships", "team_admins"}


def pair(stream, row):
    return tuple(str(row[k]) for k in STREAMS_BY_NAME[stream].key)


def truth_pairs(emulator):
    truth = emulator.truth()
    return {stream: {pair(stream, row) for row in truth[stream]} for stream in LINKS}


def everything(tmp_path, config):
    """A catalog selecting every stream, the history streams too."""
    return select_streams(discover(tmp_path, config), {s.name for s in STREAMS})


def documented_queries(dialect="postgres"):
    """{name: sql} from docs/QUERIES.md: the plain blocks, or a block's `(duckdb)` variant for DuckDB."""
    text = (ROOT / "docs" / "QUERIES.md").read_text(encoding="utf-8")
    plain, duck = {}, {}
    for block in re.findall(r"```sql\n(.*?)```", text, re.S):
        match = re.match(r"-- query: (\w+)( \(duckdb\))?\n", block)
        assert match, f"a docs/QUERIES.md block does not begin with '-- query: <name>': {block[:60]!r}"
        (duck if match.group(2) else plain)[match.group(1)] = block[match.end():].strip()
    return {**plain, **duck} if dialect == "duckdb" else plain


def current_query(stream, sql, deleted_column=False):
    """The documented current-links query, as its two ids (soft deletes: the live rows only)."""
    a, b = STREAMS_BY_NAME[stream].key
    where = " WHERE l._sdc_deleted_at IS NULL" if deleted_column else ""
    return f'SELECT "{a}"::text, "{b}"::text FROM ({sql}{where}) q'


def load(tmp_path, name, target, target_config, tap_config_value, catalog, state=None):
    """tap | target: (the tap's messages, the state the target passed on)."""
    folder = tmp_path / name
    folder.mkdir()
    cmd = [TAP, "--config", write_json(folder, "tap.json", tap_config_value),
           "--catalog", write_json(folder, "catalog.json", catalog)]
    if state is not None:
        cmd += ["--state", write_json(folder, "state.json", state)]
    tap = subprocess.run(cmd, capture_output=True, timeout=300)
    assert tap.returncode == 0, tap.stderr.decode()[-3000:]
    out = subprocess.run([str(target), "--config", write_json(folder, "target.json", target_config)],
                         input=tap.stdout, capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-3000:]
    states = out.stdout.decode().strip().splitlines()
    messages = [json.loads(line) for line in tap.stdout.decode().splitlines()]
    return messages, (json.loads(states[-1]) if states else state)


def records(messages, stream):
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def change_links(emulator):
    """Add and remove one relation of each mutable kind: [(link stream, parent id, child id, added)]."""
    truth = emulator.truth()
    done = []

    def change(relation, parent, added, child=None):
        body = {"action": "link" if added else "unlink", "relation": relation, "id": parent}
        if child is not None:
            body["child"] = child
        answer = emulator.mutate(**body)
        done.append((relation, parent, answer["child"], added))

    conversations = [c["id"] for c in truth["conversations"]]
    tagged = sorted({r["conversation_id"] for r in truth["conversation_tags"]})
    change("conversation_tags", tagged[0], False)
    change("conversation_tags", next(c for c in conversations if c != tagged[0]), True)
    change("conversation_contacts", conversations[1], True)
    change("conversation_contacts", conversations[2], False)
    change("conversation_teammates", conversations[3], True)
    contacts_with_tags = sorted({r["contact_id"] for r in truth["contact_tags"]})
    change("contact_tags", contacts_with_tags[0], False)
    change("contact_tags", contacts_with_tags[1], True)
    users_with_companies = sorted({r["contact_id"] for r in truth["contact_companies"]})
    change("contact_companies", users_with_companies[0], False)
    change("contact_companies", users_with_companies[1], True)
    tagged_companies = sorted({r["company_id"] for r in truth["company_tags"]})
    change("company_tags", tagged_companies[0], False)
    change("company_tags", truth["companies"][-1]["id"], True)
    change("ticket_contacts", truth["tickets"][0]["id"], True)
    change("ticket_contacts", truth["tickets"][1]["id"], False)
    teams = truth["teams"]
    change("team_admins", teams[0]["id"], False)
    change("team_admins", teams[1]["id"], True)
    return done


# ---- the CLI against the emulator (no target) -----------------------------------------------------------

def test_link_streams_alone_equal_the_relations_at_no_extra_call(tmp_path, emulator):
    config = tap_config(emulator.url)
    catalog = discover(tmp_path, config)
    parents = ["users", "contacts", "companies", "conversations", "tickets", "teams"]
    emulator.reset_stats()
    run_tap(tmp_path, config, catalog=select_streams(catalog, set(parents)))
    parent_calls = emulator.stats()["by_endpoint"]
    emulator.reset_stats()
    run = run_tap(tmp_path, config, catalog=select_streams(catalog, set(LINKS)))
    # the parents' calls and no other (less the contacts' long note lists, which no link needs)
    assert emulator.stats()["by_endpoint"] == {k: n for k, n in parent_calls.items() if not k.endswith("/notes")}
    assert run.streams() == set(LINKS)  # the parents are read, not emitted
    truth = emulator.truth()
    for stream in LINKS:
        expected = expected_records(stream, truth[stream])
        emitted = {pair(stream, r): r for r in run.records(stream)}
        assert expected and emitted == expected, stream
    # users' complete lists: more than the 10 embedded tags and companies reach the link tables
    per_contact = {}
    for row in run.records("contact_tags"):
        per_contact[row["contact_id"]] = per_contact.get(row["contact_id"], 0) + 1
    assert max(per_contact.values()) > 10
    # with their parents, the lists are fetched once: the same calls again
    emulator.reset_stats()
    run_tap(tmp_path, config, catalog=select_streams(catalog, set(parents) | set(LINKS) | set(HISTORY)))
    assert emulator.stats()["by_endpoint"] == parent_calls


def test_history_streams_are_never_versioned_nor_selected_by_default(tmp_path, emulator):
    config = tap_config(emulator.url)
    catalog = discover(tmp_path, config)
    defaults = {e["tap_stream_id"]: e["metadata"][0]["metadata"]["selected-by-default"] for e in catalog["streams"]}
    opt_in = {"conversation_handling_events", "message_receipts", "message_events", "message_checkpoints"}
    assert {name for name, on in defaults.items() if not on} - opt_in == set(HISTORY)
    assert not set(HISTORY) & run_tap(tmp_path, config).streams()  # no catalog: every stream selected by default
    chosen = select_streams(catalog, set(HISTORY))
    first = run_tap(tmp_path, {**config, **OFTEN}, catalog=chosen)
    truth = emulator.truth()
    for stream, parent in HISTORY.items():
        assert {(r["id"], epoch(r["updated_at"])) for r in first.records(stream)} == \
            {(r["id"], r["updated_at"]) for r in truth[parent]}, stream
    assert not [m for m in first.messages if m["type"] == "ACTIVATE_VERSION" or
                (m["type"] == "RECORD" and "version" in m)]
    changed = emulator.mutate(action="update", stream="conversations", count=3)
    second = run_tap(tmp_path, {**config, **OFTEN}, catalog=chosen, state=first.state)
    assert not [m for m in second.messages if m["type"] == "ACTIVATE_VERSION" or
                (m["type"] == "RECORD" and "version" in m)]
    for conversation_id in changed["ids"]:
        seen = {r["updated_at"] for run in (first, second) for r in run.records("conversations_history")
                if r["id"] == conversation_id}
        assert len(seen) == 2 and max(map(epoch, seen)) == changed["updated_at"], conversation_id


def test_link_streams_alone_resume_after_a_kill_without_a_gap(tmp_path, emulator):
    config = tap_config(emulator.url, page_size=20, max_workers=2)
    chosen = select_streams(discover(tmp_path, config), {"contact_tags", "contact_companies", "conversation_tags",
                                                         "conversation_teammates"})
    folder = tmp_path / "killed"
    folder.mkdir()
    completed, kept, state = killed_run(folder, config, None, 150, catalog=chosen, min_states=1)
    assert not completed and any(state["bookmarks"].get(s) for s in ("contact_tags", "conversation_tags"))
    resumed = run_tap(tmp_path, config, catalog=chosen, state=state)
    truth = truth_pairs(emulator)
    for stream in ("contact_tags", "contact_companies", "conversation_tags", "conversation_teammates"):
        got = {pair(stream, m["record"]) for m in kept if m.get("stream") == stream and m["type"] == "RECORD"} \
            | {pair(stream, r) for r in resumed.records(stream)}
        assert got == truth[stream], stream


def test_a_failed_list_fetch_is_owed_by_contact_tags_and_settled_next_run(tmp_path, emulator):
    config = tap_config(emulator.url)
    chosen = select_streams(discover(tmp_path, config), {"contact_tags"})
    truth = emulator.truth()
    counts = {}
    for row in truth["contact_tags"]:
        counts[row["contact_id"]] = counts.get(row["contact_id"], 0) + 1
    heavy = sorted(cid for cid, n in counts.items() if n > 10)[0]
    emulator.faults(kind="404", path=f"/contacts/{heavy}/tags", count=1)
    first = run_tap(tmp_path, config, catalog=chosen, check=False)
    assert first.returncode != 0 and "owed to the next run" in first.stderr
    assert first.state["owed"] == [{"stream": "contact_tags", "id": heavy, "runs": 1}]
    assert 0 < len([r for r in first.records("contact_tags") if r["contact_id"] == heavy]) <= 10  # the embedded 10
    second = run_tap(tmp_path, config, catalog=chosen, state=first.state)
    assert second.state["owed"] == []
    assert {r["tag_id"] for r in second.records("contact_tags") if r["contact_id"] == heavy} == \
        {r["tag_id"] for r in truth["contact_tags"] if r["contact_id"] == heavy}


def test_conversation_teammates_reads_both_shapes():
    """Live workspaces send teammates as admin.list/admins (API-NOTES 10); the spec, a teammates list."""
    base = {"id": "7", "updated_at": 1700000000}
    real = dict(base, teammates={"type": "admin.list",
                                 "admins": [{"type": "admin", "id": 11}, {"type": "admin", "id": "12"}]})
    spec = dict(base, teammates={"type": "admin.list", "teammates": [{"type": "admin", "id": "11"}]})
    assert [r["admin_id"] for r in links.conversation_teammate_rows(real, None)] == ["11", "12"]
    assert [r["admin_id"] for r in links.conversation_teammate_rows(spec, None)] == ["11"]
    assert links.conversation_teammate_rows(dict(base, teammates=None), None) == []


# ---- end to end ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hard_delete", [True, False], ids=["hard_delete", "soft_delete"])
def test_meltanolabs_postgres_current_links_follow_intercom_and_a_pass_removes_the_stale(make_emulator, tmp_path,
                                                                                          hard_delete):
    require_e2e_setup()
    emulator = make_emulator(seed=41, contacts=150, companies=25, conversations=40)
    schema = f"i16_links_{'hard' if hard_delete else 'soft'}_{os.getpid()}"
    pg_drop_schema(schema)
    target_config = {**pg_target_config(schema), "add_record_metadata": True, "activate_version": True,
                     "hard_delete": hard_delete}
    config = tap_config(emulator.url)  # reconcile_interval_hours 24: the second run is no pass
    catalog = everything(tmp_path, config)
    queries = documented_queries()
    soft = not hard_delete

    def current():
        answers = pg_query(f'SET search_path TO "{schema}"',
                           *[current_query(s, queries[f"current_{s}"], soft) for s in LINKS if s != "team_admins"])
        found = {s: {tuple(r) for r in rows} for s, rows in zip([s for s in LINKS if s != "team_admins"], answers[1:])}
        live = " WHERE _sdc_deleted_at IS NULL" if soft else ""
        found["team_admins"] = {tuple(r) for r in pg_query(
            f'SELECT team_id, admin_id FROM "{schema}".team_admins{live}')[0]}
        return found

    def table(stream, where=""):
        a, b = STREAMS_BY_NAME[stream].key
        return {tuple(r) for r in pg_query(f'SELECT {a}::text, {b}::text FROM "{schema}"."{stream}" {where}')[0]}

    first, state = load(tmp_path, "run1", TARGET_POSTGRES, target_config, config, catalog)
    assert current() == truth_pairs(emulator)
    if hard_delete:
        check_documented_answers(schema, emulator)

    changes = change_links(emulator)
    second, state = load(tmp_path, "run2", TARGET_POSTGRES, target_config, config, catalog, state)
    truth = truth_pairs(emulator)
    assert current() == truth
    for stream, parent, child, added in changes:
        key = (parent, child)
        assert (key in truth[stream]) == added, (stream, key)
        if not added and stream not in FULL_TABLE_LINKS:  # stale until the pass: in the table, not current
            assert key in table(stream), (stream, key)
        if not added and stream in FULL_TABLE_LINKS:  # full table: gone (or marked) this run
            assert key not in table(stream, "WHERE _sdc_deleted_at IS NULL"), (stream, key)
            assert (key in table(stream)) == soft, (stream, key)

    third, _ = load(tmp_path, "run3", TARGET_POSTGRES, target_config, {**config, **OFTEN}, catalog, state)
    assert current() == truth
    for stream in LINKS:
        if hard_delete:
            assert table(stream) == truth[stream], stream
        else:
            assert table(stream, "WHERE _sdc_deleted_at IS NULL") == truth[stream], stream
            removed = {(parent, child) for s, parent, child, added in changes if s == stream and not added}
            assert removed <= table(stream, "WHERE _sdc_deleted_at IS NOT NULL"), stream

    # History: every version the runs emitted, none removed by the pass.
    runs = (first, second, third)
    for stream, parent in HISTORY.items():
        emitted = {(r["id"], epoch(r["updated_at"])) for run in runs for r in records(run, stream)}
        assert emitted == {(r["id"], epoch(r["updated_at"])) for run in runs for r in records(run, parent)}
        loaded = {(r[0], int(r[1])) for r in pg_query(
            f'SELECT id, EXTRACT(EPOCH FROM updated_at)::bigint FROM "{schema}"."{stream}"')[0]}
        assert loaded == emitted, stream
    changed_conversations = {parent for s, parent, _, _ in changes if s.startswith("conversation_")}
    versions = pg_query(f'SELECT id, count(*) FROM "{schema}".conversations_history GROUP BY id')[0]
    assert all(n >= 2 for cid, n in versions if cid in changed_conversations)
    pg_drop_schema(schema)


def check_documented_answers(schema, emulator):
    """Every docs/QUERIES.md query runs against the loaded PostgreSQL and answers as the workspace says."""
    queries = documented_queries()
    names = list(queries)
    answers = dict(zip(names, pg_query(f'SET search_path TO "{schema}"', *queries.values())[1:]))
    truth = emulator.truth()
    tag_names = {t["id"]: t["name"] for t in truth["tags"]}
    per_tag = {}
    for row in truth["conversation_tags"]:
        name = tag_names.get(row["tag_id"], row["name"])
        per_tag[name] = per_tag.get(name, 0) + 1
    weekly = {}
    for tag, _week, count in answers["conversations_per_tag_per_week"]:
        weekly[tag] = weekly.get(tag, 0) + count
    assert weekly == per_tag and per_tag
    conversations = {c["id"]: c for c in truth["conversations"]}
    per_admin, open_per_admin = {}, {}
    for row in truth["conversation_teammates"]:
        per_admin[row["admin_id"]] = per_admin.get(row["admin_id"], 0) + 1
        open_per_admin[row["admin_id"]] = open_per_admin.get(row["admin_id"], 0) + \
            int(conversations[row["conversation_id"]]["open"])
    assert {r[0]: (r[2], r[3]) for r in answers["teammate_conversations"]} == \
        {a: (n, open_per_admin[a]) for a, n in per_admin.items()}
    assert {r[0]: (r[2], r[3]) for r in answers["response_times"]} == \
        {cid: (c["statistics"]["time_to_admin_reply"], c["statistics"]["time_to_first_close"])
         for cid, c in conversations.items()}
    assert any(r[2] is not None for r in answers["response_times"]) and any(r[3] is not None
                                                                          for r in answers["response_times"])
    assert sum(r[1] for r in answers["response_times_per_week"]) == len(conversations)
    assert {(r[0], r[1]) for r in answers["contact_companies"]} == \
        {(r["contact_id"], r["company_id"]) for r in truth["contact_companies"]}
    versions = answers["conversation_versions"]
    assert len([r for r in versions if r[2] is None]) == len(conversations) == len(versions)  # one version each


def test_pipelinewise_postgres_and_duckdb_load_every_new_table(make_emulator, tmp_path):
    require_e2e_setup()
    for target in (PIPELINEWISE, TARGET_DUCKDB):
        if not target.exists():
            pytest.fail(f"{target} is missing: run scripts/e2e_setup.sh first (scripts/test.sh does)")
    emulator = make_emulator(seed=43, contacts=120, companies=20, conversations=30)
    config = tap_config(emulator.url)
    catalog = everything(tmp_path, config)
    new = LINKS + list(HISTORY)
    schema = f"i16_pw_{os.getpid()}"
    pg_drop_schema(schema)
    pw_config = {"host": PG["host"], "port": PG["port"], "user": PG["user"], "password": PG["password"],
                 "dbname": PG["dbname"], "default_target_schema": schema}
    messages, _ = load(tmp_path, "pw", PIPELINEWISE, pw_config, config, catalog)
    expected = {s: {pair(s, r) for r in records(messages, s)} for s in new}
    assert all(expected.values())
    for stream in new:
        a, b = STREAMS_BY_NAME[stream].key
        cast = "::text" if b != "updated_at" else ""
        rows = pg_query(f'SELECT {a}::text, {b}{cast} FROM "{schema}"."{stream}"')[0]
        if b == "updated_at":
            continue  # timestamps: compared on DuckDB below by count
        assert {tuple(r) for r in rows} == expected[stream], stream
    counts = pg_query(*[f'SELECT count(*) FROM "{schema}"."{s}"' for s in new])
    assert [c[0][0] for c in counts] == [len(expected[s]) for s in new]
    queries = documented_queries()
    answers = pg_query(f'SET search_path TO "{schema}"', *[current_query(s, queries[f"current_{s}"])
                                                            for s in LINKS if s != "team_admins"])
    truth = truth_pairs(emulator)
    assert [{tuple(r) for r in rows} for rows in answers[1:]] == [truth[s] for s in LINKS if s != "team_admins"]
    pg_drop_schema(schema)

    database = tmp_path / "i16_links.duckdb"
    load(tmp_path, "duckdb", TARGET_DUCKDB, {"path": str(database), "default_target_schema": "main"}, config,
         catalog)
    duck = documented_queries("duckdb")
    job = {"path": str(database), "counts": {s: f'SELECT count(*) FROM "{s}"' for s in new},
           "current": {s: current_query(s, duck[f"current_{s}"]).replace("::text", "")
                       for s in LINKS if s != "team_admins"},
           "queries": duck}
    script = r"""
import json, sys, duckdb
job = json.load(sys.stdin)
db = duckdb.connect(job["path"], read_only=True)
out = {}
for group in ("counts", "current", "queries"):
    out[group] = {name: [list(row) for row in db.sql(sql).fetchall()] for name, sql in job[group].items()}
print(json.dumps(out, default=str))
"""
    proc = subprocess.run([str(TARGET_DUCKDB.with_name("python")), "-c", script], input=json.dumps(job),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    answers = json.loads(proc.stdout)
    assert {s: rows[0][0] for s, rows in answers["counts"].items()} == {s: len(expected[s]) for s in new}
    assert {s: {tuple(r) for r in rows} for s, rows in answers["current"].items()} == \
        {s: truth[s] for s in LINKS if s != "team_admins"}
    conversations = emulator.truth()["conversations"]
    assert sum(r[1] for r in answers["queries"]["response_times_per_week"]) == len(conversations)
    assert {r[0]: r[2] for r in answers["queries"]["response_times"]} == \
        {c["id"]: c["statistics"]["time_to_admin_reply"] for c in conversations}


def test_emulator_link_mutations_move_the_parent_and_show_in_the_truth(emulator):
    import requests
    truth = emulator.truth()
    conversation = truth["conversations"][0]
    answer = emulator.mutate(action="link", relation="conversation_tags", id=conversation["id"])
    after = emulator.truth()
    assert (conversation["id"], answer["child"]) in truth_pairs(emulator)["conversation_tags"]
    moved = next(c for c in after["conversations"] if c["id"] == conversation["id"])
    assert moved["updated_at"] == answer["updated_at"] >= conversation["updated_at"]
    emulator.mutate(action="unlink", relation="conversation_tags", id=conversation["id"], child=answer["child"])
    assert (conversation["id"], answer["child"]) not in truth_pairs(emulator)["conversation_tags"]
    team = truth["teams"][0]
    gone = emulator.mutate(action="unlink", relation="team_admins", id=team["id"])["child"]
    assert (team["id"], gone) not in truth_pairs(emulator)["team_admins"]
    assert next(t for t in emulator.truth()["teams"] if t["id"] == team["id"])["admin_ids"] == \
        [a for a in team["admin_ids"] if str(a) != gone]
    for bad in ({"relation": "nope", "id": "1"}, {"relation": "conversation_tags", "id": "no-such-id"},
                {"relation": "team_admins", "id": team["id"], "child": gone}):  # not a member any more
        response = requests.post(f"{emulator.url}/_emulator/mutate", json={"action": "unlink", **bad}, timeout=30)
        assert response.status_code == 400, bad
