"""The tap's settings: read, checked and given their defaults in one place."""
import datetime
import ipaddress
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tap_intercom import __version__
from tap_intercom.errors import ConfigError

LOGGER = logging.getLogger("tap_intercom")

REGIONS = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}

# name: (default, description). The table drives validation, `--about` and the README.
SETTINGS = {
    "access_token": (None, "Intercom access token (required, secret); sent as a Bearer token, never logged."),
    "start_date": (None, "ISO 8601 date-time (required): where a stream without a bookmark starts."),
    "region": ("us", "us, eu or au: picks api.intercom.io, api.eu.intercom.io or api.au.intercom.io."),
    "base_url": (None, "Overrides the region's URL; http:// is accepted only for loopback hosts."),
    "api_version": ("2.14", "The Intercom-Version header the tap's schemas are written for."),
    "user_agent": (f"tap-intercom/{__version__}", "User-Agent header."),
    "request_timeout": (60, "Seconds to wait for one HTTP response before retrying it."),
    "page_size": (150, "Records per search page, 1-150 (Intercom's maximum is 150)."),
    "lookback_window": (900, "Seconds re-read behind each bookmark, for records Intercom indexes late."),
    "max_workers": (100, "Ceiling on requests in flight; the tap keeps rate x latency in flight (Little's law)."),
    "max_requests_per_minute": (10000, "The tap's own cap on requests; lower it when other apps share the workspace."),
    "max_retries": (7, "Retries of a request that failed with 5xx, a timeout, a dropped connection or non-JSON."),
    "reconcile_interval_hours": (24, "Hours between reconciliation passes of incremental streams (a full re-read "
                                     "whose ACTIVATE_VERSION removes deleted records); 0 = never."),
    "reconcile_parts_interval_hours": (168, "Hours between reconciliation passes of conversation_parts and "
                                            "ticket_parts (one call per conversation or ticket); 0 = never."),
    "typed_custom_attributes": (True, "Discovery types custom attributes from Intercom's data attributes; false: "
                                      "free-form objects."),
    "search_window_pages": (10, "Pages per window of a search read as concurrent windows of updated_at."),
    "custom_object_types": ([], "Custom object types (their identifiers, e.g. [\"Order\"]) whose instances "
                                "custom_object_instances reads; the API cannot list them."),
    "reporting_datasets": ([], "Reporting Data Export datasets to sync as streams report_<id> (a list of dataset "
                               "ids, or \"*\" for every dataset); none by default."),
    "workspace_timezone": ("UTC", "IANA timezone of the workspace (Settings > Workspace): the Reporting Data "
                                  "Export writes times in it; the tap converts them to UTC."),
    "reporting_lookback_days": (3, "Days re-exported behind each report stream's bookmark (rows describe current "
                                   "state: a reopened conversation changes its row)."),
    "reporting_window_days": (1, "Days of a dataset per export job (a job and its file stay small; a long backfill "
                                 "may take more)."),
    "content_export_lookback_days": (7, "Days of sends re-exported behind the message streams' bookmark: a message's "
                                        "later opens and clicks only count in an export covering its send "
                                        "(docs/MESSAGES.md)."),
    "content_export_max_wait_minutes": (360, "Minutes one range of the content data export may wait for the "
                                             "workspace's one export job and its own, before the message streams "
                                             "fail (their bookmark stays; the next run resumes)."),
    "content_export_max_rows": (10000000, "Intercom's cap on the rows of one content data export job: a job "
                                          "returning this many is exported again as two halves."),
    "fail_on_skipped_streams": (False, "true: a stream skipped because Intercom refused it (a scope the token lacks, "
                                       "a plan, an endpoint not available) makes the run exit 1 once the others "
                                       "finished; false: a warning, exit 0."),
}
SECRET_SETTINGS = {"access_token"}
_POSITIVE_NUMBERS = {"request_timeout": float, "page_size": int, "lookback_window": int, "max_workers": int,
                     "max_requests_per_minute": int, "max_retries": int, "search_window_pages": int,
                     "reconcile_interval_hours": float, "reconcile_parts_interval_hours": float,
                     "reporting_lookback_days": float, "reporting_window_days": float,
                     "content_export_lookback_days": float, "content_export_max_wait_minutes": float,
                     "content_export_max_rows": int}
_ZERO_ALLOWED = ("lookback_window", "max_retries", "reconcile_interval_hours", "reconcile_parts_interval_hours",
                 "reporting_lookback_days", "content_export_lookback_days")


@dataclass(frozen=True)
class Config:
    access_token: str = field(repr=False)
    start_date: int  # epoch seconds
    base_url: str
    api_version: str
    user_agent: str
    request_timeout: float
    page_size: int
    lookback_window: int
    max_workers: int
    max_requests_per_minute: int
    max_retries: int
    reconcile_interval_hours: float = 24
    reconcile_parts_interval_hours: float = 168
    typed_custom_attributes: bool = True
    search_window_pages: int = 10
    custom_object_types: tuple = ()
    reporting_datasets: tuple = ()  # dataset ids; ("*",) = every dataset the workspace lists
    workspace_timezone: str = "UTC"
    reporting_lookback_days: float = 3
    reporting_window_days: float = 1
    content_export_lookback_days: float = 7
    content_export_max_wait_minutes: float = 360
    content_export_max_rows: int = 10_000_000
    fail_on_skipped_streams: bool = False


def read_json_file(path, what):
    """Parse a JSON file, turning every failure into one readable line."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} file {path} is not UTF-8 text") from None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{what} file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg})") from None


def parse_datetime(value, what):
    """ISO 8601 text to epoch seconds (UTC when no offset is given)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} must be an ISO 8601 date-time string, got {value!r}")
    text = value.strip()
    try:  # the common forms, without importing pendulum
        parsed = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        parsed = _pendulum_parse(text)
    if parsed is None:
        raise ConfigError(f"{what} {value!r} is not an ISO 8601 date-time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return int(parsed.timestamp())


def _pendulum_parse(text):
    import pendulum  # the rest of ISO 8601 (week dates, ordinal dates, compact forms)

    try:
        parsed = pendulum.parse(text, strict=False)
    except Exception:  # pendulum raises several types for bad input
        return None
    if isinstance(parsed, pendulum.DateTime):
        return parsed
    if isinstance(parsed, pendulum.Date):
        return datetime.datetime(parsed.year, parsed.month, parsed.day, tzinfo=datetime.timezone.utc)
    return None


def _check_base_url(url):
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError when out of range
    except (TypeError, ValueError, AttributeError):
        raise ConfigError(f"config: base_url {url!r} is not an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"config: base_url {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(f"config: base_url {url!r} uses http:// for a non-loopback host; "
                          "the access token would travel unencrypted: use https://")
    return url.rstrip("/")


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_config(path):
    raw = read_json_file(path, "config")
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    unknown = sorted(set(raw) - set(SETTINGS))
    if unknown:
        LOGGER.warning("config: ignoring unknown keys: %s", ", ".join(unknown))
    values = {name: raw.get(name) if raw.get(name) is not None else default
              for name, (default, _) in SETTINGS.items()}

    token = values["access_token"]
    if not isinstance(token, str) or not token.strip():
        raise ConfigError("config: access_token is missing or empty")
    if not all("!" <= char <= "~" for char in token.strip()):  # it goes into an HTTP header as is
        raise ConfigError("config: access_token holds spaces, line breaks or non-ASCII characters; "
                          "paste the token exactly as Intercom shows it")
    if values["start_date"] is None:
        raise ConfigError("config: start_date is missing")
    region = values["region"]
    if not isinstance(region, str) or region not in REGIONS:
        raise ConfigError(f"config: region {region!r} is unknown (use one of: {', '.join(REGIONS)})")
    base_url = _check_base_url(values["base_url"]) if values["base_url"] else REGIONS[region]
    for name, kind in _POSITIVE_NUMBERS.items():
        try:
            values[name] = kind(values[name])
            valid = values[name] >= (0 if name in _ZERO_ALLOWED else 1)
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ConfigError(f"config: {name} must be a number of at least "
                              f"{0 if name in _ZERO_ALLOWED else 1}, got {raw.get(name)!r}")
    if values["page_size"] > 150:
        raise ConfigError("config: page_size must be at most 150 (Intercom's limit)")
    typed_custom_attributes, fail_on_skipped = (_flag(values, name) for name in ("typed_custom_attributes",
                                                                                  "fail_on_skipped_streams"))
    custom_object_types = _names(values["custom_object_types"], "custom_object_types",
                                 'custom object type names (e.g. ["Order"])')
    for name in ("api_version", "user_agent"):
        if not isinstance(values[name], str) or not values[name].strip():
            raise ConfigError(f"config: {name} must be a non-empty string")

    datasets = _names(values["reporting_datasets"], "reporting_datasets", 'dataset ids or "*"')
    timezone = values["workspace_timezone"]
    _check_timezone(timezone)

    return Config(
        access_token=token.strip(),
        start_date=parse_datetime(values["start_date"], "config: start_date"),
        base_url=base_url,
        api_version=values["api_version"].strip(),
        user_agent=values["user_agent"],
        request_timeout=values["request_timeout"],
        page_size=values["page_size"],
        lookback_window=values["lookback_window"],
        max_workers=values["max_workers"],
        max_requests_per_minute=values["max_requests_per_minute"],
        max_retries=values["max_retries"],
        reconcile_interval_hours=values["reconcile_interval_hours"],
        reconcile_parts_interval_hours=values["reconcile_parts_interval_hours"],
        typed_custom_attributes=typed_custom_attributes,
        search_window_pages=values["search_window_pages"],
        custom_object_types=custom_object_types,
        reporting_datasets=datasets,
        workspace_timezone=timezone,
        reporting_lookback_days=values["reporting_lookback_days"],
        reporting_window_days=values["reporting_window_days"],
        content_export_lookback_days=values["content_export_lookback_days"],
        content_export_max_wait_minutes=values["content_export_max_wait_minutes"],
        content_export_max_rows=values["content_export_max_rows"],
        fail_on_skipped_streams=fail_on_skipped,
    )


def _flag(values, name):
    value = values[name]
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"  # from an environment variable
    if not isinstance(value, bool):
        raise ConfigError(f"config: {name} must be true or false, got {value!r}")
    return value


def _names(value, setting, what):
    """A list of names, or (from an environment variable) a JSON list or names separated by commas."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip().startswith("[") else value
        except ValueError:
            pass  # refused below, in one line
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() and "/" not in item
                                              for item in value):
        raise ConfigError(f"config: {setting} must be a list of {what}, got {value!r}")
    return tuple(dict.fromkeys(item.strip() for item in value))


def _check_timezone(name):
    import zoneinfo  # Python 3.9+; the system's tz database

    try:
        zoneinfo.ZoneInfo(name)
    except (TypeError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ConfigError(f"config: workspace_timezone {name!r} is not an IANA timezone name "
                          "(e.g. Europe/Dublin, America/New_York, UTC)") from None
