"""A GAQL (Google Ads Query Language) subset for the Google Ads stand-in.

The stand-in must accept what the real API accepts and refuse what it refuses, with the same
error codes, so connectors meet real failures in tests rather than in production. So queries are
tokenized and parsed properly (no regex matching of whole queries), every field is checked
against a schema, and the schema itself is checked against the SDK's own `GoogleAdsRow`
descriptor at import time: a field the real proto does not have cannot be served by mistake.

What is supported: `SELECT f, ... FROM resource [WHERE c AND c ...] [ORDER BY f [ASC|DESC], ...]
[LIMIT n]`; conditions `= != > >= < <=`, `[NOT] IN (...)`, `[NOT] LIKE`, `IS [NOT] NULL`,
`BETWEEN a AND b`, `DURING <range>`. Like GAQL there is no `OR`.

Errors are raised as `GaqlError(code_field, enum_name, message)`, where `code_field` names the
`ErrorCode` oneof field (`query_error`, `request_error`, ...), ready to become a GoogleAdsError.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

KEYWORDS = frozenset({
    "SELECT", "FROM", "WHERE", "AND", "OR", "ORDER", "BY", "ASC", "DESC", "LIMIT", "IN", "NOT",
    "LIKE", "IS", "NULL", "BETWEEN", "DURING", "CONTAINS", "PARAMETERS", "TRUE", "FALSE",
})


class GaqlError(Exception):
    """A query the real API would refuse; `code_field`/`enum_name` name the ErrorCode."""

    def __init__(self, code_field: str, enum_name: str, message: str) -> None:
        super().__init__(message)
        self.code_field = code_field
        self.enum_name = enum_name
        self.message = message


def _qerr(enum_name: str, message: str) -> GaqlError:
    return GaqlError("query_error", enum_name, message)


# --------------------------------------------------------------------------------------------
# Tokenizer


@dataclass(frozen=True)
class Token:
    kind: str  # IDENT, NUMBER, STRING, OP, COMMA, LPAREN, RPAREN, EOF
    text: str
    value: Any
    pos: int


_OPS = ("!=", ">=", "<=", "=", ">", "<")


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (query[j].isalnum() or query[j] in "_."):
                j += 1
            tokens.append(Token("IDENT", query[i:j], query[i:j], i))
            i = j
        elif ch.isdigit() or (ch == "-" and i + 1 < n and query[i + 1].isdigit()):
            j = i + 1
            while j < n and (query[j].isalnum() or query[j] == "."):
                j += 1
            text = query[i:j]
            if re.fullmatch(r"-?\d+", text):
                value: Any = int(text)
            elif re.fullmatch(r"-?\d+\.\d+", text):
                value = float(text)
            else:
                raise _qerr("BAD_NUMBER", f"Error in query: bad number {text!r} at position {i}.")
            tokens.append(Token("NUMBER", text, value, i))
            i = j
        elif ch in "'\"":
            j, out = i + 1, []
            while True:
                if j >= n:
                    raise _qerr("STRING_NOT_TERMINATED", f"String at position {i} not terminated.")
                c = query[j]
                if c == "\n":
                    raise _qerr("PROHIBITED_NEWLINE_IN_STRING", "Newline inside a string literal.")
                if c == "\\":
                    if j + 1 >= n or query[j + 1] not in "\\'\"":
                        raise _qerr("BAD_ESCAPE_SEQUENCE", f"Bad escape sequence at position {j}.")
                    out.append(query[j + 1])
                    j += 2
                    continue
                if c == ch:
                    break
                out.append(c)
                j += 1
            tokens.append(Token("STRING", query[i : j + 1], "".join(out), i))
            i = j + 1
        elif ch in ",()":
            kind = {",": "COMMA", "(": "LPAREN", ")": "RPAREN"}[ch]
            tokens.append(Token(kind, ch, ch, i))
            i += 1
        else:
            op = next((o for o in _OPS if query.startswith(o, i)), None)
            if op is None:
                raise _qerr("BAD_SYMBOL", f"Error in query: unexpected symbol {ch!r} at {i}.")
            tokens.append(Token("OP", op, op, i))
            i += len(op)
    tokens.append(Token("EOF", "", None, n))
    return tokens


# --------------------------------------------------------------------------------------------
# Parser


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, bool, ident
    value: Any


@dataclass
class Condition:
    field: str
    op: str  # = != > >= < <= IN NOT_IN LIKE NOT_LIKE IS_NULL IS_NOT_NULL BETWEEN DURING
    values: list[Literal] = dc_field(default_factory=list)
    typed: list[Any] = dc_field(default_factory=list)  # filled in by bind()


@dataclass
class Query:
    select: list[str]
    resource: str
    where: list[Condition]
    order_by: list[tuple[str, bool]]  # (field, descending)
    limit: int | None


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_kw(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "IDENT" and tok.text.upper() == word

    def expect_kw(self, word: str, error: str) -> None:
        if not self.is_kw(word):
            raise _qerr(error, f"Error in query: expected {word} at position {self.peek().pos}.")
        self.next()

    def field_name(self, clause: str) -> str:
        tok = self.next()
        if tok.kind == "EOF":
            raise _qerr("UNEXPECTED_END_OF_QUERY", f"Query ended inside the {clause} clause.")
        if tok.kind != "IDENT" or tok.text.upper() in KEYWORDS:
            raise _qerr("BAD_FIELD_NAME", f"Error in {clause}: unexpected {tok.text!r}.")
        return tok.text.lower()

    def parse(self) -> Query:
        self.expect_kw("SELECT", "EXPECTED_SELECT")
        select = [self.field_name("SELECT")]
        while self.peek().kind == "COMMA":
            self.next()
            select.append(self.field_name("SELECT"))
        self.expect_kw("FROM", "EXPECTED_FROM")
        tok = self.next()
        if tok.kind != "IDENT" or "." in tok.text or tok.text.upper() in KEYWORDS:
            raise _qerr("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"Invalid FROM resource {tok.text!r}.")
        resource = tok.text.lower()
        where: list[Condition] = []
        if self.is_kw("WHERE"):
            self.next()
            where.append(self.condition())
            while self.is_kw("AND") or self.is_kw("OR"):
                if self.is_kw("OR"):
                    raise _qerr("UNEXPECTED_INPUT", "GAQL has no OR operator; use IN (...).")
                self.next()
                where.append(self.condition())
        order_by: list[tuple[str, bool]] = []
        if self.is_kw("ORDER"):
            self.next()
            self.expect_kw("BY", "EXPECTED_BY")
            while True:
                name = self.field_name("ORDER BY")
                desc = False
                if self.is_kw("ASC") or self.is_kw("DESC"):
                    desc = self.next().text.upper() == "DESC"
                order_by.append((name, desc))
                if self.peek().kind != "COMMA":
                    break
                self.next()
        limit = None
        if self.is_kw("LIMIT"):
            self.next()
            tok = self.next()
            if tok.kind != "NUMBER" or not isinstance(tok.value, int):
                raise _qerr("BAD_LIMIT_VALUE", f"LIMIT must be a positive integer: {tok.text!r}.")
            if tok.value <= 0:
                raise _qerr("LIMIT_VALUE_TOO_LOW", "LIMIT must be at least 1.")
            limit = tok.value
        if self.is_kw("PARAMETERS"):
            raise _qerr("BAD_PARAMETER_NAME", "PARAMETERS are not supported by the stand-in.")
        tok = self.peek()
        if tok.kind != "EOF":
            raise _qerr("UNEXPECTED_INPUT", f"Unexpected input {tok.text!r} at position {tok.pos}.")
        return Query(select, resource, where, order_by, limit)

    def literal(self) -> Literal:
        tok = self.next()
        if tok.kind == "STRING":
            return Literal("string", tok.value)
        if tok.kind == "NUMBER":
            return Literal("number", tok.value)
        if tok.kind == "IDENT" and tok.text.upper() in ("TRUE", "FALSE"):
            return Literal("bool", tok.text.upper() == "TRUE")
        if tok.kind == "IDENT" and "." not in tok.text and tok.text.upper() not in KEYWORDS:
            return Literal("ident", tok.text)
        if tok.kind == "EOF":
            raise _qerr("UNEXPECTED_END_OF_QUERY", "Query ended where a value was expected.")
        raise _qerr("BAD_VALUE", f"Expected a value at position {tok.pos}, got {tok.text!r}.")

    def value_list(self) -> list[Literal]:
        if self.peek().kind != "LPAREN":
            raise _qerr("EXPECTED_LIST", f"Expected a list '(...)' at position {self.peek().pos}.")
        self.next()
        if self.peek().kind == "RPAREN":
            raise _qerr("PROHIBITED_EMPTY_LIST_IN_CONDITION", "Empty list in condition.")
        values = [self.literal()]
        while self.peek().kind == "COMMA":
            self.next()
            values.append(self.literal())
        if self.next().kind != "RPAREN":
            raise _qerr("UNEXPECTED_INPUT", "Expected ')' to close the list.")
        return values

    def condition(self) -> Condition:
        name = self.field_name("WHERE")
        tok = self.peek()
        if tok.kind == "OP":
            self.next()
            if self.peek().kind == "LPAREN":
                raise _qerr("EXPECTED_SINGLE_VALUE", f"Operator {tok.text} takes a single value.")
            return Condition(name, tok.text, [self.literal()])
        word = tok.text.upper() if tok.kind == "IDENT" else ""
        negate = False
        if word == "NOT":
            self.next()
            negate = True
            word = self.peek().text.upper() if self.peek().kind == "IDENT" else ""
        if word == "IN":
            self.next()
            return Condition(name, "NOT_IN" if negate else "IN", self.value_list())
        if word == "LIKE":
            self.next()
            return Condition(name, "NOT_LIKE" if negate else "LIKE", [self.literal()])
        if negate:
            raise _qerr("BAD_OPERATOR", "NOT must be followed by IN or LIKE.")
        if word == "IS":
            self.next()
            is_not = self.is_kw("NOT")
            if is_not:
                self.next()
            self.expect_kw("NULL", "BAD_OPERATOR")
            return Condition(name, "IS_NOT_NULL" if is_not else "IS_NULL")
        if word == "BETWEEN":
            self.next()
            low = self.literal()
            self.expect_kw("AND", "EXPECTED_AND")
            return Condition(name, "BETWEEN", [low, self.literal()])
        if word == "DURING":
            self.next()
            return Condition(name, "DURING", [self.literal()])
        if tok.kind == "EOF":
            raise _qerr("UNEXPECTED_END_OF_QUERY", "Query ended inside a condition.")
        raise _qerr("BAD_OPERATOR", f"Bad operator {tok.text!r} at position {tok.pos}.")


def parse(query: str) -> Query:
    """Parse a GAQL string, raising GaqlError (query_error) on bad syntax."""
    if not query.strip():
        raise GaqlError("request_error", "REQUIRED_FIELD_MISSING", "The query is empty.")
    return _Parser(tokenize(query)).parse()


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
    kind: str  # int, str, bool, double, enum, message, datetime
    get: Callable[[dict[str, Any]], Any]
    enum_values: dict[str, int] | None = None
    proto_path: tuple[str, ...] = ()  # attribute names on GoogleAdsRow (may differ: type_)

    @property
    def resource(self) -> str:
        return self.name.split(".", 1)[0]


@dataclass(frozen=True)
class ResourceSpec:
    """A FROM resource and the other resources whose fields it may select (attributed ones)."""

    name: str
    attributed: tuple[str, ...] = ()


class Schema:
    """The queryable resources and fields; each field's type is read from the SDK's
    GoogleAdsRow descriptor, so the stand-in cannot serve a field the real proto lacks."""

    def __init__(self, row_descriptor: Any) -> None:
        self._row = row_descriptor
        self.fields: dict[str, FieldSpec] = {}
        self.resources: dict[str, ResourceSpec] = {}

    def resource(self, name: str, *attributed: str) -> None:
        self.resources[name] = ResourceSpec(name, attributed)

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

_ORDERED_KINDS = frozenset({"int", "double", "str", "datetime"})


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


def _lookup(schema: Schema, res: ResourceSpec, name: str, clause: str) -> FieldSpec:
    spec = schema.fields.get(name)
    if spec is None:
        raise _qerr("UNRECOGNIZED_FIELD", f"Error in {clause}: unrecognized field '{name}'.")
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
    raise _qerr("BAD_VALUE", f"Invalid value {lit.value!r} for field {spec.name} ({kind}).")


# DURING ranges as (first day, day after the last) counted back from today; LAST_N_DAYS
# excludes today, as in the API.
_DURING_DAYS = {"TODAY": (0, -1), "YESTERDAY": (1, 0), "LAST_7_DAYS": (7, 0),
                "LAST_14_DAYS": (14, 0), "LAST_30_DAYS": (30, 0)}


def _during(name: str, today: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A DURING range as [start, end) in the account's local time."""
    back_start, back_end = _DURING_DAYS[name]
    midnight = dt.time()
    return (dt.datetime.combine(today - dt.timedelta(days=back_start), midnight),
            dt.datetime.combine(today - dt.timedelta(days=back_end), midnight))


def _bind_condition(spec: FieldSpec, cond: Condition, today: dt.date) -> None:
    op, kind = cond.op, spec.kind
    if kind == "message":
        raise _qerr("PROHIBITED_FIELD_IN_WHERE_CLAUSE", f"{spec.name} cannot be filtered on.")
    allowed = {
        "=": True, "!=": True, "IS_NULL": True, "IS_NOT_NULL": True,
        ">": kind in _ORDERED_KINDS, ">=": kind in _ORDERED_KINDS,
        "<": kind in _ORDERED_KINDS, "<=": kind in _ORDERED_KINDS,
        "IN": kind != "bool", "NOT_IN": kind != "bool",
        "LIKE": kind == "str", "NOT_LIKE": kind == "str",
        "BETWEEN": kind in ("int", "double", "datetime"), "DURING": kind == "datetime",
    }[op]
    if not allowed:
        raise _qerr("OPERATOR_FIELD_MISMATCH", f"Operator {op} cannot be used with {spec.name}.")
    if op == "DURING":
        lit = cond.values[0]
        if lit.kind != "ident" or lit.value not in _DURING_DAYS:
            raise _qerr("INVALID_VALUE_WITH_DURING_OPERATOR", f"Bad DURING range {lit.value!r}.")
        cond.typed = list(_during(lit.value, today))
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


def run(bound: BoundQuery, contexts: Iterable[dict[str, Any]], *, apply_limit: bool = True
        ) -> list[dict[str, Any]]:
    """Filter, order and (optionally) limit the row contexts of one account."""
    rows = [c for c in contexts if all(_matches(cond, s.get(c)) for s, cond in bound.where)]
    for spec, desc in reversed(bound.order_by):
        # None sorts first ascending, last descending, as a missing value would.
        rows.sort(key=_sort_key(spec), reverse=desc)
    if apply_limit and bound.limit is not None:
        rows = rows[: bound.limit]
    return rows


# --------------------------------------------------------------------------------------------
# Rows on the wire


def fill_row(row: Any, bound: BoundQuery, ctx: dict[str, Any],
             resource_names: Sequence[FieldSpec]) -> Any:
    """Set the selected fields of one GoogleAdsRow (raw protobuf, filled in place).

    Like the real API, the resource_name of each resource that has a selected field is set too.
    Unset values (None) stay unset, so `HasField` tells "no value" from a zero value.
    """
    for spec in (*resource_names, *bound.select):
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
