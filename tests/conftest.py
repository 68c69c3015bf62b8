"""Shared fixtures: an Intercom emulator on 127.0.0.1 and the installed tap-intercom CLI run against it."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the emulator is its own part of the repo, not installed with the tap

from intercom_emulator import Emulator  # noqa: E402

TOKEN = "test-token-5f2a9c"
TAP = str(Path(sys.executable).with_name("tap-intercom"))
START_DATE = "2000-01-01T00:00:00Z"


class Control:
    """The emulator's control API, as tests use it."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.url = emulator.url

    def _call(self, method, path, body=None):
        response = requests.request(method, f"{self.url}/_emulator/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def truth(self, stream=None):
        """{stream: records}: every stream, or just the one asked for."""
        if stream:
            return {stream: self._call("GET", f"truth?stream={stream}")}
        return self._call("GET", "truth")

    def stats(self):
        return self._call("GET", "stats")

    def reset_stats(self):
        return self._call("POST", "reset_stats")

    def configure(self, **options):
        return self._call("POST", "config", options)

    def faults(self, **fault):
        return self._call("POST", "faults", fault)

    def mutate(self, **change):
        return self._call("POST", "mutate", change)

    def open_scroll(self):
        return self._call("POST", "open_scroll")


@pytest.fixture
def make_emulator():
    started = []

    def start(**options):
        options.setdefault("token", TOKEN)
        emulator = Emulator(**options).start()
        started.append(emulator)
        return Control(emulator)

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator):
    return make_emulator(seed=11, contacts=320, companies=70, conversations=60)


class TapRun:
    def __init__(self, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.messages = [json.loads(line) for line in stdout.splitlines() if line.strip()]

    def records(self, stream):
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    def streams(self):
        return {m["stream"] for m in self.messages if m["type"] == "RECORD"}

    @property
    def states(self):
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def state(self):
        return self.states[-1] if self.states else None


def wait_until(condition, what, timeout=60):
    """Wait for `condition()` to hold, polling, at most `timeout` seconds: tests wait on what they need, never on a
    fixed sleep (a busy machine only makes the wait longer, not the test wrong)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.02)


def write_json(tmp_path, name, value):
    path = tmp_path / name
    path.write_text(json.dumps(value) if not isinstance(value, str) else value)
    return str(path)


def tap_config(url, **extra):
    # the emulator's custom object types: custom_object_instances is complete, like every stream
    return {"access_token": TOKEN, "start_date": START_DATE, "base_url": url,
            "custom_object_types": ["Order", "Product"], **extra}


def run_tap(tmp_path, config, catalog=None, state=None, args=(), timeout=300, check=True, env=None):
    cmd = [TAP, "--config", write_json(tmp_path, "config.json", config)]
    if catalog is not None:
        cmd += ["--catalog", write_json(tmp_path, "catalog.json", catalog)]
    if state is not None:
        cmd += ["--state", write_json(tmp_path, "state.json", state)]
    proc = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    run = TapRun(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"tap exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return run


def killed_tap(tmp_path, config, state, kill_after_lines, timeout=300, catalog=None, min_states=0):
    """Run the tap and SIGKILL it after `kill_after_lines` lines of output, and not before it wrote `min_states`
    STATE lines: (whether it completed first, the whole messages it wrote)."""
    cmd = [TAP, "--config", write_json(tmp_path, "config.json", config)]
    if catalog is not None:
        cmd += ["--catalog", write_json(tmp_path, "catalog.json", catalog)]
    if state is not None:
        cmd += ["--state", write_json(tmp_path, "state.json", state)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines, states = [], 0
    for line in proc.stdout:
        lines.append(line)
        states += line.endswith("\n") and json.loads(line)["type"] == "STATE"
        if len(lines) >= kill_after_lines and states >= min_states:
            proc.send_signal(signal.SIGKILL)
            break
    proc.stdout.close()
    completed = proc.wait(timeout=timeout) == 0
    return completed, [json.loads(line) for line in lines if line.endswith("\n")]


def killed_run(tmp_path, config, state, kill_after_lines, timeout=300, catalog=None, min_states=0):
    """Run the tap, SIGKILL it after `kill_after_lines` lines of output (see killed_tap); return what a target
    is sure to keep: whether it completed, the messages up to its last STATE (those after it may be lost with
    the run; the next run, resumed from that STATE, sends them again), and that STATE (else `state`)."""
    completed, messages = killed_tap(tmp_path, config, state, kill_after_lines, timeout, catalog, min_states)
    if completed:
        return completed, messages, next((m["value"] for m in reversed(messages) if m["type"] == "STATE"), state)
    last_state = max((i for i, m in enumerate(messages) if m["type"] == "STATE"), default=-1)
    return completed, messages[:last_state + 1], messages[last_state]["value"] if last_state >= 0 else state


def discover(tmp_path, config):
    run = subprocess.run([TAP, "--config", write_json(tmp_path, "config.json", config), "--discover"],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(run.stdout)


def select_streams(catalog, streams, deselect_fields=None):
    """Mark `streams` selected (and only them); optionally deselect some fields of a stream."""
    catalog = json.loads(json.dumps(catalog))
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
            elif deselect_fields and item["breadcrumb"][1] in deselect_fields.get(entry["tap_stream_id"], ()):
                item["metadata"]["selected"] = False
    return catalog
