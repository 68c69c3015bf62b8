"""Command line: Singer's --config/--discover/--catalog/--state, plus --about. Errors are one line."""
import argparse
import gc
import json
import logging
import os
import sys

from tap_intercom import __version__
from tap_intercom.catalog import default_catalog, discover, discover_workspace, select
from tap_intercom.config import SECRET_SETTINGS, SETTINGS, load_config, read_json_file
from tap_intercom.errors import ConfigError, TapError
from tap_intercom.switching.peer import is_peer_catalog, map_catalog, peer_state
from tap_intercom.reading.reporting import is_report
from tap_intercom.state import State, unwrapped
from tap_intercom.engine.stopping import Stopped
from tap_intercom.streams import STREAMS

LOGGER = logging.getLogger("tap_intercom")
NAME = "tap-intercom"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage and two lines; one is enough
        raise ConfigError(f"{message} (see {NAME} --help)")


def _parse_args(argv):
    parser = _Parser(prog=NAME, description="Singer tap for Intercom.")
    parser.add_argument("-c", "--config", help="config file (JSON)")
    parser.add_argument("-d", "--discover", action="store_true", help="print the catalog and exit")
    parser.add_argument("--catalog", help="catalog file selecting streams and fields")
    parser.add_argument("-p", "--properties", help="legacy name of --catalog")
    parser.add_argument("-s", "--state", help="state file from the last run")
    parser.add_argument("--about", action="store_true", help="describe the tap's settings and streams")
    parser.add_argument("--format", choices=("json", "markdown"), default="json", help="format of --about")
    parser.add_argument("--version", action="version", version=f"{NAME} {__version__}")
    args = parser.parse_args(argv)
    if not args.about and not args.config:
        raise ConfigError(f"--config is required (see {NAME} --help)")
    return args


def _setup_logging():
    """singer's log format on stderr; TAP_INTERCOM_LOG_LEVEL sets the level (secrets: see below)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = os.environ.get("TAP_INTERCOM_LOG_LEVEL", "INFO").upper()
    root.setLevel(level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO")


def _replace_all(text, secrets):
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def about(fmt):
    info = {
        "name": NAME,
        "version": __version__,
        "description": "Singer tap extracting Intercom users, leads, companies, conversations and their parts.",
        "capabilities": ["discover", "catalog", "properties", "state", "about"],
        "settings": [{"name": name, "default": default, "description": text, "secret": name in SECRET_SETTINGS,
                      "required": name in ("access_token", "start_date")}
                     for name, (default, text) in SETTINGS.items()],
        "streams": [{"name": s.name, "key_properties": list(s.key),
                     "replication_method": "INCREMENTAL" if s.replication_key else "FULL_TABLE",
                     "replication_key": s.replication_key, "selected_by_default": s.selected_by_default,
                     "description": s.description} for s in STREAMS],
    }
    if fmt == "json":
        return json.dumps(info, indent=2)
    lines = [f"# {NAME} {__version__}", "", info["description"], "",
             "Capabilities: " + ", ".join(info["capabilities"]), "", "## Settings", "",
             "| setting | default | description |", "|---|---|---|"]
    lines += [f"| `{s['name']}`{' (required)' if s['required'] else ''} | {s['default'] if s['default'] is not None else ''}"
              f" | {s['description']} |" for s in info["settings"]]
    lines += ["", "## Streams", "", "| stream | key | replication | description |", "|---|---|---|---|"]
    lines += [f"| {s['name']} | {', '.join(s['key_properties'])} | {s['replication_method']}"
              f"{' on ' + s['replication_key'] if s['replication_key'] else ''} | {s['description']} |"
              for s in info["streams"]]
    return "\n".join(lines)


def run(args, redact):
    if args.about:
        sys.stdout.write(about(args.format) + "\n")
        return
    config = load_config(args.config)
    if len(config.access_token) >= 4:  # redacting a one-letter "token" would garble every log line
        redact.append(config.access_token)
    if args.discover:
        json.dump(discover_workspace(config), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    catalog_path = args.catalog or args.properties
    catalog = read_json_file(catalog_path, "catalog") if catalog_path else default_catalog(config)
    if catalog is None:
        raise ConfigError(f"catalog file {catalog_path} is empty")
    from_peer = is_peer_catalog(catalog)  # singer-io/tap-intercom's: its contacts are our users and leads
    if from_peer:
        catalog = map_catalog(catalog, discover())
    selections = select(catalog)
    incremental = {s.name for s in STREAMS if s.replication_key}
    state_raw = peer_state(unwrapped(read_json_file(args.state, "state")) if args.state else None, from_peer)
    reports = _report_names(state_raw) | {s.stream.name for s in selections if is_report(s.stream.name)}
    state = State.parse(state_raw, incremental | reports, {s.name for s in STREAMS} | reports)
    if not selections:
        LOGGER.warning("no stream is selected in the catalog; nothing to sync")
        return
    from tap_intercom.engine.sync import Engine  # imported late: --discover needs no HTTP machinery
    from tap_intercom.http.client import check_token
    LOGGER.info("syncing %s", ", ".join(s.stream.name for s in selections))
    tune_collector()
    engine = Engine(config, selections, state)
    check_token(engine.client, unreachable_is_fatal=True)  # before the first SCHEMA
    engine.run()


def tune_collector():
    """A sync allocates millions of objects (each page parsed is thousands of dicts and lists) and almost no reference
    cycles, so the cycle collector only costs CPU: leave what is loaded by now (modules, schemas) out of its walks,
    and run it every 100,000 allocations (not 700). Each young collection walks every container still alive since
    the last one: the pages being read, parsed and written, however many windows are in flight. A cycle made and
    dropped (an exception's traceback, a finished source's closures: about 8,000 objects in a sync) is still freed
    by the next one.
    Measured (issue 29; docs/PERFORMANCE.md): a whole default-selection sync, 354k -> 337k instructions a contact
    against every 10,000 (an earlier release measured every 10,000 against Python's 700: 0.92 of the CPU), and
    339k with the collector off; peak RSS at 10,000 and 100,000 contacts
    73/85 MB -> 76/85 MB (bench/run.py's RSS row), and the same ~190 MB either way at 20,000 contacts behind 300 ms
    and a rate limit."""
    gc.freeze()
    gc.set_threshold(100_000, 10, 10)


def _report_names(state_raw):
    """Report streams a state has bookmarks for: they are the workspace's datasets, not a fixed list."""
    bookmarks = state_raw.get("bookmarks") if isinstance(state_raw, dict) else None
    return {name for name in bookmarks if is_report(name)} if isinstance(bookmarks, dict) else set()


def main(argv=None):
    _setup_logging()
    secrets = []
    scrub = _redact_secrets_lazy(secrets)
    try:
        run(_parse_args(sys.argv[1:] if argv is None else argv), secrets)
        return 0
    except Stopped as exc:
        _fail(str(exc))
        code = exc.exit_code
    except TapError as exc:
        _fail(scrub(str(exc)))
        code = 1
    except BrokenPipeError:
        # Python would try to flush stdout again at exit and print its own complaint: point it at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _fail("stdout was closed (did the target stop?)")
        code = 1
    except KeyboardInterrupt:
        _fail("interrupted")
        code = 130
    except Exception as exc:  # a bug: still one line, never a traceback that could carry data
        _fail(scrub(f"internal error: {type(exc).__name__}: {exc}"))
        code = 2
    # Exit now: worker threads still waiting on a request or a retry have nothing left to contribute.
    os._exit(code)


def _redact_secrets_lazy(secrets):
    """Secrets are known only once the config is read; the filter reads the list as it grows."""
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args, **kwargs):
        record = make_record(*args, **kwargs)
        if secrets:  # format once here (handlers then use the result as is), replacing any secret
            record.msg, record.args = _replace_all(record.getMessage(), secrets), ()
        return record

    logging.setLogRecordFactory(redacting_factory)
    return lambda text: _replace_all(text, secrets)


def _fail(message):
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass
    sys.stderr.write(f"{NAME}: error: {' '.join(message.split())}\n")  # one line, whatever the API said
    sys.stderr.flush()
