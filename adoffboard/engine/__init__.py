"""Plan, apply, verify, resume: the loop every runbook goes through.

- `make_plan` reads live state through read-only connectors and asks each step for its changes.
- `apply_plan` takes a saved plan, refuses it if it was altered or its manifest or runbook changed,
  and applies exactly its changes, platform by platform in parallel, journaling every write.
  Changes that remove the agency's own access run last, after a verification pass has read
  everything that still needs that access.
- `verify` is an independent read-only pass: PASS / FAIL / MANUAL-PENDING per checklist line.
- `resume` finishes an interrupted run: only what has no final outcome is tried again, and the
  connectors' drift check turns "already done" into ALREADY instead of a second write.

What may be written is decided by this workspace, never by the plan alone: `apply` takes only plans
signed with the workspace's key (adoffboard.signing), and before the first write every change is
checked against what its runbook step plans from the live state just read (`_admit`): a manifest
account, the step's own field and target value. The agency's access to an account is removed only
after that account passes its pause, budget and script checks (`_hold_removals`).

Connectors see a step's `params` from the runbook and a `StepContext`: the plan-wide facts some
actions need to render their values (effective date, the runbook's process and department, the
scope), the same at plan and at verify time, and at verify time when the run started.
"""

from adoffboard.engine.applying import (
    OPERATIONS_LEAD as OPERATIONS_LEAD,
)
from adoffboard.engine.applying import RELEASE_ROLES as RELEASE_ROLES
from adoffboard.engine.applying import RESTORE_ROLES as RESTORE_ROLES
from adoffboard.engine.applying import RunResult as RunResult
from adoffboard.engine.applying import StoreJournal as StoreJournal
from adoffboard.engine.applying import apply_plan as apply_plan
from adoffboard.engine.applying import authorize as authorize
from adoffboard.engine.applying import combined_report as combined_report
from adoffboard.engine.applying import resume_run as resume_run
from adoffboard.engine.common import FINAL as FINAL
from adoffboard.engine.common import ApprovalGate as ApprovalGate
from adoffboard.engine.common import Env as Env
from adoffboard.engine.common import Progress as Progress
from adoffboard.engine.common import RunStore as RunStore
from adoffboard.engine.planning import check_plan_current as check_plan_current
from adoffboard.engine.planning import load_plan as load_plan
from adoffboard.engine.planning import make_plan as make_plan
from adoffboard.engine.planning import parse_date as parse_date
from adoffboard.engine.planning import save_plan as save_plan
from adoffboard.engine.planning import step_context as step_context
from adoffboard.engine.planning import step_params as step_params
from adoffboard.engine.planning import stored_plan as stored_plan
from adoffboard.engine.verifying import Reads as Reads
from adoffboard.engine.verifying import Settlement as Settlement
from adoffboard.engine.verifying import verdict_of as verdict_of
from adoffboard.engine.verifying import verify as verify
