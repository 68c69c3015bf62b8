#!/usr/bin/env python3
"""A/B of the HTTP transport: tap_intercom/http/transport.py (http.client, a connection per thread) against a
requests Session per thread (bench/requests_transport.py), same tap otherwise, same emulator data.

    .venv/bin/python bench/transport_ab.py              # ~3 min; prints a markdown table
    .venv/bin/python bench/transport_ab.py --runs 5 --contacts 10000

Per latency (0 and 50 ms) it starts the emulator in its own process, then runs full syncs of every stream,
A and B interleaved (A B A B ...), and keeps each side's best: CPU seconds of the tap process (user + system,
from wait4) per 1,000 records, and wall time. Then the same at the rate-limit bound (a budget low enough that
Intercom's limit, not the tap, sets the pace). The rule (issue 12): keep the own transport only if it saves at
least 15% of the tap's total CPU at 50 ms.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
# Runs the installed tap, on the requests transport for side B (client.py looks Transport up at construction).
# Side A imports requests too, as the tap does for any https:// URL (proxy settings, CA bundle): the import
# is not what is compared.
RUNNER = """import sys
import requests.utils
if sys.argv[1] == "B":
    sys.path.insert(0, {bench!r})
    import requests_transport, tap_intercom.http.client
    tap_intercom.http.client.Transport = requests_transport.Transport
from tap_intercom.cli import main
sys.exit(main(sys.argv[2:]))
"""


def start_emulator(args, work, latency_ms, rate_limit, rate_window):
    ready = work / f"emulator-{latency_ms}-{rate_limit}.url"
    cmd = [sys.executable, "-m", "intercom_emulator", "--port", "0", "--token", TOKEN, "--ready-file", str(ready),
           "--seed", "7", "--contacts", str(args.contacts), "--companies", str(args.companies),
           "--conversations", str(args.conversations), "--latency-ms", str(latency_ms),
           "--rate-limit", str(rate_limit), "--rate-window", str(rate_window)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not ready.exists():
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit("the emulator did not start")
        time.sleep(0.1)
    return proc, ready.read_text().strip()


def sync(side, url, work):
    config = work / "config.json"
    config.write_text(json.dumps({"access_token": TOKEN, "start_date": "2000-01-01T00:00:00Z", "base_url": url}))
    cmd = [sys.executable, "-c", RUNNER.format(bench=str(ROOT / "bench")), side, "--config", str(config)]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=work)
    records = sum(1 for line in proc.stdout if line.startswith(b'{"type":"RECORD"'))
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"side {side} failed (status {status})")
    return {"wall": time.monotonic() - started, "cpu": usage.ru_utime + usage.ru_stime, "records": records}


def compare(args, work, latency_ms, rate_limit, rate_window):
    proc, url = start_emulator(args, work, latency_ms, rate_limit, rate_window)
    try:
        runs = {"A": [], "B": []}
        for _ in range(args.runs):
            for side in "AB":
                runs[side].append(sync(side, url, work))
                if rate_limit < 1000:
                    time.sleep(rate_window)  # a fresh rate-limit window for the next run
    finally:
        proc.terminate()
        proc.wait()
    best = {}
    for side, results in runs.items():
        assert len({r["records"] for r in results}) == 1, f"{side}: record counts differ between runs"
        best[side] = {"cpu_per_1000": min(r["cpu"] for r in results) / results[0]["records"] * 1000,
                      "wall": min(r["wall"] for r in results), "records": results[0]["records"]}
    assert best["A"]["records"] == best["B"]["records"], "A and B emitted different record counts"
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--companies", type=int, default=500)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for label, latency, limit, window in (("0 ms", 0, 100000, 10), ("50 ms", 50, 100000, 10),
                                              ("rate-limit bound (50 ms, 150 per 2 s)", 50, 150, 2)):
            best = compare(args, work, latency, limit, window)
            rows.append((label, best))
            print(f"{label}: {json.dumps(best)}", file=sys.stderr, flush=True)
    print(f"Workspace: {args.contacts} contacts, {args.companies} companies, {args.conversations} conversations "
          f"(seed 7); best of {args.runs} interleaved full syncs each; A = transport.py, B = requests.Session.\n")
    print("| measure | A: own transport | B: requests | A / B |\n|---|---|---|---|")
    for label, best in rows:
        a, b = best["A"], best["B"]
        print(f"| CPU s per 1,000 records ({label}) | {a['cpu_per_1000']:.4f} | {b['cpu_per_1000']:.4f} | "
              f"{a['cpu_per_1000'] / b['cpu_per_1000']:.2f} |")
        print(f"| wall time, s ({label}) | {a['wall']:.2f} | {b['wall']:.2f} | {a['wall'] / b['wall']:.2f} |")
    a, b = rows[1][1]["A"]["cpu_per_1000"], rows[1][1]["B"]["cpu_per_1000"]
    saving = 1 - a / b
    print(f"\nAt 50 ms the own transport saves {saving:.0%} of the tap's CPU: "
          f"{'keep it' if saving >= 0.15 else 'move to requests'} (the rule: keep it only if it saves at least 15%).")


if __name__ == "__main__":
    main()
