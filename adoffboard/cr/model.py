"""Change requests as values: what was asked (the content, which the hash covers) and where the
request stands (status, approvals).

The content is everything approvers approve: client, type, departments, scope, dates, credit,
budget change, notes, escalation and the save attempt. Its hash is recorded with every transition,
so an approval is bound to exactly what was approved and the gate can tell when it changed since.
Parsing from text (CLI options, CRM exports) lives here too, so that every entry point applies
the same rules and reports problems by field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from adoffboard.errors import FieldProblem as FieldProblem  # raised here; importers catch it

CR_TYPES: dict[str, str] = {
    "save-attempt": "save attempt (retention)",
    "cancellation": "cancellation",
    "pause": "contract pause",
    "addendum": "addendum (budget change)",
}
# The types a runbook can carry out; a save attempt alone changes nothing on any platform.
EXECUTABLE_TYPES = ("cancellation", "pause", "addendum")
# The Digital Marketing Operations Lead's planner tracks these.
PLANNED_TYPES = ("cancellation", "pause")
STATUSES = ("draft", "submitted", "approved", "rejected")
DEPARTMENTS = ("SEM", "MA")
SCOPES: dict[str, str] = {
    "dm": "digital marketing services only",
    "platform": "leaving the platform entirely",
}
SAVE_OUTCOMES: dict[str, str] = {"saved": "saved", "not-saved": "not saved"}
# Whom the Account Manager escalates a request to (the checklists' "Retention"): the Retention
# team (which records the save attempt and submits), a Team Lead, or their Department Manager.
ESCALATION_TARGETS: dict[str, str] = {
    "retention": "the Retention team",
    "team_lead": "a Team Lead",
    "department_manager": "their Department Manager",
}
# As typed on the command line and in CRM exports.
ESCALATION_NAMES = {key: key.replace("_", "-") for key in ESCALATION_TARGETS}

# Fields people may set (CLI options, import columns); `content_fields` order is display order.
EDITABLE_FIELDS = (
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
)


@dataclass(frozen=True)
class SaveAttempt:
    """The Retention team's record of the retention call."""

    outcome: str  # saved | not-saved
    notes: str
    by: str

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "notes": self.notes, "by": self.by}


@dataclass(frozen=True)
class Content:
    """What a change request asks for: the part its hash covers and approvers approve."""

    client: str
    type: str
    departments: tuple[str, ...]
    scope: str = "dm"
    effective_date: dt.date | None = None
    pause_end_date: dt.date | None = None
    credit_amount: Decimal | None = None
    monthly_total: Decimal | None = None
    campaign_budgets: tuple[tuple[str, Decimal], ...] = ()
    addendum_ref: str = ""
    notes: str = ""
    escalated_to: str = ""  # "" (not escalated) or a key of ESCALATION_TARGETS
    save_attempt: SaveAttempt | None = None
    crm_ref: str = ""

    @property
    def escalated(self) -> bool:
        """Escalated to the Retention team: it records the save attempt and submits."""
        return self.escalated_to == "retention"

    @property
    def issues_credit(self) -> bool:
        return self.credit_amount is not None and self.credit_amount > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "type": self.type,
            "departments": list(self.departments),
            "scope": self.scope,
            "effective_date": _iso(self.effective_date),
            "pause_end_date": _iso(self.pause_end_date),
            "credit_amount": _money(self.credit_amount),
            "monthly_total": _money(self.monthly_total),
            "campaign_budgets": {name: _money(v) for name, v in self.campaign_budgets},
            "addendum_ref": self.addendum_ref,
            "notes": self.notes,
            "escalated": self.escalated,
            "escalated_to": self.escalated_to,
            "save_attempt": self.save_attempt.to_dict() if self.save_attempt else None,
            "crm_ref": self.crm_ref,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Content:
        sa = data.get("save_attempt")
        return cls(
            client=data["client"],
            type=data["type"],
            departments=tuple(data["departments"]),
            scope=data.get("scope", "dm"),
            effective_date=_date_or_none(data.get("effective_date")),
            pause_end_date=_date_or_none(data.get("pause_end_date")),
            credit_amount=_decimal_or_none(data.get("credit_amount")),
            monthly_total=_decimal_or_none(data.get("monthly_total")),
            campaign_budgets=tuple(
                (k, Decimal(v)) for k, v in (data.get("campaign_budgets") or {}).items()
            ),
            addendum_ref=data.get("addendum_ref", ""),
            notes=data.get("notes", ""),
            # stored before the field existed: `escalated` meant the Retention team
            escalated_to=data.get("escalated_to") or ("retention" if data.get("escalated") else ""),
            save_attempt=SaveAttempt(**sa) if sa else None,
            crm_ref=data.get("crm_ref", ""),
        )

    @property
    def content_hash(self) -> str:
        """Covers every field. Not escalated, or escalated to the Retention team, is said by
        `escalated` alone, as it was before `escalated_to` existed: the requests approved then
        keep their hash (and their approvals), and each value still hashes differently."""
        body = self.to_dict()
        if self.escalated_to in ("", "retention"):
            del body["escalated_to"]
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def with_values(self, **values: Any) -> Content:
        return replace(self, **values)


@dataclass(frozen=True)
class Approval:
    """One step of the chain, done: `role` is the step, `by` the person, `action` "approved" (or
    "processed" for the processing step)."""

    role: str
    by: str
    at: str
    content_hash: str
    action: str = "approved"


@dataclass(frozen=True)
class Transition:
    """One entry of a request's history: who did what, when, on which content."""

    seq: int
    cr_id: str
    action: str
    by: str
    role: str
    at: str
    status: str
    content_hash: str
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "action": self.action,
            "by": self.by,
            "role": self.role,
            "at": self.at,
            "status": self.status,
            "content_hash": self.content_hash,
            "detail": self.detail,
            "data": self.data,
        }


@dataclass(frozen=True)
class ChangeRequest:
    """A change request as stored: its content, status and the approvals that still stand."""

    id: str
    content: Content
    status: str
    created_by: str
    created_at: str
    submitted_by: str = ""
    version: int = 0
    approvals: tuple[Approval, ...] = ()
    rejected_by: str = ""

    @property
    def client(self) -> str:
        return self.content.client

    @property
    def type(self) -> str:
        return self.content.type

    @property
    def content_hash(self) -> str:
        return self.content.content_hash

    def label(self) -> str:
        return f"{self.type} {self.id} for {self.client}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.content.to_dict(),
            "status": self.status,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "submitted_by": self.submitted_by,
            "rejected_by": self.rejected_by,
            "content_hash": self.content_hash,
            "approvals": [
                {
                    "role": a.role,
                    "by": a.by,
                    "at": a.at,
                    "action": a.action,
                    "content_hash": a.content_hash,
                }
                for a in self.approvals
            ],
        }


# --- parsing text into fields ----------------------------------------------------------------


# Dates a change request may carry: anything else is a typo (a year 0202, 9999 as "never").
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)
# Amounts (a credit, budgets) in the account's currency: cents at most, and an upper bound that
# no dealer's monthly budget or credit reaches, so that a slipped key (1e26) is refused.
MAX_AMOUNT = Decimal("10000000")


def parse_date(field_name: str, text: str) -> dt.date:
    try:
        value = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise FieldProblem(
            field_name, f"{text!r} is not a date: use YYYY-MM-DD, e.g. 2026-12-01"
        ) from None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise FieldProblem(
            field_name,
            f"{text!r} is out of range: dates are between {EARLIEST_DATE} and {LATEST_DATE}",
        )
    return value


def parse_money(
    field_name: str, text: str | int | float | Decimal, *, positive: bool = False
) -> Decimal:
    """An amount: finite, not negative (above zero when `positive`), at most `MAX_AMOUNT`, and
    at most 2 decimal places. A "$" and thousands separators are accepted."""
    if isinstance(text, bool) or not isinstance(text, str | int | float | Decimal):
        raise FieldProblem(field_name, f"expected an amount like 250.00, got {type_name(text)}")
    raw = str(text).strip().replace(",", "").removeprefix("$")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FieldProblem(field_name, f"{text!r} is not an amount: use e.g. 250.00") from None
    if not value.is_finite():
        raise FieldProblem(field_name, f"{text!r} is not an amount: use e.g. 250.00")
    if value < 0 or (positive and value == 0):
        raise FieldProblem(
            field_name,
            f"{text!r} is {'negative' if value < 0 else 'zero'}: "
            f"{'a positive' if positive else 'an'} amount is expected",
        )
    if value > MAX_AMOUNT:
        raise FieldProblem(field_name, f"{text!r} is too large: at most {MAX_AMOUNT:,}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise FieldProblem(field_name, f"{text!r} has more than 2 decimal places")
    return value.quantize(Decimal("0.01"))


def type_name(value: object) -> str:
    """How a JSON value's type is named in messages ("a number", "a list", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float | Decimal):
        return f"a number ({value})"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def parse_bool(field_name: str, text: str | bool) -> bool:
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("true", "yes", "y", "1"):
        return True
    if value in ("false", "no", "n", "0", ""):
        return False
    raise FieldProblem(field_name, f"{text!r} is not yes/no (true, false, yes, no, 1, 0)")


def parse_escalation(field_name: str, value: str) -> str:
    """`retention`, `team-lead` or `department-manager` (underscores, spaces and case are
    forgiven); empty means not escalated."""
    key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if key in ("", *ESCALATION_TARGETS):
        return key
    raise FieldProblem(
        field_name,
        f"{value!r} is not an escalation target: {', '.join(ESCALATION_NAMES.values())}",
    )


def parse_departments(field_name: str, value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = (
        value
        if isinstance(value, list | tuple)
        else str(value).replace(";", ",").replace("|", ",").replace(" ", ",").split(",")
    )
    found = tuple(dict.fromkeys(str(d).strip().upper() for d in items if str(d).strip()))
    unknown = [d for d in found if d not in DEPARTMENTS]
    if unknown:
        raise FieldProblem(field_name, f"unknown department(s) {', '.join(unknown)}: SEM and/or MA")
    return found


def parse_campaign_budgets(field_name: str, value: Any) -> tuple[tuple[str, Decimal], ...]:
    """`{"Brand Search": "500"}` (JSON) or `Brand Search=500; Used Inventory=300` (text)."""
    if isinstance(value, dict):
        pairs = list(value.items())
    else:
        items = value if isinstance(value, list | tuple) else str(value).split(";")
        pairs = []
        for item in items:
            if not str(item).strip():
                continue
            name, sep, amount = str(item).rpartition("=")
            if not sep or not name.strip():
                raise FieldProblem(field_name, f"{str(item).strip()!r} is not CAMPAIGN=AMOUNT")
            pairs.append((name.strip(), amount))
    out: dict[str, Decimal] = {}
    for name, amount in pairs:
        if str(name) in out:
            raise FieldProblem(field_name, f"campaign {name!r} appears twice")
        out[str(name)] = parse_money(f"{field_name}[{name}]", amount, positive=True)
    return tuple(out.items())


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _date_or_none(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _decimal_or_none(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None
