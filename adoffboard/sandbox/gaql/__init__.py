"""A GAQL (Google Ads Query Language) subset for the Google Ads stand-in.

The stand-in must accept what the real API accepts and refuse what it refuses, with the same
error codes, so connectors meet real failures in tests rather than in production. So queries are
tokenized and parsed properly (no regex matching of whole queries), every field is checked
against a schema, and the schema itself is checked against the SDK's own `GoogleAdsRow`
descriptor at import time: a field the real proto does not have cannot be served by mistake.

What is supported: `SELECT f, ... FROM resource [WHERE c AND c ...] [ORDER BY f [ASC|DESC], ...]
[LIMIT n]`; conditions `= != > >= < <=`, `[NOT] IN (...)`, `[NOT] LIKE`, `IS [NOT] NULL`,
`BETWEEN a AND b`, `DURING <range>`. Like GAQL there is no `OR`. `metrics.*` and
`segments.*` fields are offered by resources declared with `metrics=True`; selecting a
segment splits rows, filtering on one only scopes the metrics.

Errors are raised as `GaqlError(code_field, enum_name, message)`, where `code_field` names the
`ErrorCode` oneof field (`query_error`, `request_error`, ...), ready to become a GoogleAdsError.

Layout: `parser` (tokenizer, parser, `GaqlError`); `evaluate` (schema, binding, evaluation, rows
on the wire).
"""

from adoffboard.sandbox.gaql.evaluate import (
    STATS,
    BoundQuery,
    FieldSpec,
    ResourceSpec,
    Schema,
    bind,
    fill_fields,
    fill_row,
    parse_date,
    parse_datetime,
    resource_name_specs,
    run,
)
from adoffboard.sandbox.gaql.parser import (
    KEYWORDS,
    Condition,
    GaqlError,
    Literal,
    Query,
    Token,
    parse,
    tokenize,
)

__all__ = [
    "STATS",
    "KEYWORDS",
    "BoundQuery",
    "Condition",
    "FieldSpec",
    "GaqlError",
    "Literal",
    "Query",
    "ResourceSpec",
    "Schema",
    "Token",
    "bind",
    "fill_fields",
    "fill_row",
    "parse",
    "parse_date",
    "parse_datetime",
    "resource_name_specs",
    "run",
    "tokenize",
]
