#!/usr/bin/env python3
"""A/B of the tap's CPU per record: two installed tap-intercom executables, same emulator data, full syncs of
every stream interleaved (A B A B ...), as the machine may be shared and noisy.

    git archive e528156 | tar -x -C /tmp/before && python3 -m venv /tmp/before/.venv \\
        && /tmp/before/.venv/bin/pip install -q /tmp/before
    .venv/bin/python bench/cpu_ab.py --a /tmp/before/.venv/bin/tap-intercom --b .venv/bin/tap-intercom

CPU is the tap process's user + system time (wait4); the emulator runs in its own process, 0 ms latency.
Prints each run, then each side's best and median CPU seconds per 1,000 records and B/A.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a", required=True, help="tap-intercom executable A (before)")
    parser.add_argument("--b", default=str(Path(sys.executable).with_name("tap-intercom")), help="B (after)")
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--companies", type=int, default=500)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--streams", default="users,contacts,companies,conversations,conversation_parts",
                        help="streams both sides sync (each side's own --discover, these selected); '' = defaults")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cpu-ab-"))
    ready = work / "emulator.url"
    emulator = subprocess.Popen([sys.executable, "-m", "intercom_emulator", "--port", "0", "--token", TOKEN,
                                 "--ready-file", str(ready), "--seed", str(args.seed), "--contacts", str(args.contacts),
                                 "--companies", str(args.companies), "--conversations", str(args.conversations),
                                 "--latency-ms", "0", "--rate-limit", "100000", "--rate-window", "10"],
                                cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        while not ready.exists():
            if emulator.poll() is not None:
                raise SystemExit("the emulator did not start")
            time.sleep(0.1)
        config = work / "config.json"
        config.write_text(json.dumps({"access_token": TOKEN, "start_date": "2000-01-01T00:00:00Z",
                                      "base_url": ready.read_text().strip()}))
        per_k = {"A": [], "B": []}
        catalogs = {side: _catalog(tap, config, work / f"catalog-{side}.json", args.streams)
                    for side, tap in (("A", args.a), ("B", args.b))}
        for run in range(args.runs):
            for side, tap in (("A", args.a), ("B", args.b)):
                proc = subprocess.Popen([tap, "--config", str(config)] + catalogs[side], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
                records = sum(1 for line in proc.stdout if line.startswith(b'{"type":"RECORD"'))
                _, _, usage = os.wait4(proc.pid, 0)
                cpu = usage.ru_utime + usage.ru_stime
                per_k[side].append(cpu / records * 1000)
                print(f"{side} run {run}: {records} records, CPU {cpu:.2f} s, {per_k[side][-1]:.4f} s per 1,000")
    finally:
        emulator.terminate()
    for side in "AB":
        print(f"{side}: best {min(per_k[side]):.4f}, median {statistics.median(per_k[side]):.4f} s per 1,000 records")
    print(f"B/A: best {min(per_k['B']) / min(per_k['A']):.3f}, "
          f"median {statistics.median(per_k['B']) / statistics.median(per_k['A']):.3f}")


def _catalog(tap, config, path, streams):
    """--catalog arguments selecting `streams` in the tap's own discovery (none: the tap's defaults)."""
    if not streams:
        return []
    wanted = set(streams.split(","))
    catalog = json.loads(subprocess.run([tap, "--config", str(config), "--discover"], capture_output=True,
                                        check=True).stdout)
    for entry in catalog["streams"]:
        top = next(m for m in entry["metadata"] if not m["breadcrumb"])
        top["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    path.write_text(json.dumps(catalog))
    return ["--catalog", str(path)]


if __name__ == "__main__":
    main()
