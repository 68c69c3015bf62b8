"""End to end with Meltano: switch the extractor from singer-io/tap-intercom 2.2.5 to this tap, keep the state.

A throwaway Meltano project (in tmp_path, its own system database) declares `tap-intercom` with the peer's
pip_url and runs it into target-jsonl; then meltano.yml gets this tap's pip_url (and `users.*` in `select`,
as docs/MIGRATING.md says), `meltano install` installs it under the same name, and `meltano run` continues
from the state Meltano stored for the peer: every change since comes, little else does.
The peer has no base-URL setting: it runs through ../shared/peer/run_peer.py, which points it at the emulator.
"""
import json
import os
import re
import subprocess

from conftest import ROOT, TOKEN, run_tap, tap_config, write_json
from test_e2e_meltano import MELTANO, base_env, read_jsonl
from test_e2e_postgres import epoch, require_e2e_setup

PEER_RUNNER = ROOT.parent / "shared" / "peer" / "run_peer.py"
STATE_ID = "dev:tap-intercom-to-target-jsonl"
PEER_STREAMS = ["contacts", "companies", "conversations", "conversation_parts", "segments"]

PROJECT = """\
version: 1
default_environment: dev
environments:
- name: dev
project_id: switching-from-the-peer
send_anonymous_usage_stats: false
plugins:
  extractors:
  - name: tap-intercom
    namespace: tap_intercom
    pip_url: {pip_url}
    executable: {executable}
    capabilities: [catalog, discover, state]
    settings:
    - name: access_token
      kind: password
      sensitive: true
    - name: start_date
    - name: user_agent
    - name: base_url
    config:
      start_date: '2000-01-01T00:00:00Z'
      user_agent: switching-test
    select:
{select}
  loaders:
  - name: target-jsonl
    namespace: target_jsonl
    pip_url: target-jsonl==0.1.4
    executable: target-jsonl
    settings:
    - name: destination_path
    - name: do_timestamp_file
      kind: boolean
"""


def write_project(folder, pip_url, executable, streams):
    select = "\n".join(f"    - {name}.*" for name in streams)
    (folder / "meltano.yml").write_text(PROJECT.format(pip_url=pip_url, executable=executable, select=select))


def meltano(folder, env, *args, timeout=600):
    proc = subprocess.run([str(MELTANO), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"meltano {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-6000:]}")
    return proc


def stored_state(folder, env):
    return json.loads(meltano(folder, env, "state", "get", STATE_ID).stdout)["singer_state"]


def ids(records):
    return {str(r["id"]) for r in records}


def test_switching_from_the_peer_keeps_meltanos_state(make_emulator, tmp_path):
    require_e2e_setup()
    assert PEER_RUNNER.exists(), f"{PEER_RUNNER} (the peer's runner) is missing: ../shared must sit beside the checkout"
    emulator = make_emulator(seed=53, contacts=240, companies=40, conversations=30)
    project = tmp_path / "project"
    project.mkdir()
    env = base_env(tmp_path / "meltano.db")
    env.update({"TAP_INTERCOM_ACCESS_TOKEN": TOKEN, "TAP_INTERCOM_BASE_URL": emulator.url,
                "INTERCOM_BASE_URL": emulator.url, "TARGET_JSONL_DO_TIMESTAMP_FILE": "false"})

    # ---- with the peer ---------------------------------------------------------------------------------
    peer_python = project / ".meltano" / "extractors" / "tap-intercom" / "venv" / "bin" / "python"
    wrapper = tmp_path / "peer-tap-intercom"
    wrapper.write_text(f'#!/bin/sh\nexec "{peer_python}" "{PEER_RUNNER}" "$@"\n')
    wrapper.chmod(0o755)
    write_project(project, "tap-intercom==2.2.5", wrapper, PEER_STREAMS)
    meltano(project, env, "install")
    meltano(project, {**env, "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "peer")}, "run", "tap-intercom",
            "target-jsonl")
    before = emulator.truth()
    every_contact = before["users"] + before["contacts"]
    assert ids(read_jsonl(tmp_path / "peer", "contacts")) == ids(every_contact)  # its contacts: users and leads
    peer_state = stored_state(project, env)
    assert {"contacts", "conversations", "segments"} <= set(peer_state["bookmarks"]) and "tap" not in peer_state

    # ---- the peer's own catalog, fed to this tap with that state ------------------------------------------
    peer_config = write_json(tmp_path, "peer-config.json", {"access_token": TOKEN, "start_date": "2000-01-01T00:00:00Z",
                                                           "user_agent": "switching-test"})
    peer_catalog = json.loads(subprocess.run([str(wrapper), "--config", peer_config, "--discover"], env=env,
                                             capture_output=True, text=True, check=True).stdout)
    for entry in peer_catalog["streams"]:
        entry["metadata"][0]["metadata"]["selected"] = entry["tap_stream_id"] in ("contacts", "conversations")
    fresh = run_tap(tmp_path, tap_config(emulator.url), catalog=peer_catalog, state=peer_state)
    synced = {m["stream"] for m in fresh.messages if m["type"] == "SCHEMA"}
    assert synced == {"users", "contacts", "conversations"} and "catalog mapped" in fresh.stderr
    assert "continuing from singer-io/tap-intercom's bookmarks" in fresh.stderr
    assert len(fresh.records("users")) < len(before["users"]) / 4  # continued, not re-synced

    # ---- changes while switching -----------------------------------------------------------------------
    changed = {"users": set(emulator.mutate(action="update", stream="users", count=3)["ids"]),
               "contacts": set(emulator.mutate(action="create", stream="contacts", count=2)["ids"]),
               "companies": set(emulator.mutate(action="update", stream="companies", count=2)["ids"])}
    quiet = sorted(c["id"] for c in before["conversations"] if c["id"] not in before["cut_conversations"])[0]
    added = emulator.mutate(action="add_parts", ids=[quiet], count=2)
    changed["conversations"] = {quiet}

    # ---- with this tap, same name, same stored state ----------------------------------------------------
    write_project(project, f"-e {ROOT}", "tap-intercom", ["users"] + PEER_STREAMS)
    meltano(project, env, "install", "tap-intercom")  # as docs/MIGRATING.md says
    run = meltano(project, {**env, "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "ours")}, "run",
                  "tap-intercom", "target-jsonl")
    assert "continuing from singer-io/tap-intercom's bookmarks" in run.stderr
    after = emulator.truth()
    out = {stream: read_jsonl(tmp_path / "ours", stream) for stream in ["users"] + PEER_STREAMS}
    peer_out = {stream: read_jsonl(tmp_path / "peer", stream) for stream in PEER_STREAMS}
    peer_mark = {"users": "contacts", "contacts": "contacts", "companies": "companies",
                 "conversations": "conversations"}
    for stream, mark in peer_mark.items():
        since = epoch(peer_state["bookmarks"][mark]["updated_at"])
        emitted = ids(out[stream])
        assert changed[stream] <= emitted, stream
        assert ids(r for r in after[stream] if r["updated_at"] >= since) <= emitted, stream  # no gap
        if stream == "companies":  # every company, every run: counts change without updated_at moving
            assert emitted == ids(after[stream])
            continue
        assert len(emitted) <= len(after[stream]) / 4, f"{stream}: {len(emitted)} re-read"  # little re-read
        earlier = ids(peer_out["contacts"] if stream in ("users", "contacts") else peer_out[stream])
        assert ids(after[stream]) <= earlier | emitted, stream  # nothing missing across the switch
    parts = ids(out["conversation_parts"])
    assert set(added["part_ids"]) <= parts
    assert ids(after["conversation_parts"]) <= parts | ids(peer_out["conversation_parts"])
    assert len(out["segments"]) == len(after["segments"])
    ours = stored_state(project, env)
    assert ours["tap"] == "tap-intercom" and ours["currently_syncing"] is None
    assert epoch(ours["bookmarks"]["users"]["updated_at"]) == max(c["updated_at"] for c in after["users"]
                                                                  + after["contacts"])
    assert not re.search(r"Traceback", run.stderr)
    assert os.path.exists(project / ".meltano" / "extractors" / "tap-intercom" / "venv" / "bin" / "tap-intercom")
