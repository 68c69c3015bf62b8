"""Bad input: one clear line on stderr, a non-zero exit, no traceback, no data on stdout, never the token."""
import json
import subprocess

import pytest

from conftest import TAP, TOKEN, discover, run_tap, select_streams, tap_config, write_json


def assert_clean_failure(run, *phrases):
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert TOKEN not in run.stderr
    assert run.stdout == ""  # not even a SCHEMA: a target creates its tables on one
    errors = [line for line in run.stderr.splitlines() if line.startswith("tap-intercom: error:")]
    assert len(errors) == 1, run.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    return errors[0]


def run_raw(tmp_path, args):
    proc = subprocess.run([TAP, *args], capture_output=True, text=True, timeout=120)
    from conftest import TapRun
    try:
        return TapRun(proc.returncode, proc.stdout, proc.stderr)
    except json.JSONDecodeError:  # stdout must never carry anything but Singer messages
        raise AssertionError(f"stdout is not JSON lines: {proc.stdout[:500]!r}")


@pytest.mark.parametrize("config, phrase", [
    ({"start_date": "2024-01-01"}, "access_token is missing or empty"),
    ({"access_token": "", "start_date": "2024-01-01"}, "access_token is missing or empty"),
    ({"access_token": "   ", "start_date": "2024-01-01"}, "access_token is missing or empty"),
    ({"access_token": TOKEN}, "start_date is missing"),
    ({"access_token": TOKEN, "start_date": "yesterday-ish"}, "start_date"),
    ({"access_token": TOKEN, "start_date": "2024-13-45"}, "start_date"),
    ({"access_token": TOKEN, "start_date": "2024-01-01", "region": "mars"}, "region 'mars' is unknown"),
    ({"access_token": TOKEN, "start_date": "2024-01-01", "base_url": "http://api.example.com"}, "http://"),
    ({"access_token": TOKEN, "start_date": "2024-01-01", "base_url": "ftp://127.0.0.1"}, "base_url"),
    ({"access_token": TOKEN, "start_date": "2024-01-01", "page_size": 500}, "page_size"),
    ({"access_token": TOKEN, "start_date": "2024-01-01", "max_workers": "many"}, "max_workers"),
    ({"access_token": TOKEN + "\nsecond-line", "start_date": "2024-01-01"}, "line breaks"),
    ({"access_token": TOKEN, "start_date": "2024-01-01", "region": ["us"]}, "region"),
    ({"access_token": TOKEN, "start_date": "2024-01-01", "base_url": "http://127.0.0.1:99999"}, "base_url"),
    ({"access_token": TOKEN, "start_date": "2024-01-01", "base_url": 8080}, "base_url"),
    ({"access_token": TOKEN, "start_date": "2024-01-01", "reconcile_interval_hours": -1}, "reconcile_interval_hours"),
    ({"access_token": TOKEN, "start_date": "2024-01-01", "reconcile_parts_interval_hours": "weekly"},
     "reconcile_parts_interval_hours"),
])
def test_invalid_config(tmp_path, config, phrase):
    run = run_raw(tmp_path, ["--config", write_json(tmp_path, "c.json", config), "--discover"])
    assert_clean_failure(run, phrase)


@pytest.mark.parametrize("which", ["config", "state", "catalog"])
def test_malformed_json_files(tmp_path, emulator, which):
    files = {"config": tap_config(emulator.url), "state": {}, "catalog": {"streams": []}}
    paths = {name: write_json(tmp_path, f"{name}.json", value) for name, value in files.items()}
    paths[which] = write_json(tmp_path, f"bad-{which}.json", '{"access_token": "' + TOKEN + '", oops')
    run = run_raw(tmp_path, ["--config", paths["config"], "--catalog", paths["catalog"], "--state", paths["state"]])
    assert_clean_failure(run, which, "not valid JSON", "line 1")


def test_missing_files(tmp_path, emulator):
    run = run_raw(tmp_path, ["--config", str(tmp_path / "nope.json"), "--discover"])
    assert_clean_failure(run, "cannot read config file")
    config = write_json(tmp_path, "c.json", tap_config(emulator.url))
    run = run_raw(tmp_path, ["--config", config, "--state", str(tmp_path / "nope.json")])
    assert_clean_failure(run, "cannot read state file")


def test_no_arguments_and_unknown_flags(tmp_path):
    assert_clean_failure(run_raw(tmp_path, []), "--config is required")
    assert_clean_failure(run_raw(tmp_path, ["--config", "x", "--frobnicate"]), "unrecognized arguments")


@pytest.mark.parametrize("args", [[], ["--discover"]], ids=["sync", "discover"])
def test_a_rejected_token_writes_nothing_on_stdout(tmp_path, emulator, args):
    config = tap_config(emulator.url, access_token="not-the-token-7d1e")
    run = run_tap(tmp_path, config, check=False, args=args)
    line = assert_clean_failure(run, "rejected the access token", "401")
    assert run.stderr.strip().splitlines()[-1] == line  # the error is the last line
    assert "not-the-token-7d1e" not in run.stderr
    assert emulator.stats()["by_endpoint"] == {"GET /me": 1}  # one cheap call, before anything is written


def test_a_token_that_may_not_call_me_is_still_a_good_token(tmp_path, emulator):
    # /me wants read_admins: a token without it answers 403 there, which proves the token is accepted
    limited = "no-admins-token-91c3"
    emulator.configure(tokens={TOKEN: "all", limited: ["read_tags"]})
    config = tap_config(emulator.url, access_token=limited)
    run = run_tap(tmp_path, config, catalog=select_streams(discover(tmp_path, config), {"tags"}))
    assert run.streams() == {"tags"} and emulator.stats()["by_endpoint"]["GET /me"] == 2  # discovery, sync


def test_token_lacking_a_scope_skips_those_streams_with_one_warning(tmp_path, emulator):
    limited = "limited-token-4b8e"
    emulator.configure(tokens={TOKEN: "all", limited: ["read_users_companies", "read_admins", "read_tags"]})
    config = tap_config(emulator.url, access_token=limited)
    bookmark = {"updated_at": "2024-01-01T00:00:00.000000Z"}
    state = {"bookmarks": {"conversations": bookmark, "conversation_parts": bookmark}, "tap": "tap-intercom"}
    catalog = select_streams(discover(tmp_path, config), {"users", "companies", "admins", "tags", "conversations",
                                                          "conversation_parts"})
    run = run_tap(tmp_path, config, catalog=catalog, state=state)  # exit 0: a forbidden stream is not a failure
    skipped = [line for line in run.stderr.splitlines() if "skipping" in line]
    assert len(skipped) == 1 and "conversations, conversation_parts" in skipped[0], skipped
    assert "read_conversations" in skipped[0] and "403" in skipped[0]
    assert run.state["bookmarks"]["conversations"]["updated_at"] == bookmark["updated_at"] == \
        run.state["bookmarks"]["conversation_parts"]["updated_at"]
    assert {"users", "companies", "admins", "tags"} <= run.streams() and "conversations" not in run.streams()
    assert limited not in run.stderr


def test_fail_on_skipped_streams_makes_a_skipped_stream_fail_the_run(tmp_path, emulator):
    """For a cron job that must notice a missing scope: off (the default) a skipped stream is a warning and exit
    0; on, the others still sync, then the run exits 1 naming every stream skipped, whoever skipped it (the
    engine for a refused source, the reader for deleted_conversations)."""
    limited = "limited-token-77aa"
    emulator.configure(tokens={TOKEN: "all", limited: ["read_users_companies", "read_admins", "read_tags"]})
    config = tap_config(emulator.url, access_token=limited)
    catalog = select_streams(discover(tmp_path, config), {"users", "tags", "conversations", "deleted_conversations"})
    quiet = run_tap(tmp_path, config, catalog=catalog)
    assert quiet.returncode == 0 and "skipping conversations" in quiet.stderr
    emulator.faults(path="/conversations/deleted", kind="404", count=1)  # an API without it: the reader skips it
    strict = run_tap(tmp_path, {**config, "fail_on_skipped_streams": "true"}, catalog=catalog, check=False)
    assert strict.returncode == 1 and "Traceback" not in strict.stderr
    assert "deleted_conversations: skipped" in strict.stderr  # the reader skipped it, not the engine
    assert strict.stderr.strip().splitlines()[-1] == \
        "tap-intercom: error: skipped (fail_on_skipped_streams): conversations, deleted_conversations"
    assert {"users", "tags"} <= strict.streams() and strict.state["bookmarks"]["users"]  # the others synced


@pytest.mark.parametrize("state, phrase", [
    ({"bookmarks": {"users": "2024-01-01T00:00:00Z"}}, "older format"),
    ({"bookmarks": {"users": {"updated_at": "2024-01-01T00:00:00Z"},
                    "conversations": {"updated_at": "2024-01-01T00:00:00Z", "last_processed": "12"}}}, "mixes"),
    ({"bookmarks": {"issues": {"since": "2024-01-01"}}}, "another tap"),
    ({"bookmarks": {"tags": {"updated_at": "2024-01-01T00:00:00Z"}}}, "syncs in full"),
    ({"bookmarks": {"users": {"updated_at": "last tuesday"}}}, "users"),
    ({"bookmarks": ["users"]}, "bookmarks"),
    ({"bookmarks": {}, "currently_syncing": ["users"]}, None),
    ([1, 2, 3], "JSON object"),
])
def test_foreign_or_old_state(tmp_path, emulator, state, phrase):
    run = run_tap(tmp_path, tap_config(emulator.url), state=state, check=False)
    if phrase is None:  # tolerated with a warning: nothing depends on it
        assert run.returncode == 0 and "ignoring currently_syncing" in run.stderr
        return
    assert_clean_failure(run, phrase)
    assert emulator.stats()["requests"] == 0  # refused before any call to Intercom


@pytest.mark.parametrize("catalog, phrase", [
    ({"streams": [{"tap_stream_id": "commits", "schema": {"properties": {}}, "metadata": []}]}, "another tap"),
    ({"no_streams": True}, "streams"),
    ({"streams": [{"tap_stream_id": "users", "metadata": [{"breadcrumb": [["x"]], "metadata": {}}]}]}, "metadata"),
    ([], "streams"),
])
def test_foreign_catalog(tmp_path, emulator, catalog, phrase):
    run = run_tap(tmp_path, tap_config(emulator.url), catalog=catalog, check=False)
    assert_clean_failure(run, phrase)


def test_token_never_logged_even_at_debug(tmp_path, emulator):
    emulator.faults(path="/tags", kind="503", count=1)
    run = run_tap(tmp_path, tap_config(emulator.url), env={"TAP_INTERCOM_LOG_LEVEL": "DEBUG"})
    assert "DEBUG" in run.stderr
    assert TOKEN not in run.stderr and TOKEN not in run.stdout
    assert "retry 1" in run.stderr
