#!/usr/bin/env python3
"""The emulator's own CPU while the tap syncs against it, sync after sync: on a two-core machine the emulator and
the tap share the cores, so a benchmark at the rate-limit bound measures both (docs/PERFORMANCE.md, issue 29).

The emulator runs in this process (its CPU is this process's); the tap runs as its CLI, a full sync of its default
selection (or every stream) at 0 ms without a rate limit. Prints each sync's wall time, the emulator's CPU and the
tap's. --profile adds the emulator's request threads' cProfile, by own time.

    .venv/bin/python bench/emulator_cpu.py --contacts 20000 --syncs 2        # ~1 min
    .venv/bin/python bench/emulator_cpu.py --contacts 20000 --profile        # where the emulator's CPU goes
"""
import argparse
import cProfile
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from intercom_emulator import server  # noqa: E402

TAP = str(Path(sys.executable).with_name("tap-intercom"))


def profiled(profiles):
    """The emulator's request handler, each of its threads under a cProfile of its own."""
    handle, local, lock = server._Handler._handle, threading.local(), threading.Lock()

    def _handle(self, method):
        if getattr(local, "profile", None) is None:
            local.profile = cProfile.Profile()
            with lock:
                profiles.append(local.profile)
        local.profile.enable()
        try:
            return handle(self, method)
        finally:
            local.profile.disable()
    return _handle


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--syncs", type=int, default=2, help="syncs one after the other against one emulator")
    parser.add_argument("--all", action="store_true", help="every stream selected (default: the tap's default)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    profiles = []
    if args.profile:
        server._Handler._handle = profiled(profiles)
    started = time.process_time()
    emulator = server.Emulator(seed=7, contacts=args.contacts, companies=10, conversations=10, latency_ms=0,
                               rate_limit=10 ** 7, token="bench-token").start()
    print(f"emulator start-up: {time.process_time() - started:.2f} s CPU ({args.contacts:,} contacts)")
    with tempfile.TemporaryDirectory() as work:
        config, catalog = Path(work, "config.json"), Path(work, "catalog.json")
        config.write_text(json.dumps({"access_token": "bench-token", "base_url": emulator.url,
                                      "start_date": "2000-01-01T00:00:00Z"}))
        found = json.loads(subprocess.run([TAP, "--config", str(config), "--discover"], capture_output=True,
                                          check=True).stdout)
        for entry in found["streams"] if args.all else ():
            entry["metadata"][0]["metadata"]["selected"] = True
        catalog.write_text(json.dumps(found))
        print("| sync | wall, s | the emulator's CPU, s | the tap's CPU, s |\n|---|---|---|---|")
        tap_before = 0.0
        for number in range(1, args.syncs + 1):
            cpu, wall = time.process_time(), time.time()
            subprocess.run([TAP, "--config", str(config), "--catalog", str(catalog)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            tap = usage.ru_utime + usage.ru_stime
            print(f"| {number} | {time.time() - wall:.2f} | {time.process_time() - cpu:.2f} | "
                  f"{tap - tap_before:.2f} |")
            tap_before = tap
    emulator.stop()
    if profiles:
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        stats.sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
