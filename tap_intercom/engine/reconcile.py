"""Reconciliation: which streams this run reads whole as a new table version (versions.py), and from where.

- Full-table streams (the listings, and companies: the scroll has no filter) are a new version every run.
- An incremental stream is read whole from start_date (a *pass*) when its last completed pass is older than
  `reconcile_interval_hours`. The pass keeps its version and its own bookmark (`pass_updated_at`) in STATE:
  a killed pass resumes in the next run with the same version where it stopped, and is activated only once
  read to the end, so a killed or failed pass never removes a live row. Between passes, records carry no
  version: the next pass reads every live record again and rewrites it with its version before activating.
- History streams (users_history, ...) are never versioned: what they keep is every version, removed or not.
- Streams of one search pass together (it costs no extra call), except conversation and ticket parts, whose
  pass costs one call per conversation or ticket: they have their own interval, `reconcile_parts_interval_hours`.
"""
import logging
from dataclasses import dataclass
from typing import Optional

from tap_intercom.records.timestamps import epoch_to_rfc3339
from tap_intercom.records.versions import new_version

LOGGER = logging.getLogger("tap_intercom")

OWN_INTERVAL = {name: "reconcile_parts_interval_hours" for name in ("conversation_parts", "ticket_parts",
                                                                "conversation_handling_events")}
NEVER_RECONCILED = {"deleted_conversations", "activity_logs",  # logs: nothing in them is ever removed
                    "call_transcripts"}  # a transcript's row stays; its bookmark is a watermark (newer.py)


@dataclass(frozen=True)
class Plan:
    version: Optional[int] = None  # the table version this run's records carry; None: plain upserts
    since: Optional[int] = None  # where a pass reads from (epoch s); None: the stream's bookmark
    activates: bool = False  # send ACTIVATE_VERSION once the stream's source is read to the end


def plan_streams(streams, state, config, now):
    """{stream name: Plan} for this run. Sets up the passes it starts in `state` (main thread, before the sync)."""
    reconciled = {s.name for s in streams if s.replication_key and s.name not in NEVER_RECONCILED and not s.history
                  and s.source.style not in ("export", "content_export")  # exports: re-exported, never read whole
                  and _interval(s.name, config) > 0}
    # A state from before passes (an earlier release's, or the peer's after switching): its interval starts
    # now, so an upgrade or a switch re-reads no more than before.
    clock_starts = {name for name in reconciled if state.bookmark(name) is not None and not state.passes.get(name)}
    for name in clock_starts:
        state.passes[name] = {"reconciled_at": int(now)}
    due = {name for name in reconciled - clock_starts if _due(name, state, config, now)}
    # A search read whole for one stream is read whole for its other streams too, at no extra call.
    searched_whole = {s.source.name for s in streams if s.name in due and s.name not in OWN_INTERVAL}
    plans = {}
    for stream in streams:
        name = stream.name
        info = state.passes.get(name, {})
        if stream.history:  # every version is kept: its records carry no version and nothing activates
            plans[name] = Plan()
            continue
        if not stream.replication_key:
            plans[name] = Plan(new_version(), None, True)
            continue
        if name not in reconciled:
            for key in ("version", "pass_updated_at"):  # a pass turned off is dropped, never activated
                info.pop(key, None)
            plans[name] = Plan()
            continue
        if name not in due and (name in OWN_INTERVAL or name in clock_starts
                                or stream.source.name not in searched_whole):
            plans[name] = Plan()
            continue
        info = state.passes.setdefault(name, info)
        if "version" in info:
            LOGGER.info("%s: resuming its reconciliation pass (version %d) from %s", name, info["version"],
                        epoch_to_rfc3339(info.get("pass_updated_at", config.start_date)))
        else:
            info["version"] = new_version()
            LOGGER.info("%s: reconciliation pass (version %d): reading it whole from start_date", name,
                        info["version"])
        since = info["pass_updated_at"] - config.lookback_window if "pass_updated_at" in info else config.start_date
        plans[name] = Plan(info["version"], max(since, config.start_date), True)
    return plans


def completed(state, name):
    """The stream's pass is activated: it is the last completed pass, dated from when it began."""
    info = state.passes.get(name)
    if info and "version" in info:
        LOGGER.info("%s: reconciliation pass complete (version %d activated)", name, info["version"])
        info["reconciled_at"] = info.pop("version") // 1000
        info.pop("pass_updated_at", None)


def _interval(name, config):
    return getattr(config, OWN_INTERVAL.get(name, "reconcile_interval_hours"))


def _due(name, state, config, now):
    info = state.passes.get(name, {})
    if "version" in info or "reconciled_at" not in info:
        return True
    return now - info["reconciled_at"] >= _interval(name, config) * 3600
