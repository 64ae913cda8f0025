"""Benchmark data for the Microsoft Advertising stand-in: one large account."""

from __future__ import annotations

import copy
import random
from typing import Any


def generate_account(
    n_campaigns: int = 1000,
    *,
    account_id: str = "170000001",
    customer_id: str = "270000001",
    name: str = "Benchmark dealer",
    currency: str = "USD",
    seed: int = 11,
) -> dict[str, Any]:
    """A `microsoft_ads` scenario section with one account of `n_campaigns` campaigns in a
    realistic mix: mostly Search, some Shopping/Audience/PerformanceMax/DynamicSearchAds; ~15%
    Paused, ~5% Deleted, ~3% BudgetPaused; every 10th campaign shares one of five pools."""
    rng = random.Random(seed)
    types = (
        ["Search"] * 60
        + ["Shopping"] * 10
        + ["Audience"] * 10
        + ["PerformanceMax"] * 12
        + ["DynamicSearchAds"] * 8
    )
    budgets = [
        {"id": str(900 + k), "name": f"Shared pool {k + 1}", "amount": float(rng.randint(50, 500))}
        for k in range(5)
    ]
    campaigns = []
    for n in range(1, n_campaigns + 1):
        roll = rng.random()
        status = (
            "Deleted"
            if roll < 0.05
            else "Paused"
            if roll < 0.20
            else "BudgetPaused"
            if roll < 0.23
            else "Active"
        )
        camp: dict[str, Any] = {
            "id": str(500_000 + n),
            "name": f"Campaign {n}",
            "status": status,
            "type": rng.choice(types),
        }
        if n % 10 == 0:
            camp["budget_id"] = budgets[(n // 10) % len(budgets)]["id"]
        else:
            camp["daily_budget"] = float(rng.randint(5, 300))
        campaigns.append(camp)
    return {
        "accounts": [
            {
                "account_id": account_id,
                "customer_id": customer_id,
                "name": name,
                "currency": currency,
                "budgets": budgets,
                "campaigns": copy.deepcopy(campaigns),
            }
        ]
    }
