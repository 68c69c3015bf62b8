""""Nothing Intercom sends is lost": every non-null value sent reaches the written record, unchanged or
converted without loss (the conversions transform.py documents)."""
import datetime
import json

_UTC = datetime.timezone.utc


def _moment(value):
    """A date-time as sent (epoch seconds or milliseconds, numeric text, ISO 8601) as a UTC datetime."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            parsed = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
            return parsed.replace(tzinfo=_UTC) if parsed.tzinfo is None else parsed.astimezone(_UTC)
    if abs(value) >= 10 ** 11:
        value = value / 1000
    return datetime.datetime(1970, 1, 1, tzinfo=_UTC) + datetime.timedelta(seconds=value)


def _same_scalar(sent, written):
    if written == sent and type(written) is type(sent):
        return True
    if isinstance(written, str) and not isinstance(sent, str) and not isinstance(sent, bool) \
            and isinstance(sent, (int, float)) and written == str(sent):
        return True  # a number where a string is declared
    if isinstance(written, str) and (isinstance(sent, bool) or isinstance(sent, (dict, list))):
        return json.loads(written) == sent  # JSON text
    if type(written) is bool and not isinstance(sent, bool):  # 0/1 or "true"/"false" where a boolean is declared
        return (sent in (0, 1) and bool(sent) is written) if isinstance(sent, int) else \
            isinstance(sent, str) and sent.lower() == str(written).lower()
    if type(written) in (int, float) and not isinstance(sent, bool) and isinstance(sent, (int, float, str)):
        # an integer where a number is declared, an integral float or a numeric string where an integer is
        try:
            return float(str(sent).replace(",", "")) == written
        except ValueError:
            return False
    if type(written) is str and written.endswith("Z") and len(written) == 27:  # singer's date-time text
        try:
            return _moment(written) == _moment(sent)
        except (TypeError, ValueError, OverflowError):
            return False
    return False


def lost(sent, written, path="", ignore=()):
    """(path, what was written there) for each value of `sent` that does not reach `written` (empty: nothing
    lost; None written: nulled). `ignore`: paths the tap reshapes on purpose (dotted, `*` for list items)."""
    if sent is None or path in ignore:
        return []
    if isinstance(sent, dict):
        if isinstance(written, str):
            return [] if json.loads(written) == sent else [(path or "(record)", written)]
        if not isinstance(written, dict):
            return [(path or "(record)", written)]
        out = []
        for key, value in sent.items():
            sub = f"{path}.{key}" if path else key
            if value is None or sub in ignore:
                continue
            if key not in written:
                out.append((sub, "(missing)"))
            else:
                out += lost(value, written[key], sub, ignore)
        return out
    if isinstance(sent, list):
        if isinstance(written, str):
            return [] if json.loads(written) == sent else [(path, written)]
        if not isinstance(written, list) or len(written) < len(sent):
            return [(path, written)]
        return [p for item, out in zip(sent, written) for p in lost(item, out, f"{path}.*", ignore)]
    return [] if _same_scalar(sent, written) else [(f"{path} ({sent!r})", written)]


def declared_only(value, schema):
    """`value` without the keys its schema does not declare (what singer's Transformer would have kept)."""
    if isinstance(value, dict) and schema.get("properties"):
        return {k: declared_only(v, schema["properties"][k]) for k, v in value.items() if k in schema["properties"]}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [declared_only(v, schema["items"]) for v in value]
    return value


def null_booleans_as_sent(theirs, sent, schema):
    """singer's output with the one difference we keep on purpose: a boolean sent as null is null, not false."""
    if isinstance(theirs, dict) and isinstance(sent, dict):
        properties = schema.get("properties") or {}
        out = dict(theirs)
        for key, value in theirs.items():
            sub = properties.get(key) or {}
            types = sub.get("type") if isinstance(sub.get("type"), list) else [sub.get("type")]
            if key in sent and sent[key] is None and "boolean" in types and value is False:
                out[key] = None
            elif key in sent:
                out[key] = null_booleans_as_sent(value, sent[key], sub)
        return out
    if isinstance(theirs, list) and isinstance(sent, list) and isinstance(schema.get("items"), dict):
        return [null_booleans_as_sent(t, s, schema["items"]) for t, s in zip(theirs, sent)] + theirs[len(sent):]
    return theirs
