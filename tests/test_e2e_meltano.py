"""End to end with Meltano: the repository's meltano.yml, `meltano install`, `meltano run` against the emulator.

The project lives in .e2e/meltano-project (a copy of meltano.yml whose `pip_url: -e .` points at this checkout),
so the plugin venvs survive between test runs; each test has its own system database (state), in tmp_path.
Meltano Hub is pointed at a closed local port: any lookup there would fail the test.
Needs `scripts/e2e_setup.sh` (.e2e/meltano, PostgreSQL for the target-postgres job).
"""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, TOKEN
from test_e2e_postgres import (E2E, INCREMENTAL, PG, STREAMS, check_tables_match_truth, default_streams, epoch,
                               key_of, pg_drop_schema, require_e2e_setup, rfc3339, stream_keys)

MELTANO = E2E / "meltano" / "bin" / "meltano"
PROJECT = E2E / "meltano-project"
CLOSED_PORT_URL = "http://127.0.0.1:9/"  # the discard port: nothing listens there
LOOKBACK = 900  # the tap's default lookback_window


def base_env(database):
    """The caller's environment without any Meltano or plugin setting, plus what every test needs."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MELTANO_", "TAP_INTERCOM", "TARGET_", "INTERCOM_"))}
    env.update({
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_HUB_URL": CLOSED_PORT_URL,
        "MELTANO_HUB_API_ROOT": CLOSED_PORT_URL,
        "MELTANO_DATABASE_URI": f"sqlite:///{database}",
        "NO_COLOR": "1",
        # the emulator's custom object types (an array setting, as JSON): custom_object_instances complete too;
        # the workspace instances inherit it
        "TAP_INTERCOM_CUSTOM_OBJECT_TYPES": '["Order", "Product"]',
        # meltano.yml leaves start_date to the user (as the README's quickstart says); the instances inherit it
        "TAP_INTERCOM_START_DATE": "2000-01-01T00:00:00Z",
    })
    return env


def meltano(env, *args, timeout=600, check=True):
    proc = subprocess.run([str(MELTANO), *args], cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"meltano {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-6000:]}")
    return proc


def project_yaml():
    """meltano.yml as data, parsed by the YAML library in Meltano's venv."""
    python = MELTANO.with_name("python")
    code = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
    return json.loads(subprocess.run([str(python), "-c", code, str(ROOT / "meltano.yml")], capture_output=True,
                                     text=True, check=True).stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The Meltano project, installed (`meltano install` every time: quick once the venvs exist)."""
    require_e2e_setup()
    if not MELTANO.exists():
        pytest.fail(f"{MELTANO} is missing: run scripts/e2e_setup.sh first (scripts/test.sh does)")
    text = (ROOT / "meltano.yml").read_text(encoding="utf-8")
    assert "\n    pip_url: -e .\n" in text, "meltano.yml should install the tap from the project folder"
    PROJECT.mkdir(parents=True, exist_ok=True)
    (PROJECT / "meltano.yml").write_text(text.replace("\n    pip_url: -e .\n", f"\n    pip_url: -e {ROOT}\n"))
    shutil.rmtree(PROJECT / "output", ignore_errors=True)
    env = base_env(tmp_path_factory.mktemp("meltano-install") / "meltano.db")
    proc = meltano(env, "install")
    log = proc.stdout + proc.stderr
    for plugin in ("tap-intercom", "target-jsonl", "target-postgres"):
        assert re.search(rf"Installed (extractor|loader) '{plugin}'", log), log[-3000:]
    assert not (PROJECT / "plugins").exists(), "no lock files: every plugin is declared in meltano.yml"
    return PROJECT


def read_jsonl(folder, stream):
    """Records of a stream written by target-jsonl (with or without timestamped file names)."""
    files = [p for p in folder.glob("*.jsonl") if re.fullmatch(rf"{stream}(-\d{{8}}T\d{{6}})?\.jsonl", p.name)]
    return [json.loads(line) for path in sorted(files) for line in path.read_text().splitlines() if line.strip()]


def check_output_matches_truth(folder, truth, keys):
    """Every record of every stream meltano.yml selects (every one selected by default), once; names and titles
    as the emulator has them."""
    for stream in default_streams():
        rows = read_jsonl(folder, stream)
        assert len(rows) == len(truth[stream]), f"{stream}: {len(rows)} records, emulator {len(truth[stream])}"
        assert {key_of(r, keys[stream]) for r in rows} == {key_of(r, keys[stream]) for r in truth[stream]}, stream
        for field in ("name", "title", "email"):
            if truth[stream] and field in truth[stream][0]:
                assert {key_of(r, keys[stream]): r.get(field) for r in rows} == {
                    key_of(r, keys[stream]): r.get(field) for r in truth[stream]}, f"{stream}.{field}"


def stored_state(env, state_id):
    listed = meltano(env, "state", "list").stdout.split()
    assert state_id in listed, listed
    value = json.loads(meltano(env, "state", "get", state_id).stdout)
    return value["singer_state"]


def test_meltano_yml_declares_everything():
    """Settings from `tap-intercom --about`, custom plugins only, telemetry off, the 3-hourly schedules."""
    require_e2e_setup()
    about = json.loads(subprocess.run([str(ROOT / ".venv" / "bin" / "tap-intercom"), "--about"],
                                      capture_output=True, text=True, check=True).stdout)
    data = project_yaml()
    assert data["send_anonymous_usage_stats"] is False
    extractors = {p["name"]: p for p in data["plugins"]["extractors"]}
    tap = extractors["tap-intercom"]
    assert tap["namespace"] == "tap_intercom" and tap["executable"] == "tap-intercom"
    assert set(tap["capabilities"]) == {"catalog", "discover", "state", "about"}
    settings = {s["name"]: s for s in tap["settings"]}
    assert list(settings) == [s["name"] for s in about["settings"]]
    for s in about["settings"]:
        if s["default"] is not None and s["name"] != "user_agent":
            assert str(settings[s["name"]]["value"]) == str(s["default"]), s["name"]
    assert settings["access_token"]["kind"] == "password" and settings["access_token"]["sensitive"] is True
    # Meltano syncs only what `select` lists: every stream the tap selects by default, no other
    assert [rule.split(".")[0] for rule in tap["select"]] == default_streams()
    for name, region, schema in (("tap-intercom--prod", "us", "intercom_prod"),
                                 ("tap-intercom--eu", "eu", "intercom_eu")):
        assert extractors[name]["inherit_from"] == "tap-intercom"
        assert extractors[name]["config"]["region"] == region
        assert extractors[name]["load_schema"] == schema
    for plugin in data["plugins"]["extractors"] + data["plugins"]["loaders"]:
        if "inherit_from" not in plugin:  # custom: nothing to look up on Meltano Hub
            assert plugin["namespace"] and plugin["pip_url"] and plugin["executable"], plugin["name"]
            assert "variant" not in plugin, plugin["name"]
    assert {s["interval"] for s in data["schedules"]} == {"0 */3 * * *"}


def test_meltano_run_twice_resumes_from_stored_state(project, make_emulator, tmp_path):
    emulator = make_emulator(seed=31, contacts=300, companies=60, conversations=50)
    emulator.mutate(action="delete", stream="conversations", count=1)  # so every stream has records
    keys = stream_keys()
    env = base_env(tmp_path / "meltano.db")
    env.update({"TAP_INTERCOM_BASE_URL": emulator.url, "TAP_INTERCOM_ACCESS_TOKEN": TOKEN,
                "TARGET_JSONL_DO_TIMESTAMP_FILE": "false"})
    state_id = "dev:tap-intercom-to-target-jsonl"

    # ---- run 1 ----------------------------------------------------------------------------------------
    run1 = meltano({**env, "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "run1")}, "run", "tap-intercom",
                   "target-jsonl")
    assert "No state was found" in run1.stderr
    truth = emulator.truth()
    check_output_matches_truth(tmp_path / "run1", truth, keys)
    first = stored_state(env, state_id)
    assert set(first["bookmarks"]) == set(default_streams(incremental=True)) and first["currently_syncing"] is None
    every_contact = truth["users"] + truth["contacts"]
    assert epoch(first["bookmarks"]["users"]["updated_at"]) == max(c["updated_at"] for c in every_contact)
    assert epoch(first["bookmarks"]["conversations"]["updated_at"]) == max(
        c["updated_at"] for c in truth["conversations"])

    # ---- changes, run 2 --------------------------------------------------------------------------------
    changed = {"users": set(emulator.mutate(action="update", stream="users", count=3)["ids"]),
               "contacts": set(emulator.mutate(action="create", stream="contacts", count=2)["ids"]),
               "companies": set(emulator.mutate(action="update", stream="companies", count=2)["ids"])}
    quiet = sorted({c["id"] for c in truth["conversations"]} - set(truth["cut_conversations"]))[-1]
    added = emulator.mutate(action="add_parts", ids=[quiet], count=2)
    changed["conversations"] = {quiet}
    run2 = meltano({**env, "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "run2")}, "run", "tap-intercom",
                   "target-jsonl")
    after = emulator.truth()
    since = {s: epoch(first["bookmarks"][s]["updated_at"]) - LOOKBACK for s in INCREMENTAL}
    # The tap started from the state Meltano stored (less the lookback window) ...
    assert f"reading /contacts/search from {rfc3339(since['users'])}" in run2.stderr
    assert f"reading /conversations/search from {rfc3339(since['conversations'])}" in run2.stderr
    # ... and emitted only what changed since (or lies in the lookback window), all of what changed.
    for stream in ("users", "contacts", "conversations"):
        emitted = {r["id"] for r in read_jsonl(tmp_path / "run2", stream)}
        assert emitted == {r["id"] for r in after[stream] if r["updated_at"] >= since[stream]}, stream
        assert changed[stream] <= emitted and len(emitted) < len(after[stream]), stream
    parts = {r["id"] for r in read_jsonl(tmp_path / "run2", "conversation_parts")}
    assert set(added["part_ids"]) <= parts
    assert parts == {p["id"] for p in after["conversation_parts"] if p["conversation_id"] in
                     {c["id"] for c in after["conversations"] if c["updated_at"] >= since["conversation_parts"]}}
    for stream in STREAMS:
        if stream not in INCREMENTAL:
            assert len(read_jsonl(tmp_path / "run2", stream)) == len(after[stream]), stream
    second = stored_state(env, state_id)
    assert epoch(second["bookmarks"]["users"]["updated_at"]) == max(
        c["updated_at"] for c in after["users"] + after["contacts"])
    assert second["bookmarks"]["users"] != first["bookmarks"]["users"]


def test_two_workspaces_each_with_its_own_token_state_and_output(project, make_emulator, tmp_path):
    prod = make_emulator(seed=41, contacts=150, companies=30, conversations=25, token="prod-token-8d1f")
    eu = make_emulator(seed=42, contacts=90, companies=20, conversations=15, token="eu-token-37c2")
    keys = stream_keys()
    env = base_env(tmp_path / "meltano.db")
    env.update({"INTERCOM_PROD_ACCESS_TOKEN": "prod-token-8d1f", "INTERCOM_EU_ACCESS_TOKEN": "eu-token-37c2",
                "TAP_INTERCOM__PROD_BASE_URL": prod.url, "TAP_INTERCOM__EU_BASE_URL": eu.url})
    output = project / "output"
    shutil.rmtree(output, ignore_errors=True)

    # Both workspaces in one command, each into the folder named by its load_schema.
    meltano(env, "run", "tap-intercom--prod", "target-jsonl", "tap-intercom--eu", "target-jsonl")
    prod_truth, eu_truth = prod.truth(), eu.truth()
    assert sorted(p.name for p in output.iterdir()) == ["intercom_eu", "intercom_prod"]
    check_output_matches_truth(output / "intercom_prod", prod_truth, keys)
    check_output_matches_truth(output / "intercom_eu", eu_truth, keys)
    assert prod.stats()["requests"] > 0 and eu.stats()["requests"] > 0
    states = {}
    for name, truth in (("prod", prod_truth), ("eu", eu_truth)):
        state = stored_state(env, f"dev:tap-intercom--{name}-to-target-jsonl")
        assert epoch(state["bookmarks"]["users"]["updated_at"]) == max(
            c["updated_at"] for c in truth["users"] + truth["contacts"]), name
        states[name] = state
    assert states["prod"] != states["eu"]

    # An instance whose own token variable is missing fails rather than borrow the parent's token.
    env_no_eu = {k: v for k, v in env.items() if k != "INTERCOM_EU_ACCESS_TOKEN"}
    env_no_eu["TAP_INTERCOM_ACCESS_TOKEN"] = "prod-token-8d1f"
    before = eu.stats()["requests"]
    failed = meltano(env_no_eu, "run", "tap-intercom--eu", "target-jsonl", check=False)
    assert failed.returncode != 0
    assert "access_token is missing or empty" in failed.stderr
    assert eu.stats()["requests"] == before

    # The scheduled job: the EU workspace into PostgreSQL, schema intercom_eu (its load_schema), upserted.
    schedules = json.loads(meltano(env, "schedule", "list", "--format=json").stdout)
    assert {s["name"]: s["interval"] for s in schedules["schedules"]["job"]} == {
        "intercom-prod-to-postgres": "0 */3 * * *", "intercom-eu-to-postgres": "0 */3 * * *"}
    pg_drop_schema("intercom_eu")
    pg_env = {**env, "TARGET_POSTGRES_HOST": PG["host"], "TARGET_POSTGRES_PORT": str(PG["port"]),
              "TARGET_POSTGRES_USER": PG["user"], "TARGET_POSTGRES_PASSWORD": PG["password"],
              "TARGET_POSTGRES_DATABASE": PG["dbname"]}
    meltano(pg_env, "run", "intercom-eu-to-postgres")
    eu.mutate(action="update", stream="users", count=2)
    eu.mutate(action="create", stream="companies", count=1)
    meltano(pg_env, "run", "intercom-eu-to-postgres")  # from its own stored state; upserts
    check_tables_match_truth("intercom_eu", eu.truth(), keys, default_streams())
    stored_state(env, "dev:tap-intercom--eu-to-target-postgres")
    pg_drop_schema("intercom_eu")
