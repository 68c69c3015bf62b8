"""CLI: python -m intercom_emulator --port 8765 --contacts 1000 ..."""
import argparse
import os
import signal
import sys

from .server import DEFAULT_FAULT_KINDS, Emulator


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m intercom_emulator", description="A local Intercom REST API.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--contacts", type=int, default=500)
    p.add_argument("--companies", type=int, default=100)
    p.add_argument("--conversations", type=int, default=150)
    p.add_argument("--tickets", type=int, default=40)
    p.add_argument("--activity-logs", type=int, default=400)
    p.add_argument("--token", default="emulator-token")
    p.add_argument("--clock", default=None, help="ISO 8601 start time (default: yesterday 12:00:00 UTC)")
    p.add_argument("--tz-offset-hours", type=float, default=0)
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--rate-limit", type=int, default=1667)
    p.add_argument("--rate-window", type=float, default=10)
    p.add_argument("--scroll-expiry", type=float, default=60)
    p.add_argument("--scroll-page-size", type=int, default=50)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--fault-kinds", default=DEFAULT_FAULT_KINDS)
    p.add_argument("--fault-seed", type=int, default=1)
    p.add_argument("--gzip", action="store_true", help="gzip responses for clients that accept it")
    p.add_argument("--clock-headers", action="store_true",
                   help="Date and X-RateLimit-Reset in the emulator's clock rather than the machine's")
    p.add_argument("--ready-file", default=None, help="also write the URL to this file once listening")
    a = p.parse_args(argv)
    emu = Emulator(seed=a.seed, contacts=a.contacts, companies=a.companies, conversations=a.conversations,
                   token=a.token, clock=a.clock, tz_offset_hours=a.tz_offset_hours, latency_ms=a.latency_ms,
                   rate_limit=a.rate_limit, rate_window=a.rate_window, scroll_expiry=a.scroll_expiry,
                   scroll_page_size=a.scroll_page_size, fault_rate=a.fault_rate, fault_kinds=a.fault_kinds,
                   fault_seed=a.fault_seed, host=a.host, port=a.port, gzip=a.gzip, tickets=a.tickets,
                   activity_logs=a.activity_logs, clock_headers=a.clock_headers).start()
    if a.ready_file:  # written before the line is printed, so either signal means "ready"
        with open(a.ready_file + ".tmp", "w") as f:
            f.write(emu.url + "\n")
        os.replace(a.ready_file + ".tmp", a.ready_file)  # atomic: readers never see a partial file
    print("intercom-emulator listening on %s" % emu.url, flush=True)
    # SIGTERM ends the process like Ctrl-C does (daemon threads die with it).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        emu._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
