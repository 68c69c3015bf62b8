#!/usr/bin/env python3
"""The call counts the README states, measured against the emulator (so they cannot go stale:
tests/test_docs.py runs `measure()` and checks the README's sentence).

    .venv/bin/python scripts/figures.py     # prints the README's figures sentence (~30 s)

The workspace is the demo's (scripts/demo.sh): 2,000 contacts, 300 companies, 300 conversations, the emulator's
seed 7 and its defaults otherwise. A discovery makes one call per source whatever the workspace's size; a
no-change incremental run (right after a full sync, every stream selected by default, default settings) makes
the calls the API forces: one page per search, every company (the scroll has no filter), every full-table list,
and the parts of the conversations inside the 15-minute lookback.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intercom_emulator import Emulator  # noqa: E402

WORKSPACE = {"seed": 7, "contacts": 2000, "companies": 300, "conversations": 300}
TOKEN = "figures-token"
TAP = str(Path(sys.executable).with_name("tap-intercom"))


def _tap(folder, config, *args):
    path = Path(folder) / "config.json"
    path.write_text(json.dumps(config))
    done = subprocess.run([TAP, "--config", str(path), *args], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"tap-intercom {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def _calls(emulator, run):
    emulator.reset_stats()
    run()
    return emulator.stats()["requests"]


def measure():
    """{"discovery": calls, "discovery_untyped": calls with typed_custom_attributes false,
    "no_change": calls of a no-change incremental run}."""
    with Emulator(token=TOKEN, **WORKSPACE) as emulator, tempfile.TemporaryDirectory() as folder:
        config = {"access_token": TOKEN, "start_date": "2000-01-01T00:00:00Z", "base_url": emulator.url}
        figures = {"discovery": _calls(emulator, lambda: _tap(folder, config, "--discover")),
                   "discovery_untyped": _calls(emulator, lambda: _tap(
                       folder, {**config, "typed_custom_attributes": False}, "--discover"))}
        out = _tap(folder, config)
        state = [json.loads(line)["value"] for line in out.splitlines() if line.startswith('{"type":"STATE"')][-1]
        (Path(folder) / "state.json").write_text(json.dumps(state))
        figures["no_change"] = _calls(emulator, lambda: _tap(folder, config, "--state",
                                                              os.path.join(folder, "state.json")))
    return figures


def sentence(figures):
    """The README's sentence for these figures."""
    return (f"On the demo's workspace (2,000 contacts, 300 companies, 300 conversations), a discovery makes "
            f"**{figures['discovery']} calls** ({figures['discovery_untyped']} with `typed_custom_attributes: "
            f"false`), and a no-change incremental run of every stream selected by default makes "
            f"**{figures['no_change']} calls**.")


if __name__ == "__main__":
    print(sentence(measure()))
