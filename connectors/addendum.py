"""Budget addendums: the new budgets a signed addendum asks for, on every ad platform at once.

An addendum gives either per-campaign daily amounts (`campaigns: {campaign id or name: amount}`)
or a new monthly total (`monthly_total: amount`). A monthly total is the client's whole spend: it
covers the active campaigns of every ad platform in the manifest together (Google Ads, Microsoft
Advertising, Meta), spread in proportion to their current daily budgets (a month counts 30.4
days, as the platforms bill). Amounts are in the accounts' currency; every result is rounded down
to the platform's billable unit and never set below the platform's floor: a share that would fall
below it is raised to the floor, the rest of the total is spread over the others, and the plan
says so. A campaign named in per-campaign amounts must match exactly one active campaign (by id
or name) on all the platforms together, else the addendum is refused before anything is written.

Each platform's state describes its budgets as `BudgetLine`s (`state.budget_lines()`); the
engine hands every platform's state to each step (`StepContext.states`), so that every step,
planned, admitted or verified, computes the same allocation from the same live budgets
(`allocate`) and keeps its own platform's part. The functions are pure: connectors call them from
`plan` and `verify`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

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


# --- every platform's budgets together ----------------------------------------------------------


@dataclass(frozen=True)
class BudgetLine:
    """One daily budget an addendum can set: a campaign's own, a budget shared by several
    campaigns (set once), or a Meta campaign whose ad sets hold its budget (`Meta` splits it)."""

    platform: str  # "google_ads", "microsoft_ads", "meta"
    where: str  # the account, as people name it: "Google Ads account 1234567890"
    key: str  # what the platform's planner knows the budget by
    name: str  # shown
    campaigns: tuple[tuple[str, str], ...]  # (id, name) of the active campaigns it pays for
    micros: int  # its current daily amount, in micros of the account currency
    floor: int  # the lowest daily amount the platform accepts, micros
    unit: int  # the billable unit, micros
    currency: str


@dataclass(frozen=True)
class BudgetLines:
    """One platform's budget lines, what it leaves out and why (e.g. a lifetime budget)."""

    platform: str
    where: str  # the account, for messages
    lines: tuple[BudgetLine, ...] = ()
    notes: tuple[str, ...] = ()


class HasBudgetLines(Protocol):
    def budget_lines(self) -> BudgetLines: ...


@dataclass(frozen=True)
class Allocation:
    amounts: Mapping[tuple[str, str], int]  # (platform, key) -> daily micros
    notes: tuple[str, ...]
    lines: tuple[BudgetLine, ...]
    monthly: bool

    def of(self, platform: str) -> dict[str, int]:
        return {k: v for (p, k), v in self.amounts.items() if p == platform}

    def tolerance(self, line: BudgetLine) -> int:
        """How far a live budget may be from its share and still count as it: one billable unit
        for amounts given per campaign; for a monthly spread, re-computed from budgets already
        spread, the rounding of every budget may move a share by up to one unit per budget."""
        return line.unit * (max(1, len(self.lines)) if self.monthly else 1)


def budget_lines_of(states: Mapping[str, Any]) -> list[BudgetLines]:
    """The budget lines of every readable platform state that has any, platform by platform."""
    found = []
    for platform in sorted(states):
        state = states[platform]
        if not getattr(state, "reachable", True) or not hasattr(state, "budget_lines"):
            continue
        found.append(state.budget_lines())
    return found


def allocate(
    raw: Mapping[str, Any] | None, states: Mapping[str, Any], platform: str = ""
) -> Allocation:
    """The daily amount of every budget line of every platform in `states`; notes about
    `platform`'s lines (or all when empty). Refuses (InputError) an addendum it cannot apply
    exactly: a name that matches no active campaign, or several."""
    change = parse_budget_change(raw)
    found = budget_lines_of(states)
    lines = tuple(line for group in found for line in group.lines)
    notes = [n for g in found for n in g.notes if not platform or g.platform == platform]
    if change.monthly_total_micros is not None:
        currencies = sorted({line.currency for line in lines})
        if len(currencies) > 1:
            raise InputError(
                "a monthly total spans the client's accounts, which use different currencies "
                f"({', '.join(currencies)}): give per-campaign amounts instead"
            )
        amounts, raised, short = spread_with_floors(lines, change.monthly_total_micros)
        notes += [
            f"{line.name!r} raised to the platform floor "
            f"({_money(line.floor, line.currency)}/day): its share of the monthly total is lower"
            for line in raised
            if not platform or line.platform == platform
        ]
        if short:
            notes.append(
                f"the platforms' floors add up to more than the monthly total: "
                f"{_money(short, currencies[0])}/day above it"
            )
        return Allocation(amounts, tuple(notes), lines, True)
    amounts = {}
    problems: list[str] = []
    for key, micros in change.campaigns:
        matches = _matches(lines, key)
        if not matches:
            problems.append(f"{key!r}, which is not an active campaign of {_accounts(found)}")
            continue
        if len(matches) > 1:
            named = ", ".join(f"{line.where} {cid}" for line, cid in matches)
            problems.append(f"{key!r}, which matches {len(matches)} active campaigns ({named})")
            continue
        line = matches[0][0]
        amount = max(micros - micros % line.unit, line.floor)
        if amount > micros - micros % line.unit and (not platform or line.platform == platform):
            notes.append(
                f"{line.name!r} raised to the platform floor ({_money(line.floor, line.currency)})"
            )
        previous = amounts.get((line.platform, line.key))
        if previous is not None and previous != amount:
            problems.append(
                f"campaigns sharing budget {line.name!r} with different amounts: give the "
                "shared budget one amount"
            )
        amounts[(line.platform, line.key)] = amount
    if problems:
        raise InputError(
            "budget change names " + "; ".join(problems) + " (nothing was changed; name each "
            "campaign by its id where names repeat)"
        )
    return Allocation(amounts, tuple(notes), lines, False)


def _accounts(found: Sequence[BudgetLines]) -> str:
    names = [g.where for g in found if g.where]
    if len(names) <= 1:
        return names[0] if names else "any ad account of the client"
    return ", ".join(names[:-1]) + " or " + names[-1]


def _matches(lines: Sequence[BudgetLine], key: str) -> list[tuple[BudgetLine, str]]:
    found: dict[tuple[str, str], tuple[BudgetLine, str]] = {}
    for line in lines:
        for cid, name in line.campaigns:
            if key in (cid, name):
                found.setdefault((line.platform, cid), (line, cid))
    # campaigns that share one budget are one budget: naming either sets it
    by_line = {(line.platform, line.key): (line, cid) for line, cid in found.values()}
    return list(by_line.values())


def _money(micros: int, currency: str) -> str:
    return f"{micros / 1_000_000:,.2f} {currency}"


def spread_with_floors(
    lines: Sequence[BudgetLine], monthly_micros: int
) -> tuple[dict[tuple[str, str], int], list[BudgetLine], int]:
    """Spread a monthly total over budget lines in proportion to their current daily amounts; a
    share below its line's floor is raised to the floor and the rest of the total is spread over
    the others. Returns the amounts, the lines raised, and by how much the floors alone exceed
    the total per day (0 when they do not)."""
    daily = Decimal(monthly_micros) / DAYS_PER_MONTH
    at_floor: list[BudgetLine] = []
    while True:
        free = [line for line in lines if line not in at_floor]
        left = daily - sum(Decimal(line.floor) for line in at_floor)
        total = sum(line.micros for line in free)
        weights = {line: Decimal(line.micros) if total > 0 else Decimal(1) for line in free}
        weight_sum = sum(weights.values()) or Decimal(1)
        shares = {line: max(left, Decimal(0)) * w / weight_sum for line, w in weights.items()}
        below = [line for line in free if shares[line] < line.floor]
        if not below:
            break
        at_floor += below
    amounts = {(line.platform, line.key): line.floor for line in at_floor}
    for line, share in shares.items():
        micros = int(share)
        amounts[(line.platform, line.key)] = max(line.floor, micros - micros % line.unit)
    short = int(sum(Decimal(line.floor) for line in at_floor) - daily)
    return amounts, at_floor, max(short, 0)
