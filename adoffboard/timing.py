"""Which runs an approved change request calls for, and when: the one rule the scheduler (its
rows) and `adoffboard run CLIENT` (what is due today) share.

An approved request is carried out by every runbook of its type's processes in its departments:
a cancellation or an addendum on its effective date, a pause on its effective date and its
un-pause on the pause's end date (no end date: no un-pause yet). A runbook whose `immediately`
steps write somewhere (the planner row, the MA tracker's cancellation date) also runs those
steps at approval, as their own run, while its date is still ahead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adoffboard.config import LoadedWorkspace
from adoffboard.cr.model import EXECUTABLE_TYPES, ChangeRequest
from adoffboard.cr.notify import runbooks_for
from adoffboard.runbook import load_runbook

# A run's stage, as the schedule stores it: all steps on the date, or those due at approval.
EFFECTIVE, AT_APPROVAL = "effective_date", "immediately"
# Order of the runs of one request (a pause before its un-pause).
_ORDER = {"cancellation": 0, "addendum": 0, "pause": 0, "unpause": 1}


def runs_for(cr: ChangeRequest, ws: LoadedWorkspace, today: dt.date) -> list[dict[str, Any]]:
    """The runs an approved request needs: runbook, process, department, date, stage (in run
    order). A runbook whose `immediately` steps write somewhere (the planner row, a tracker's
    cancellation date) also runs those steps at approval (`today`), unless its date has come."""
    if cr.status != "approved" or cr.type not in EXECUTABLE_TYPES:
        return []
    found = []
    for name in runbooks_for(cr, ws):
        book = load_runbook(name, ws.root).model
        day = cr.content.pause_end_date if book.process == "unpause" else cr.content.effective_date
        if day is None:
            continue
        run = {"runbook": name, "process": book.process, "department": book.department}
        writes_at_approval = any(
            s.timing == "immediately" and s.action is not None for s in book.steps
        )
        if writes_at_approval and day > today:
            found.append({**run, "run_date": today, "stage": AT_APPROVAL})
        found.append({**run, "run_date": day, "stage": EFFECTIVE})
    found.sort(
        key=lambda r: (
            r["stage"] != AT_APPROVAL,
            _ORDER.get(str(r["process"]), 0),
            str(r["department"]),
            str(r["runbook"]),
        )
    )
    return found
