"""Budget addendums: the new budgets a signed addendum asks for, platform by platform.

An addendum gives either per-campaign daily amounts (`campaigns: {campaign id or name: amount}`)
or a new monthly total (`monthly_total: amount`) spread over the active campaigns in proportion
to their current daily budgets (a month counts 30.4 days, as the platforms bill). Amounts are in
the account's currency; every result is rounded down to the billable unit and never set below the
platform's floor. The functions are pure: connectors call them from `plan`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adoffboard.cr.model import FieldProblem, parse_money
from adoffboard.errors import InputError

DAYS_PER_MONTH = Decimal("30.4")
MICROS = Decimal(1_000_000)


@dataclass(frozen=True)
class BudgetChange:
    monthly_total_micros: int | None = None
    campaigns: tuple[tuple[str, int], ...] = ()  # (campaign id or name, daily micros)
    reference: str = ""  # the signed addendum's reference

    @property
    def per_campaign(self) -> dict[str, int]:
        return dict(self.campaigns)


def _micros(value: Any, where: str) -> int:
    """A positive amount, held to the rule every amount follows (`cr.model.parse_money`: at most
    10,000,000 and cents), in micros."""
    try:
        amount = parse_money(where, value, positive=True)
    except FieldProblem as exc:
        raise InputError(f"budget change {exc}") from None
    return int(amount * MICROS)


def parse_budget_change(raw: Mapping[str, Any] | None) -> BudgetChange:
    """Validate the `budget_change` input: exactly one of monthly_total or campaigns."""
    if not raw:
        raise InputError(
            "this runbook needs a budget change: pass --budget-change "
            "(monthly=AMOUNT, or CAMPAIGN=AMOUNT per campaign)"
        )
    monthly, campaigns = raw.get("monthly_total"), raw.get("campaigns") or {}
    if (monthly is None) == (not campaigns):
        raise InputError(
            "a budget change gives either a monthly total or per-campaign "
            "amounts, not both and not neither"
        )
    unknown = sorted(set(raw) - {"monthly_total", "campaigns", "reference"})
    if unknown:
        raise InputError(f"budget change: unknown field(s) {unknown}")
    return BudgetChange(
        monthly_total_micros=None if monthly is None else _micros(monthly, "monthly_total"),
        campaigns=tuple((str(k), _micros(v, f"campaign {k}")) for k, v in campaigns.items()),
        reference=str(raw.get("reference", "")),
    )


def split_monthly(
    current: Mapping[str, int], monthly_micros: int, *, unit: int, floor: int
) -> dict[str, int]:
    """Spread a monthly total over budgets in proportion to their current daily amounts."""
    if not current:
        return {}
    daily = Decimal(monthly_micros) / DAYS_PER_MONTH
    total = sum(current.values())
    weights = (
        {k: Decimal(v) for k, v in current.items()}
        if total > 0
        else {k: Decimal(1) for k in current}
    )
    weight_sum = sum(weights.values())
    result = {}
    for key, weight in weights.items():
        share = int(daily * weight / weight_sum)
        result[key] = max(floor, share - share % unit)
    return result


def parse_cli_budget_change(items: tuple[str, ...], reference: str = "") -> dict[str, Any] | None:
    """`--budget-change monthly=3000` or `--budget-change 9001=40 --budget-change Brand=25`."""
    if not items:
        return None
    out: dict[str, Any] = {"reference": reference} if reference else {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(
                f"--budget-change {item!r} must look like monthly=AMOUNT or CAMPAIGN=AMOUNT"
            )
        if key.strip().lower() in ("monthly", "monthly_total"):
            out["monthly_total"] = value.strip()
        else:
            out.setdefault("campaigns", {})[key.strip()] = value.strip()
    parse_budget_change(out)  # validate now: one clear line before anything is read
    return out
