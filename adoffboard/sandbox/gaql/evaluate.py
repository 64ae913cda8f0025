"""GAQL meaning: the schema (checked against the SDK's descriptor), binding, evaluation and
filling rows for the wire.

Part of `adoffboard.sandbox.gaql` (see there for what is supported and why).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from adoffboard.sandbox.gaql.parser import Condition, Literal, Query, _qerr

# --------------------------------------------------------------------------------------------
# Schema: what each resource offers, checked against the SDK's GoogleAdsRow descriptor

_KINDS = {
    FieldDescriptor.TYPE_INT64: "int",
    FieldDescriptor.TYPE_INT32: "int",
    FieldDescriptor.TYPE_STRING: "str",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_DOUBLE: "double",
    FieldDescriptor.TYPE_ENUM: "enum",
    FieldDescriptor.TYPE_MESSAGE: "message",
}


@dataclass(frozen=True)
class FieldSpec:
    """One selectable field: its GAQL name, value kind and how to read it from a row context."""

    name: str
    kind: str  # int, str, bool, double, enum, message, datetime, date
    get: Callable[[dict[str, Any]], Any]
    enum_values: dict[str, int] | None = None
    proto_path: tuple[str, ...] = ()  # attribute names on GoogleAdsRow (may differ: type_)

    @property
    def resource(self) -> str:
        return self.name.split(".", 1)[0]


@dataclass(frozen=True)
class ResourceSpec:
    """A FROM resource, the other resources whose fields it may select (attributed ones) and
    whether it reports `metrics.*` and `segments.*`."""

    name: str
    attributed: tuple[str, ...] = ()
    metrics: bool = False


# Pseudo-resources: statistics and the segments that split them.
STATS = ("metrics", "segments")


class Schema:
    """The queryable resources and fields; each field's type is read from the SDK's
    GoogleAdsRow descriptor, so the stand-in cannot serve a field the real proto lacks."""

    def __init__(self, row_descriptor: Any) -> None:
        self._row = row_descriptor
        self.fields: dict[str, FieldSpec] = {}
        self.resources: dict[str, ResourceSpec] = {}

    def resource(self, name: str, *attributed: str, metrics: bool = False) -> None:
        self.resources[name] = ResourceSpec(name, attributed, metrics)

    def add(self, name: str, get: Callable[[dict[str, Any]], Any], kind: str | None = None) -> None:
        """Declare a field; its proto type comes from the SDK descriptor (a typo fails here)."""
        desc, path = self._descriptor(name)
        proto_kind = _KINDS[desc.type]
        enum_values = None
        if proto_kind == "enum":
            enum_values = {v.name: v.number for v in desc.enum_type.values}
        self.fields[name] = FieldSpec(name, kind or proto_kind, get, enum_values, path)

    def _descriptor(self, name: str) -> tuple[FieldDescriptor, tuple[str, ...]]:
        """The field's descriptor and its attribute path; proto-plus renames fields that clash
        with Python names (campaign_budget.type is `type_` in the SDK's descriptors)."""
        msg, path = self._row, []
        for i, part in enumerate(name.split(".")):
            fields = msg.fields_by_name
            part = part if part in fields else part + "_"
            if i < len(name.split(".")) - 1:
                msg = fields[part].message_type
            path.append(part)
        return fields[path[-1]], tuple(path)


# --------------------------------------------------------------------------------------------
# Binding (type-checking) and evaluation

_ORDERED_KINDS = frozenset({"int", "double", "str", "datetime", "date"})


@dataclass
class BoundQuery:
    query: Query
    resource: ResourceSpec
    select: list[FieldSpec]
    where: list[tuple[FieldSpec, Condition]]
    order_by: list[tuple[FieldSpec, bool]]

    @property
    def limit(self) -> int | None:
        return self.query.limit

    @property
    def segmented(self) -> bool:
        """A `segments.*` field in SELECT splits each row (filtering on one does not)."""
        return any(s.resource == "segments" for s in self.select)


def _lookup(schema: Schema, res: ResourceSpec, name: str, clause: str) -> FieldSpec:
    spec = schema.fields.get(name)
    if spec is None:
        raise _qerr("UNRECOGNIZED_FIELD", f"Error in {clause}: unrecognized field '{name}'.")
    if spec.resource in STATS:
        if not res.metrics:
            kind = "METRIC" if spec.resource == "metrics" else "SEGMENT"
            raise _qerr(
                f"PROHIBITED_{kind}_IN_SELECT_OR_WHERE_CLAUSE",
                f"Error in {clause}: '{name}' cannot be used with FROM {res.name}.",
            )
        return spec
    if spec.resource != res.name and spec.resource not in res.attributed:
        enum_name = "PROHIBITED_RESOURCE_TYPE_IN_" + (
            "SELECT_CLAUSE" if clause == "SELECT" else "WHERE_CLAUSE"
        )
        raise _qerr(enum_name, f"Error in {clause}: '{name}' cannot be used with FROM {res.name}.")
    return spec


def parse_datetime(text: str) -> dt.datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_date(text: str) -> dt.date | None:
    """A date as GAQL takes it: ISO 8601 extended (2026-01-31) or basic (20260131)
    (https://developers.google.com/google-ads/api/docs/query/date-ranges)."""
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _typed(spec: FieldSpec, lit: Literal) -> Any:
    kind = spec.kind
    if kind == "int" and lit.kind == "number" and isinstance(lit.value, int):
        return lit.value
    if kind == "double" and lit.kind == "number":
        return float(lit.value)
    if kind == "str" and lit.kind == "string":
        return lit.value
    if kind == "bool" and lit.kind == "bool":
        return lit.value
    if kind == "enum" and lit.kind in ("ident", "string"):
        assert spec.enum_values is not None
        if lit.value not in spec.enum_values:
            raise _qerr("BAD_ENUM_CONSTANT", f"Invalid enum value {lit.value!r} for {spec.name}.")
        return lit.value
    if kind == "datetime" and lit.kind == "string":
        parsed = parse_datetime(lit.value)
        if parsed is None:
            raise _qerr("INVALID_DATE_FORMAT", f"Invalid date {lit.value!r} for {spec.name}.")
        return parsed
    if kind == "date" and lit.kind == "string":
        day = parse_date(lit.value)
        if day is None:
            raise _qerr("INVALID_DATE_FORMAT", f"Invalid date {lit.value!r} for {spec.name}.")
        return day
    raise _qerr("BAD_VALUE", f"Invalid value {lit.value!r} for field {spec.name} ({kind}).")


def _during_days(name: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """A predefined date range as (first day, last day), both inclusive, or None when `name`
    is none of them (https://developers.google.com/google-ads/api/docs/query/date-ranges):
    LAST_N_DAYS exclude today; weeks start on Sunday or Monday as their names say."""
    day = dt.timedelta(days=1)
    monday = today - today.weekday() * day
    sunday = today - ((today.weekday() + 1) % 7) * day
    first_of_month = today.replace(day=1)
    next_month = (first_of_month + 32 * day).replace(day=1)
    last_month = (first_of_month - day).replace(day=1)
    ranges = {
        "TODAY": (today, today),
        "YESTERDAY": (today - day, today - day),
        "LAST_7_DAYS": (today - 7 * day, today - day),
        "LAST_14_DAYS": (today - 14 * day, today - day),
        "LAST_30_DAYS": (today - 30 * day, today - day),
        "LAST_BUSINESS_WEEK": (monday - 7 * day, monday - 3 * day),
        "THIS_MONTH": (first_of_month, next_month - day),
        "LAST_MONTH": (last_month, first_of_month - day),
        "THIS_WEEK_SUN_TODAY": (sunday, today),
        "THIS_WEEK_MON_TODAY": (monday, today),
        "LAST_WEEK_SUN_SAT": (sunday - 7 * day, sunday - day),
        "LAST_WEEK_MON_SUN": (monday - 7 * day, monday - day),
    }
    return ranges.get(name)


def _during(kind: str, name: str, today: dt.date) -> list[Any] | None:
    """A DURING range as [start, end) in the account's local time: datetimes for a datetime
    field, dates for a date field."""
    days = _during_days(name, today)
    if days is None:
        return None
    start, end = days[0], days[1] + dt.timedelta(days=1)
    if kind == "date":
        return [start, end]
    return [dt.datetime.combine(start, dt.time()), dt.datetime.combine(end, dt.time())]


def _bind_condition(spec: FieldSpec, cond: Condition, today: dt.date) -> None:
    op, kind = cond.op, spec.kind
    if kind == "message":
        raise _qerr("PROHIBITED_FIELD_IN_WHERE_CLAUSE", f"{spec.name} cannot be filtered on.")
    allowed = {
        "=": True,
        "!=": True,
        "IS_NULL": True,
        "IS_NOT_NULL": True,
        ">": kind in _ORDERED_KINDS,
        ">=": kind in _ORDERED_KINDS,
        "<": kind in _ORDERED_KINDS,
        "<=": kind in _ORDERED_KINDS,
        "IN": kind != "bool",
        "NOT_IN": kind != "bool",
        "LIKE": kind == "str",
        "NOT_LIKE": kind == "str",
        "BETWEEN": kind in ("int", "double", "datetime", "date"),
        "DURING": kind in ("datetime", "date"),
    }[op]
    if not allowed:
        raise _qerr("OPERATOR_FIELD_MISMATCH", f"Operator {op} cannot be used with {spec.name}.")
    if op == "DURING":
        lit = cond.values[0]
        typed = _during(kind, str(lit.value), today) if lit.kind == "ident" else None
        if typed is None:
            raise _qerr("INVALID_VALUE_WITH_DURING_OPERATOR", f"Bad DURING range {lit.value!r}.")
        cond.typed = typed
        return
    cond.typed = [_typed(spec, lit) for lit in cond.values]
    if op in ("LIKE", "NOT_LIKE"):
        cond.typed = [_like_regex(cond.typed[0])]


def _like_regex(pattern: str) -> re.Pattern[str]:
    """GAQL LIKE: % any run, _ one character, [x] a literal x."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[" and i + 2 < len(pattern) and pattern[i + 2] == "]":
            out.append(re.escape(pattern[i + 1]))
            i += 3
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _check_date_range(select: list[FieldSpec], where: list[tuple[FieldSpec, Condition]]) -> None:
    """A date segment in SELECT needs a finite range on it in WHERE
    (https://developers.google.com/google-ads/api/docs/query/segmentation, core date
    segments)."""
    for spec in select:
        if spec.kind != "date" or spec.resource != "segments":
            continue
        ops = {cond.op for s, cond in where if s is spec}
        if ops & {"=", "IN", "BETWEEN", "DURING"}:
            continue
        if ops & {">", ">="} and ops & {"<", "<="}:
            continue
        raise _qerr(
            "EXPECTED_FILTERS_ON_DATE_RANGE",
            f"A finite date range on {spec.name} is required in WHERE when it is selected.",
        )


def bind(query: Query, schema: Schema, today: dt.date) -> BoundQuery:
    """Resolve every field of `query` against `schema` and type every literal."""
    res = schema.resources.get(query.resource)
    if res is None:
        raise _qerr(
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
            f"Resource '{query.resource}' in FROM is unknown or not modelled by the stand-in.",
        )
    select = []
    for name in query.select:
        spec = _lookup(schema, res, name, "SELECT")
        if spec not in select:
            select.append(spec)
    where = []
    for cond in query.where:
        spec = _lookup(schema, res, cond.field, "WHERE")
        _bind_condition(spec, cond, today)
        where.append((spec, cond))
    _check_date_range(select, where)
    order = []
    for name, desc in query.order_by:
        spec = _lookup(schema, res, name, "ORDER BY")
        if spec.kind == "message":
            raise _qerr("PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE", f"Cannot order by {name}.")
        order.append((spec, desc))
    return BoundQuery(query, res, select, where, order)


def _matches(cond: Condition, value: Any) -> bool:
    op, vals = cond.op, cond.typed
    if op == "IS_NULL":
        return value is None
    if op == "IS_NOT_NULL":
        return value is not None
    if value is None:
        return False
    if op == "=":
        return bool(value == vals[0])
    if op == "!=":
        return bool(value != vals[0])
    if op == ">":
        return bool(value > vals[0])
    if op == ">=":
        return bool(value >= vals[0])
    if op == "<":
        return bool(value < vals[0])
    if op == "<=":
        return bool(value <= vals[0])
    if op == "IN":
        return value in vals
    if op == "NOT_IN":
        return value not in vals
    if op == "LIKE":
        return vals[0].fullmatch(value) is not None
    if op == "NOT_LIKE":
        return vals[0].fullmatch(value) is None
    if op == "BETWEEN":
        return bool(vals[0] <= value <= vals[1])
    if op == "DURING":
        return bool(vals[0] <= value < vals[1])
    raise AssertionError(op)


def _sort_key(spec: FieldSpec) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    def key(ctx: dict[str, Any]) -> tuple[bool, Any]:
        value = spec.get(ctx)
        return value is not None, value

    return key


def run(
    bound: BoundQuery, contexts: Iterable[dict[str, Any]], *, apply_limit: bool = True
) -> list[dict[str, Any]]:
    """Filter, order and (optionally) limit the row contexts of one account.

    A condition on a segment the query does not select scopes the metrics (the date range of
    a report), not the rows; a selected segment's conditions pick the segment rows."""
    where = [(s, cond) for s, cond in bound.where if s.resource != "segments" or s in bound.select]
    rows = [c for c in contexts if all(_matches(cond, s.get(c)) for s, cond in where)]
    for spec, desc in reversed(bound.order_by):
        # None sorts first ascending, last descending, as a missing value would.
        rows.sort(key=_sort_key(spec), reverse=desc)
    if apply_limit and bound.limit is not None:
        rows = rows[: bound.limit]
    return rows


# --------------------------------------------------------------------------------------------
# Rows on the wire


def fill_row(
    row: Any, bound: BoundQuery, ctx: dict[str, Any], resource_names: Sequence[FieldSpec]
) -> Any:
    """Set the selected fields of one GoogleAdsRow (raw protobuf, filled in place).

    Like the real API, the resource_name of each resource that has a selected field is set too.
    Unset values (None) stay unset, so `HasField` tells "no value" from a zero value.
    """
    return fill_fields(row, (*resource_names, *bound.select), ctx)


def fill_fields(row: Any, specs: Iterable[FieldSpec], ctx: dict[str, Any]) -> Any:
    """Set `specs` of one GoogleAdsRow from a row context (unset when the value is None)."""
    for spec in specs:
        value = spec.get(ctx)
        if value is None:
            continue
        msg, parts = row, spec.proto_path
        for part in parts[:-1]:
            msg = getattr(msg, part)
        if spec.kind == "enum":
            assert spec.enum_values is not None
            setattr(msg, parts[-1], spec.enum_values[value])
        elif spec.kind == "message":
            getattr(msg, parts[-1]).CopyFrom(value)
        elif spec.kind == "datetime":
            setattr(msg, parts[-1], value.strftime("%Y-%m-%d %H:%M:%S.%f"))
        elif spec.kind == "date":
            setattr(msg, parts[-1], value.isoformat())
        else:
            setattr(msg, parts[-1], value)
    return row


def resource_name_specs(bound: BoundQuery, schema: Schema) -> list[FieldSpec]:
    """The `<resource>.resource_name` fields the real API returns without being asked."""
    wanted = [bound.resource.name] + [s.resource for s in bound.select]
    out: list[FieldSpec] = []
    for res in dict.fromkeys(wanted):
        spec = schema.fields.get(f"{res}.resource_name")
        if spec is not None and spec not in bound.select:
            out.append(spec)
    return out
