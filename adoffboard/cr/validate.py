"""Turn raw values (CLI options, a CRM export's row) into a change request's content, and check it.

One path for `cr new`, `cr edit` and `cr import`, so a row of an export is held to exactly the
rules a person typing the command is. Every problem is collected, by field, rather than stopping at
the first: an import reports every bad row and field at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adoffboard.cr.model import (
    CR_TYPES,
    SCOPES,
    Content,
    parse_bool,
    parse_campaign_budgets,
    parse_date,
    parse_departments,
    parse_escalation,
    parse_money,
    type_name,
)
from adoffboard.errors import FieldProblem

_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "departments": parse_departments,
    "effective_date": lambda f, v: parse_date(f, str(v)),
    "pause_end_date": lambda f, v: parse_date(f, str(v)),
    "credit_amount": parse_money,  # 0 is allowed: no credit
    "monthly_total": lambda f, v: parse_money(f, v, positive=True),
    "campaign_budgets": parse_campaign_budgets,
    "escalated": parse_bool,
    "escalated_to": parse_escalation,
}
_TEXT_FIELDS = ("client", "type", "scope", "addendum_ref", "notes", "crm_ref")
# The JSON types each field accepts (a CSV cell is always text), and how to say so; anything else
# is refused by name rather than turned into text ("[1, 2]" as a client's notes).
_ACCEPTED: dict[str, tuple[tuple[type, ...], str]] = {
    **{name: ((str,), "text") for name in _TEXT_FIELDS},
    "addendum_ref": ((str, int), "text"),
    "crm_ref": ((str, int), "text"),  # ids may be numbers
    "effective_date": ((str,), "a date as text (YYYY-MM-DD)"),
    "pause_end_date": ((str,), "a date as text (YYYY-MM-DD)"),
    "departments": ((str, list), "SEM and/or MA (text or a list of text)"),
    "campaign_budgets": ((str, list, dict), 'an object like {"Brand": "500.00"}'),
    "credit_amount": ((str, int, float), "an amount like 250.00"),
    "monthly_total": ((str, int, float), "an amount like 250.00"),
    "escalated": ((str, bool), "true or false"),
    "escalated_to": ((str,), "retention, team-lead or department-manager"),
}
KNOWN_FIELDS = (
    "client",
    "type",
    "departments",
    "scope",
    "effective_date",
    "pause_end_date",
    "credit_amount",
    "monthly_total",
    "campaign_budgets",
    "addendum_ref",
    "notes",
    "escalated_to",
    "escalated",  # before `escalated_to`: true means the Retention team
    "crm_ref",
)
# Empty means "not set" for these (a blank cell in an export, `--pause-end ""` to clear).
_CLEARABLE = {
    "pause_end_date": None,
    "credit_amount": None,
    "monthly_total": None,
    "campaign_budgets": (),
    "effective_date": None,
}


def parse_values(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Parse each given field; unknown fields and unparsable values become problems."""
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for name, value in raw.items():
        if name not in KNOWN_FIELDS:
            problems.append(FieldProblem(name, f"unknown field (known: {', '.join(KNOWN_FIELDS)})"))
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            if name in _CLEARABLE:
                values[name] = _CLEARABLE[name]
            elif name in ("notes", "addendum_ref", "crm_ref"):
                values[name] = ""
            elif name == "escalated":
                values[name] = None  # blank: no (unless escalated_to says whom)
            elif name == "escalated_to":
                values[name] = None  # blank: nobody (unless escalated says the Retention team)
            continue
        if problem := _wrong_type(name, value):
            problems.append(problem)
            continue
        if name in _TEXT_FIELDS:
            values[name] = str(value).strip()
            continue
        try:
            values[name] = _PARSERS[name](name, value)
        except FieldProblem as exc:
            problems.append(exc)
    _fold_escalated(values, problems)
    return values, problems


def _fold_escalated(values: dict[str, Any], problems: list[FieldProblem]) -> None:
    """The yes/no `escalated` of older exports and options means the Retention team (yes) or
    nobody (no); given with `escalated_to`, the two must agree. A blank one (None here) says
    nothing when the other is given."""
    flag = values.pop("escalated", None)
    given = values.get("escalated_to")
    if flag is None:
        if "escalated_to" in values and given is None:
            values["escalated_to"] = ""
        return
    said = "retention" if flag else ""
    if given is not None and given != said:
        problems.append(
            FieldProblem(
                "escalated",
                f"{'yes' if flag else 'no'} contradicts escalated_to "
                f"{given or 'empty'}: give escalated_to alone",
            )
        )
        return
    if given is None and not any(p.field == "escalated_to" for p in problems):
        values["escalated_to"] = said


def _wrong_type(name: str, value: Any) -> FieldProblem | None:
    accepted, wanted = _ACCEPTED[name]
    fits = isinstance(value, accepted) and not (isinstance(value, bool) and bool not in accepted)
    odd = [v for v in value if not isinstance(v, str)] if isinstance(value, list) else []
    if odd:
        return FieldProblem(name, f"expected {wanted}, got a list holding {type_name(odd[0])}")
    return None if fits else FieldProblem(name, f"expected {wanted}, got {type_name(value)}")


def build_content(values: Mapping[str, Any], base: Content | None = None) -> Content:
    """A new content from parsed values (over `base` for an edit). Call `check_content` next."""
    if base is None:
        base = Content(
            client=values.get("client", ""),
            type=values.get("type", ""),
            departments=values.get("departments", ()),
        )
    content = base.with_values(**{k: v for k, v in values.items() if k != "client"})
    if content.type == "save-attempt" and "escalated_to" not in values:
        # a save attempt is the Retention team's
        content = content.with_values(escalated_to="retention")
    return content


def check_content(
    content: Content, client_departments: list[str] | tuple[str, ...] | None
) -> list[FieldProblem]:
    """Every rule the seeds give for the fields of a change request (`client_departments` is
    None when the client itself is unknown: that is the problem to report, not its departments)."""
    p: list[FieldProblem] = []
    kind = content.type
    if kind not in CR_TYPES:
        p.append(
            FieldProblem(
                "type",
                f"{kind!r} is not a change request type: {', '.join(CR_TYPES)}"
                if kind
                else f"required: one of {', '.join(CR_TYPES)}",
            )
        )
    if not content.departments:
        p.append(FieldProblem("departments", "required: SEM and/or MA"))
    missing = [
        d
        for d in content.departments
        if client_departments is not None and d not in client_departments
    ]
    if missing:
        p.append(
            FieldProblem(
                "departments",
                f"{', '.join(missing)} is not a department of "
                f"{content.client} (its manifest lists "
                f"{', '.join(client_departments or ())})",
            )
        )
    if content.scope not in SCOPES:
        p.append(
            FieldProblem(
                "scope",
                f"{content.scope!r} must be dm (digital marketing "
                "services only) or platform (leaving the platform)",
            )
        )
    elif content.scope == "platform" and kind not in ("cancellation", "save-attempt"):
        p.append(
            FieldProblem(
                "scope",
                "only a cancellation leaves the platform (scope "
                "platform); a pause or addendum keeps the client",
            )
        )
    if kind in ("cancellation", "pause", "addendum") and content.effective_date is None:
        p.append(FieldProblem("effective_date", f"required for a {CR_TYPES[kind]}"))
    if content.pause_end_date is not None:
        if kind != "pause":
            p.append(FieldProblem("pause_end_date", "only a contract pause has an end date"))
        elif content.effective_date and content.pause_end_date <= content.effective_date:
            p.append(
                FieldProblem(
                    "pause_end_date",
                    f"{content.pause_end_date} must be after the effective date "
                    f"{content.effective_date}",
                )
            )
    budget = content.monthly_total is not None or bool(content.campaign_budgets)
    if kind == "addendum":
        if not content.addendum_ref:
            p.append(
                FieldProblem(
                    "addendum_ref",
                    "required for an addendum: the reference of "
                    "the signed addendum (e.g. its DocuSign id)",
                )
            )
        if not budget:
            p.append(
                FieldProblem(
                    "monthly_total",
                    "an addendum needs the budget change: a new "
                    "monthly total and/or per-campaign amounts",
                )
            )
        if content.escalated or content.save_attempt is not None:
            p.append(
                FieldProblem(
                    "escalated_to",
                    "addendums carry no save attempt: they are not escalated to the Retention team",
                )
            )
    elif kind in CR_TYPES:
        if budget:
            p.append(
                FieldProblem(
                    "monthly_total" if content.monthly_total is not None else "campaign_budgets",
                    "only an addendum changes the budget",
                )
            )
        if content.addendum_ref:
            p.append(FieldProblem("addendum_ref", "only an addendum has a signed addendum"))
    if kind == "save-attempt" and not content.escalated:
        p.append(FieldProblem("escalated_to", "a save attempt is escalated to the Retention team"))
    if content.save_attempt is not None and not content.escalated:
        p.append(
            FieldProblem(
                "escalated_to",
                "a save attempt was recorded: the request stays escalated to the Retention team",
            )
        )
    return p
