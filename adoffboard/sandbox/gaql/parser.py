"""GAQL syntax: the tokenizer, the parser and the error every GAQL check raises.

Part of `adoffboard.sandbox.gaql` (see there for what is supported and why).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

KEYWORDS = frozenset(
    {
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "LIMIT",
        "IN",
        "NOT",
        "LIKE",
        "IS",
        "NULL",
        "BETWEEN",
        "DURING",
        "CONTAINS",
        "PARAMETERS",
        "TRUE",
        "FALSE",
    }
)


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
