"""Time formats: Intercom's epoch seconds (and milliseconds, numeric strings, ISO 8601 text) to singer's
date-time text, and a record's cursor value as epoch seconds. Used by the transform, the bookmarks and the
windows alike; epoch seconds are formatted from tables (one dict lookup a day), the transform's hot path.
An epoch value above 1e11 is taken as milliseconds: as seconds it would be the year 5138, as milliseconds it
is March 1973.
"""
import datetime
import re

_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z
_MS_ABOVE = 10 ** 11  # a larger epoch value is in milliseconds (see above)
_NUMERIC = re.compile(r"-?\d+(\.\d+)?")
_UTC = datetime.timezone.utc
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=_UTC)
_DAYS = {}  # day number -> 'YYYY-MM-DD'
_MINUTES = [f"T{minute // 60:02d}:{minute % 60:02d}:" for minute in range(1440)]  # minute of the day -> 'THH:MM:'
_SECONDS = [f"{second:02d}.000000Z" for second in range(60)]


# epoch_to_rfc3339 as one expression of d, r = divmod(seconds, 86400), for converters generated as source
# (transform.py, checked.py), which inline it for want of a call per value; INLINE_NAMES are the names it reads
INLINE_TEXT = "(_DAYS.get(d) or _day(d)) + _MINUTES[r // 60] + _SECONDS[r % 60]"


def _day(days):
    day = _DAYS[days] = datetime.date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    return day


INLINE_NAMES = {"_DAYS": _DAYS, "_MINUTES": _MINUTES, "_SECONDS": _SECONDS, "_day": _day}


def epoch_to_rfc3339(seconds):
    """Epoch seconds to singer's date-time text, e.g. 2024-05-01T09:30:00.000000Z."""
    days, second = divmod(seconds, 86400)
    return (_DAYS.get(days) or _day(days)) + _MINUTES[second // 60] + _SECONDS[second % 60]


try:  # the same text made in C (records/_finish.c), for 0 <= seconds < _MS_ABOVE only
    from tap_intercom.records._finish import epoch_text
except ImportError:  # pragma: no cover - not built: the Python one
    epoch_text = epoch_to_rfc3339


def datetime_text(value):
    """singer's date-time text for epoch seconds or milliseconds (numbers or numeric strings) or ISO 8601
    text; None when the value is none of these."""
    kind = type(value)
    if kind is str:
        text = value.strip()
        if _NUMERIC.fullmatch(text):
            value = float(text) if "." in text else int(text)
        else:
            try:
                parsed = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
            except ValueError:
                return None
            parsed = parsed.replace(tzinfo=_UTC) if parsed.tzinfo is None else parsed.astimezone(_UTC)
            return _format(parsed)
        kind = type(value)
    if kind is not int and kind is not float:
        return None  # booleans, objects, lists: not a moment
    if abs(value) >= _MS_ABOVE:
        value = value / 1000 if kind is float or value % 1000 else value // 1000
    if type(value) is int and 0 <= value <= _MAX_EPOCH:
        return epoch_to_rfc3339(value)
    try:
        return _format(_EPOCH + datetime.timedelta(seconds=value))
    except (OverflowError, ValueError):
        return None


def _format(moment):
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
            f"{moment.second:02d}.{moment.microsecond:06d}Z")


def cursor_epoch(value):
    """A record's cursor value (updated_at, epoch seconds) as an int; None when it is not a number."""
    if type(value) is int:
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        pass
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-":  # macros send ISO 8601 (2.16)
        try:
            parsed = datetime.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError:
            return None
        return int(parsed.timestamp()) if parsed.tzinfo else None
    return None
