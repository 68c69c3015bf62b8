#!/usr/bin/env python3
"""What a Reporting Data Export run costs: the installed tap-intercom exports every emulator dataset (5) from
`days` back, as a first run does; prints wall time, records and the calls per endpoint.

    .venv/bin/python bench/reporting_export.py                 # 12 and 90 days, jobs done on the 2nd poll;
                                                              # 12 days with jobs that take ~5 s each;
                                                              # then peak RSS exporting one large day
The emulator runs in this process (its own thread); the tap is the installed console script.
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from intercom_emulator import Emulator  # noqa: E402

TAP = str(Path(sys.executable).with_name("tap-intercom"))


def measure(days, polls, seconds, folder):
    emulator = Emulator(seed=11, contacts=10, companies=2, conversations=2, tickets=1, activity_logs=2,
                        token="bench").start()
    try:
        emulator.api.reporting.configure({"polls": polls, "seconds": seconds})
        start = datetime.datetime.fromtimestamp(emulator.ws.clock - days * 86400, datetime.timezone.utc)
        config = folder / "config.json"
        config.write_text(json.dumps({"access_token": "bench", "start_date": start.isoformat(),
                                      "base_url": emulator.url, "reporting_datasets": "*"}))
        catalog = json.loads(subprocess.run([TAP, "--config", str(config), "--discover"], capture_output=True,
                                            text=True, check=True).stdout)
        for entry in catalog["streams"]:
            entry["metadata"][0]["metadata"]["selected"] = entry["tap_stream_id"].startswith("report_")
        (folder / "catalog.json").write_text(json.dumps(catalog))
        emulator.reset_stats()
        began = time.monotonic()
        run = subprocess.run([TAP, "--config", str(config), "--catalog", str(folder / "catalog.json")],
                             capture_output=True, text=True, check=True)
        wall = time.monotonic() - began
        calls = emulator.stats()["by_endpoint"]
        records = sum(1 for line in run.stdout.splitlines() if line.startswith('{"type":"RECORD"'))
        return wall, records, calls
    finally:
        emulator.stop()


def control(url, path, body=None):
    request = urllib.request.Request(f"{url}/_emulator/{path}", data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as answer:
        return json.loads(answer.read())


def peak_rss(conversations, folder):
    """The tap's peak RSS (MB) exporting conversation_state for one day holding `conversations` conversations (a row
    each): the file is streamed to disk and parsed from there, so it stays flat. The emulator runs in its
    own process here: a tap forked from a process holding it would count its pages."""
    ready = folder / "emulator-url"
    ready.unlink(missing_ok=True)
    emulator = subprocess.Popen([sys.executable, "-m", "intercom_emulator", "--port", "0", "--contacts", "10",
                                 "--companies", "2", "--conversations", "2", "--token", "bench",
                                 "--ready-file", str(ready)], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        while not ready.exists() or not ready.read_text().strip():
            time.sleep(0.1)
        url = ready.read_text().strip()
        control(url, "reporting", {"add": conversations})
        start = datetime.datetime.fromtimestamp(control(url, "config")["now"] - 3600, datetime.timezone.utc)
        config = folder / "config.json"
        config.write_text(json.dumps({"access_token": "bench", "start_date": start.isoformat(),
                                      "base_url": url, "reporting_datasets": ["conversation_state"]}))
        catalog = json.loads(subprocess.run([TAP, "--config", str(config), "--discover"], capture_output=True,
                                            text=True, check=True).stdout)
        for entry in catalog["streams"]:
            entry["metadata"][0]["metadata"]["selected"] = entry["tap_stream_id"] == "report_conversation_state"
        (folder / "catalog.json").write_text(json.dumps(catalog))
        with open(os.devnull, "wb") as sink:
            proc = subprocess.Popen([TAP, "--config", str(config), "--catalog", str(folder / "catalog.json")],
                                    stdout=subprocess.PIPE, stderr=sink)
            records = sum(1 for line in proc.stdout if line.startswith(b'{"type":"RECORD"'))
            _, status, usage = os.wait4(proc.pid, 0)
        assert status == 0
        return usage.ru_maxrss / 1024, records
    finally:
        emulator.terminate()
        emulator.wait()


def main():
    print("| days | a job takes | jobs | calls (enqueue / status / download) | records | wall time, s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for days, polls, seconds, label in ((12, 2, 60, "2 polls"), (90, 2, 60, "2 polls"), (12, 99, 5, "5 s")):
            wall, records, calls = measure(days, polls, seconds, Path(folder))
            enqueue = calls.get("POST /export/reporting_data/enqueue", 0)
            status = calls.get("GET /export/reporting_data/{id}", 0)
            download = calls.get("GET /download/reporting_data/{id}", 0)
            print(f"| {days} | {label} | {enqueue} | {enqueue + status + download:,} ({enqueue} / {status} / "
                  f"{download}) | {records} | {wall:.1f} |")
        print()
        print("| one day's export (conversation_state) | records | tap peak RSS, MB |")
        print("|---|---|---|")
        for conversations in (2000, 40000, 200000):
            rss, records = peak_rss(conversations, Path(folder))
            print(f"| {conversations:,} rows | {records:,} | {rss:.0f} |")


if __name__ == "__main__":
    main()
