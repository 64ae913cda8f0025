"""The console's own pages: what is waiting for the signed-in person, personal tokens for the CLI,
and the health check.

Whether a change request waits for someone is the workflow's own rules asked, not a second copy
of them: `adoffboard.cr.rules` are pure functions of the request and the person, so a refusal
from `rules.approve` (or `submit`, `record_save_attempt`) means it is not their turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, jsonify

from adoffboard.console import context
from adoffboard.console.auth import Person, current_person
from adoffboard.console.pages import render
from adoffboard.cr import rules
from adoffboard.cr.model import ChangeRequest
from adoffboard.errors import AdoffboardError

bp = Blueprint("home", __name__)

RECENT_RUNS = 10
# who is shown the recent runs to check: the removals team, specialists and their leads
RUN_CHECKERS = (
    "juniper",
    "sem_specialist",
    "ma_specialist",
    "sem_team_lead",
    "ma_team_lead",
    "dmo_lead",
)


@dataclass(frozen=True)
class Waiting:
    cr: ChangeRequest
    what: str  # what the person is to do: "approve", "process", "submit", "record the save attempt"
    standing: str


def permits(decide: Any) -> bool:
    """Whether the workflow's rule `decide` (a pure function of the request and the person)
    lets the action through."""
    try:
        decide()
    except AdoffboardError:
        return False
    return True


def waiting_requests(service: Any, person: Person) -> list[Waiting]:
    """The change requests at the person's step, oldest first."""
    actor = person.actor()
    approval = service.ws.config.approval
    found = []
    for cr in service.find(status="submitted"):
        step = service.pending_step(cr)
        if step and permits(lambda cr=cr: rules.approve(cr, actor, approval)):
            what = "process" if step.action == "processed" else "approve"
            found.append(Waiting(cr, what, service.standing(cr)))
    for cr in service.find(status="draft"):
        mine = cr.created_by == person.key or (cr.content.escalated and person.has("retention"))
        if not mine:
            continue
        if permits(lambda cr=cr: rules.submit(cr, actor)):
            found.append(Waiting(cr, "submit", service.standing(cr)))
        elif cr.content.save_attempt is None and permits(
            lambda cr=cr: rules.record_save_attempt(cr, actor, "not-saved", "-")
        ):
            found.append(Waiting(cr, "record the save attempt", service.standing(cr)))
    return found


@bp.get("/")
def waiting() -> str:
    person = current_person()
    c = context.console()
    service = context.change_requests()
    from adoffboard.tasks import all_tasks
    from adoffboard.verdicts import unsettled

    # as `adoffboard tasks` lists them: not the lines a change request's history settles
    found = unsettled(c.workspace, c.store, all_tasks(c.workspace, c.store))
    tasks = [t for t in found if person.name in t.owners]
    runs = c.store.runs(limit=RECENT_RUNS) if person.has(*RUN_CHECKERS) else []
    return render(
        "home.html.j2",
        nav="home",
        requests=waiting_requests(service, person),
        tasks=tasks,
        runs=runs,
    )


@bp.route("/cli-token", methods=["GET", "POST"])
def cli_token() -> str:
    """A personal token for `adoffboard login`: shown once, only its hash is kept."""
    from flask import request

    from adoffboard import identity
    from adoffboard.console.auth import note

    person = current_person()
    c = context.console()
    days = c.workspace.config.identity.token_days
    issued = None
    if request.method == "POST":
        token_id, secret = identity.issue_token(c.store, person.key, c.clock, "console", days=days)
        note("token issued", token_id, f"personal token for the CLI, valid {days} days")
        issued = {"id": token_id, "secret": secret}
    return render("cli_token.html.j2", nav="cli-token", issued=issued, days=days)


@bp.get("/healthz", endpoint="healthz")
def healthz() -> Any:
    """For a load balancer: the console answers and its store can be read."""
    with context.store().transaction():
        pass
    return jsonify(status="ok")
