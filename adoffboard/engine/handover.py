"""A plan's own read, handed to the apply that follows it in the same process.

`apply` settles every change against a read of the live state taken right before it writes
(the drift check), and admits the plan against that read. When one process plans and applies
at once (`run --yes`, the scheduler), the plan's read is such a read, provided nothing could
have written to the client's accounts since: this process held the client's lock from before
that read until the apply (so no other run of adoffboard could), and the read is recent
(`FRESH_S`, the window Microsoft's connector already trusts its own phase read for). The apply
then settles on the plan's read instead of reading every platform a second time, as
`terraform apply` does with the plan it has just made; anything else (a plan file, a prompt
answered later, a second run of the same process, a resume) reads again.

Each connector decides whether it can take a read over (`Connector.take_over`): those that
keep the state read for their next `apply` install it; those whose `apply` reads each entity
itself before writing only need the guards the read passed (tenant, admission).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

FRESH_S = 60.0  # how old a plan's read may be and still stand for the apply's


@dataclass
class PlanReads:
    """What `make_plan` read, for the apply of that plan in this process (`take`, once).

    Made by a caller that holds the client's lock and keeps it until the apply: that is what
    makes the read the last word on the accounts (no other run can write to them meanwhile).
    `make_plan` fills it: each platform's state and the read-only connector that read it."""

    client: str
    taken_at: dt.datetime | None = None  # when the plan's reads began
    reads: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # platform: (reader, state)
    plan_id: str = ""

    def record(
        self,
        plan_id: str,
        client: str,
        taken_at: dt.datetime,
        states: dict[str, Any],
        readers: dict[str, Any],
    ) -> None:
        if client != self.client:
            return  # another client's plan: nothing to hand over
        self.plan_id, self.taken_at = plan_id, taken_at
        self.reads = {p: (readers[p], states[p]) for p in states if p in readers}

    def take(self, plan_id: str, client: str, now: dt.datetime) -> dict[str, tuple[Any, Any]]:
        """{platform: (reader, state)} for the apply of plan `plan_id`, if the reads are that
        plan's, of this client and fresh; empty otherwise. Once: a later apply reads again."""
        reads, taken = self.reads, self.taken_at
        self.reads, self.taken_at = {}, None
        if taken is None or plan_id != self.plan_id or client != self.client:
            return {}
        if not dt.timedelta(0) <= now - taken <= dt.timedelta(seconds=FRESH_S):
            return {}
        return reads
