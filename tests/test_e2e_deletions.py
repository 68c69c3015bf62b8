"""Deletions end to end: the emulator -> the installed tap -> a real PostgreSQL target, twice, with records
deleted, merged, converted and changed in between and a reconciliation pass in the second run.

meltanolabs-target-postgres honours ACTIVATE_VERSION: with `hard_delete: true` every table then holds exactly
the emulator's live rows; by default (soft delete) live rows have `_sdc_deleted_at` null and removed ones a
timestamp. pipelinewise-target-postgres ignores ACTIVATE_VERSION: it loads every table as before.
Needs `scripts/e2e_setup.sh` (PostgreSQL running, .e2e/target-postgres, .e2e/pipelinewise-target-postgres).
"""
import json
import os
import subprocess

import pytest

from conftest import TAP, killed_run, tap_config, write_json
from test_deletions import OFTEN, key_of, remove_things
from test_e2e_postgres import E2E, PG, TARGET_POSTGRES, pg_drop_schema, pg_query, pg_target_config, require_e2e_setup
from tap_intercom.streams import STREAMS as EVERY_STREAM

STREAMS = [s for s in EVERY_STREAM if s.selected_by_default]  # what a run without a catalog syncs

PIPELINEWISE = E2E / "pipelinewise-target-postgres" / "bin" / "target-postgres"


class Run:
    def __init__(self, messages):
        self.messages = messages

    def records(self, stream):
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]


def pipeline(tmp_path, name, target, tap_config_value, target_config, state, kill_after_lines=None):
    """tap | target; the tap's messages and the state the target passed on last. With kill_after_lines, the
    tap is SIGKILLed after that many lines (and a STATE) and the target loads what the last STATE covers: the
    least a killed pipeline keeps (what came after it may be lost; the resumed run sends it again)."""
    folder = tmp_path / name
    folder.mkdir()
    if kill_after_lines is None:
        cmd = [TAP, "--config", write_json(folder, "tap.json", tap_config_value)]
        if state is not None:
            cmd += ["--state", write_json(folder, "state.json", state)]
        tap = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(folder / "tap.log", "w"))
        output = tap.stdout.read()
        assert tap.wait(timeout=300) == 0, (folder / "tap.log").read_text()[-3000:]
    else:
        _, kept, _ = killed_run(folder, tap_config_value, state, kill_after_lines, min_states=1)
        output = b"".join(json.dumps(m).encode() + b"\n" for m in kept)
    target = subprocess.run([str(target), "--config", write_json(folder, "target.json", target_config)],
                            input=output, capture_output=True, timeout=300)
    assert target.returncode == 0, target.stderr.decode()[-3000:]
    states = target.stdout.decode().strip().splitlines()
    return Run([json.loads(line) for line in output.decode().splitlines()]), json.loads(states[-1]) if states \
        else state


def table_keys(schema, where=""):
    """{stream: {key tuple}} of every stream's table (an absent table: no rows)."""
    tables = {t[0] for t in pg_query(("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                                      [schema]))[0]}
    present = [s for s in STREAMS if s.name in tables]
    answers = pg_query(*[f'SELECT {", ".join(f"{k}::text" for k in s.key)} FROM "{schema}"."{s.name}" {where}'
                         for s in present])
    keys = {s.name: set() for s in STREAMS if not s.history}  # history: not selected by default
    for stream, rows in zip(present, answers):
        keys[stream.name] = {tuple(row) for row in rows}
    return keys


def truth_keys(emulator):
    truth = emulator.truth()
    return {s.name: {key_of(s.name, r) for r in truth[s.name]} for s in STREAMS if not s.history}


@pytest.mark.parametrize("hard_delete", [True, False], ids=["hard_delete", "soft_delete"])
def test_meltanolabs_target_postgres_removes_what_intercom_removed(make_emulator, tmp_path, hard_delete):
    require_e2e_setup()
    emulator = make_emulator(seed=31, contacts=160, companies=25, conversations=25)
    schema = f"intercom_del_{'hard' if hard_delete else 'soft'}_{os.getpid()}"
    pg_drop_schema(schema)
    target_config = {**pg_target_config(schema), **({"hard_delete": True} if hard_delete else {})}
    config = tap_config(emulator.url)
    first, state = pipeline(tmp_path, "run1", TARGET_POSTGRES, config, target_config, None)
    before = table_keys(schema)
    assert before == truth_keys(emulator)
    remove_things(emulator, Run(first.messages))
    pipeline(tmp_path, "run2", TARGET_POSTGRES, {**config, **OFTEN}, target_config, state)
    truth = truth_keys(emulator)
    if hard_delete:
        assert table_keys(schema) == truth
    else:
        assert table_keys(schema, "WHERE _sdc_deleted_at IS NULL") == truth
        marked = table_keys(schema, "WHERE _sdc_deleted_at IS NOT NULL")
        for stream in truth:
            assert marked[stream] == before[stream] - truth[stream], stream
        assert marked["users"] and marked["contacts"] and marked["social_profiles"] and marked["tags"]
    pg_drop_schema(schema)


def test_pipelinewise_target_postgres_loads_every_table_as_before(make_emulator, tmp_path):
    require_e2e_setup()
    if not PIPELINEWISE.exists():
        pytest.fail(f"{PIPELINEWISE} is missing: run scripts/e2e_setup.sh first (scripts/test.sh does)")
    emulator = make_emulator(seed=31, contacts=160, companies=25, conversations=25)
    schema = f"intercom_pw_{os.getpid()}"
    pg_drop_schema(schema)
    target_config = {"host": PG["host"], "port": PG["port"], "user": PG["user"], "password": PG["password"],
                     "dbname": PG["dbname"], "default_target_schema": schema}
    config = tap_config(emulator.url)
    first, state = pipeline(tmp_path, "run1", PIPELINEWISE, config, target_config, None)
    assert table_keys(schema) == truth_keys(emulator)
    before = table_keys(schema)
    remove_things(emulator, Run(first.messages))
    pipeline(tmp_path, "run2", PIPELINEWISE, {**config, **OFTEN}, target_config, state)
    truth = truth_keys(emulator)
    after = table_keys(schema)
    for stream in truth:  # upserted as before: new and changed rows arrive, nothing is removed
        assert after[stream] == before[stream] | truth[stream], stream
    pg_drop_schema(schema)


def test_a_pass_killed_twice_then_completed_keeps_every_live_row_in_postgres(make_emulator, tmp_path):
    require_e2e_setup()
    emulator = make_emulator(seed=37, contacts=160, companies=25, conversations=25)
    schema = f"intercom_del_killed_{os.getpid()}"
    pg_drop_schema(schema)
    target_config = {**pg_target_config(schema), "hard_delete": True}  # a row wrongly removed stays gone
    config = {**tap_config(emulator.url, page_size=25, max_workers=2), **OFTEN}
    first, state = pipeline(tmp_path, "run1", TARGET_POSTGRES, config, target_config, None)
    remove_things(emulator, Run(first.messages))
    truth = truth_keys(emulator)
    kept = {stream: keys & truth[stream] for stream, keys in table_keys(schema).items()}
    lines = len(first.messages)
    for run, kill_at in enumerate((lines // 5, lines // 2, None), start=2):
        _, state = pipeline(tmp_path, f"run{run}", TARGET_POSTGRES, config, target_config, state, kill_at)
        if run == 2:
            assert any("version" in b for b in state["bookmarks"].values()), "the kill should leave a pass under way"
        now = table_keys(schema)
        for stream, keys in kept.items():
            assert keys <= now[stream], f"run {run}: live {stream} rows removed: {sorted(keys - now[stream])[:3]}"
    assert table_keys(schema) == truth
    pg_drop_schema(schema)
