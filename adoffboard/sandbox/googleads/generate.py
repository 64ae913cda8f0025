"""Google Ads stand-in: benchmark accounts (`generate_accounts`)."""

from __future__ import annotations

import random
from typing import Any

from adoffboard.sandbox.googleads.model import CURRENCIES


def generate_accounts(
    campaigns: int = 5000,
    *,
    accounts: int = 1,
    manager_id: str = "1112223333",
    currency_code: str = "USD",
    first_customer_id: int = 3_000_000_001,
    seed: int = 7,
) -> dict[str, Any]:
    """A `google_ads` scenario with `campaigns` campaigns per account, in a realistic mix:
    mostly Search, some PMax/Display/Shopping/Demand Gen/Video; ~15% paused, ~5% removed,
    2% experiments; own DAILY budgets, every 10th sharing a pool, every 25th CUSTOM_PERIOD."""
    rng = random.Random(seed)
    unit = CURRENCIES[currency_code].billable_unit_micros
    channels = (
        ["SEARCH"] * 50
        + ["PERFORMANCE_MAX"] * 15
        + ["DISPLAY"] * 15
        + ["SHOPPING"] * 7
        + ["DEMAND_GEN"] * 8
        + ["VIDEO"] * 5
    )
    out_accounts = []
    for a in range(accounts):
        cid = str(first_customer_id + a)
        budgets: list[dict[str, Any]] = [
            {
                "id": "1",
                "name": "Shared pool",
                "period": "DAILY",
                "amount_micros": 500 * 1_000_000,
                "explicitly_shared": True,
            }
        ]
        camps = []
        for n in range(1, campaigns + 1):
            channel = rng.choice(channels)
            budget_id = "1"
            if n % 10:
                budget_id = str(10 + n)
                amount = rng.randint(10, 300) * 1_000_000 // unit * unit
                if n % 25 == 0 and channel != "DEMAND_GEN":
                    budgets.append(
                        {
                            "id": budget_id,
                            "name": f"Flight {n}",
                            "period": "CUSTOM_PERIOD",
                            "total_amount_micros": amount * 30,
                        }
                    )
                else:
                    budgets.append(
                        {
                            "id": budget_id,
                            "name": f"Budget {n}",
                            "period": "DAILY",
                            "amount_micros": amount,
                        }
                    )
            roll = rng.random()
            status = "REMOVED" if roll < 0.05 else "PAUSED" if roll < 0.20 else "ENABLED"
            camp = {
                "id": str(100_000 + n),
                "name": f"{channel.title()} campaign {n}",
                "status": status,
                "channel": channel,
                "budget_id": budget_id,
            }
            if n % 50 == 0:
                camp["experiment_type"] = "EXPERIMENT"
            camps.append(camp)
        out_accounts.append(
            {
                "customer_id": cid,
                "descriptive_name": f"Benchmark client {a + 1}",
                "currency_code": currency_code,
                "time_zone": "America/New_York",
                "links": [{"manager_id": manager_id, "manager_link_id": str(800_000 + a)}],
                "budgets": budgets,
                "campaigns": camps,
            }
        )
    return {
        "managers": [
            {
                "customer_id": manager_id,
                "descriptive_name": "Benchmark MCC",
                "currency_code": currency_code,
            }
        ],
        "accounts": out_accounts,
    }
