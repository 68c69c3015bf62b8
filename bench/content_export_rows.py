#!/usr/bin/env python3
"""How fast the tap reads a content data export's archive into RECORD lines (reading/content_export.py): a ZIP of
100,000 receipts (54 columns, titles with commas) and 200,000 clicks, spooled on disk, read by Export._rows.

    .venv/bin/python bench/content_export_rows.py

Prints rows, CPU seconds and rows per CPU second (and wall time: the machine may be shared).
"""
import csv
import io
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the emulator's column lists

from intercom_emulator.content_export import RECEIPT_HEADER  # noqa: E402
from tap_intercom.catalog import discover, select  # noqa: E402
from tap_intercom.reading.content_export import Export  # noqa: E402

RECEIPTS, CLICKS = 100_000, 200_000


def archive():
    spool = tempfile.TemporaryFile()
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as z:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(RECEIPT_HEADER)
        for i in range(RECEIPTS):
            writer.writerow([str(i) if c == "receipt_id" else str(1_700_000_000 + i)
                             if c in ("received_at", "first_open", "first_click")
                             else "" if c.startswith("first_") else f"value {i}, with a comma" for c in RECEIPT_HEADER])
        z.writestr("receipt_20251121.csv", text.getvalue())
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["receipt_id", "clicked_at", "link_type", "url"])
        for i in range(CLICKS):
            writer.writerow([str(i % RECEIPTS), str(1_700_000_000 + i), "link", "https://example.com/a?b=1,2"])
        z.writestr("clicks_20240625-101500.csv", text.getvalue())
    return spool


def main():
    catalog = discover()
    for entry in catalog["streams"]:
        entry["metadata"][0]["metadata"]["selected"] = entry["tap_stream_id"] in ("message_receipts", "message_events")
    config = type("Config", (), {"content_export_max_rows": 10 ** 7})()
    export = Export(None, config, select(catalog), threading.Event())
    spool = archive()
    cpu, wall, rows = time.process_time(), time.time(), 0
    for step in export._rows(spool, "bench"):
        rows += sum(step.records.values())
    cpu, wall = time.process_time() - cpu, time.time() - wall
    print(f"{rows:,} rows in {cpu:.1f} s of CPU ({rows / cpu:,.0f} rows/s), {wall:.1f} s of wall time")


if __name__ == "__main__":
    main()
