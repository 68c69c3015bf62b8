"""Custom attributes as typed properties: declared from GET /data_attributes at discovery (sampling.py reads
them), converted when synced.

Intercom keeps custom attributes in one free-form `custom_attributes` object. Its data attributes say each
one's type, so discovery declares them inside that object (a target that flattens objects makes one typed
column each) and keeps `additionalProperties` for attributes created after discovery, which pass as they
are. Names are kept exactly as Intercom has them (spaces, dots, `$`, leading digits).
"""
import logging

from tap_intercom.records.timestamps import _MS_ABOVE, datetime_text, epoch_to_rfc3339

LOGGER = logging.getLogger("tap_intercom")

FIELD = "custom_attributes"
MODELS = {"contact": "contact", "company": "company", "conversation": "conversation"}  # schema file -> model
TYPES = {  # Intercom's data_type -> JSON schema ("datetime" is in Intercom's preview API)
    "string": {"type": ["null", "string"]},
    "integer": {"type": ["null", "integer"]},
    "float": {"type": ["null", "number"]},
    "boolean": {"type": ["null", "boolean"]},
    "date": {"type": ["null", "string"], "format": "date-time"},
    "datetime": {"type": ["null", "string"], "format": "date-time"},
}


def declared(attributes):
    """{attribute name: JSON schema} of the custom ones among GET /data_attributes' items."""
    declared, clashing = {}, set()
    for attribute in attributes or []:
        if not isinstance(attribute, dict) or not attribute.get("custom"):
            continue
        full_name = attribute.get("full_name")
        name = full_name[len(FIELD) + 1:] if isinstance(full_name, str) and full_name.startswith(FIELD + ".") \
            else attribute.get("name")
        schema = TYPES.get(attribute.get("data_type"))
        if not isinstance(name, str) or schema is None:
            continue  # an unknown type stays untyped (additionalProperties)
        if declared.get(name, schema) != schema:
            clashing.add(name)  # the same name with two types (one archived): left untyped
        declared[name] = schema
    return {name: dict(schema) for name, schema in sorted(declared.items()) if name not in clashing}


def typed(schema_name, schema, types):
    """`schema` with its custom_attributes typed, when discovery read the model's attributes."""
    model = MODELS.get(schema_name)
    if model not in types or FIELD not in schema.get("properties", {}):
        return schema
    field = {"type": ["null", "object"], "properties": types[model], "additionalProperties": True}
    return {**schema, "properties": {**schema["properties"], FIELD: field}}


def is_typed(schema):
    return bool(schema.get("properties")) and schema.get("additionalProperties") not in (None, False)


# ---- values ----------------------------------------------------------------------------------------------

class Misfit(Exception):
    pass


def _string(value):
    if isinstance(value, (dict, list)):
        raise Misfit
    return value if type(value) is str else str(value).lower() if type(value) is bool else str(value)


def _integer(value):
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str and value.strip().lstrip("-").isdigit():
        return int(value)
    raise Misfit


def _number(value):
    if type(value) in (int, float):
        return float(value)
    if type(value) is str:
        try:
            return float(value)
        except ValueError:
            pass
    raise Misfit


def _boolean(value):
    if type(value) is bool:
        return value
    if type(value) is str and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise Misfit


def _date(value):
    # Intercom sends custom dates as epoch seconds; they arrive as RFC 3339 like the standard timestamps
    # (epoch milliseconds, numeric strings and ISO 8601 text too: transform.datetime_text).
    if type(value) is int and 0 <= value < _MS_ABOVE:  # epoch seconds, the usual form
        return epoch_to_rfc3339(value)
    text = datetime_text(value) if type(value) is not bool else None
    if text is None:
        raise Misfit
    return text


_CONVERT = {"string": _string, "integer": _integer, "number": _number, "boolean": _boolean}
_PASSES = {"string": str, "integer": int, "number": float, "boolean": bool}  # already of the type: unchanged


def converter(schema, on_misfit):
    """A function turning a record's custom_attributes into the declared types. Undeclared attributes pass as
    they are; a value that fits no declared type becomes null and `on_misfit(name, value)` is told.

    It walks the attributes the record has (a workspace may declare hundreds), and copies the object only when a
    value changes: most values are already of their declared type."""
    plan = {}
    for name, sub in schema["properties"].items():
        kinds = [kind for kind in sub.get("type", []) if kind != "null"]
        kind = kinds[0] if kinds else None
        if sub.get("format") == "date-time":
            plan[name] = (None, _date)
        elif kind in _CONVERT:
            plan[name] = (_PASSES[kind], _CONVERT[kind])
    rule_of = plan.get

    def convert(value):
        if type(value) is not dict:
            if value is None:
                return None
            on_misfit(None, value)
            return None
        out = value
        for name, item in value.items():
            rule = rule_of(name)
            if rule is None or item is None or type(item) is rule[0]:
                continue
            if out is value:
                out = dict(value)
            try:
                out[name] = rule[1](item)
            except Misfit:
                on_misfit(name, item)
                out[name] = None
        return out
    convert.passes_null = True  # None stays None (transform.py skips the call)
    return convert
