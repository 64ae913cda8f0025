"""Manual tasks: the checklist lines people do, listed with owner and instructions, and attested.

A client's outstanding tasks come from the latest run of each runbook (its plan's manual steps,
and the manual items of automated steps, e.g. a VIDEO campaign the API cannot pause), minus what
has been attested. A task's id is `CLIENT/STEP`, or `CLIENT/RUNBOOK/STEP` when the step id is
in more than one of the client's runbooks. Only a person holding the step's owner role (the
client's own Account Manager for `account_manager` steps) may attest it; attestations count in
`verify` and appear in reports with who and when.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from adoffboard.config import ROLES, LoadedWorkspace, PersonEntry
from adoffboard.errors import InputError, NotFound, NotPermitted
from adoffboard.models import StepKind


@dataclass(frozen=True)
class Task:
    id: str
    client: str
    runbook: str
    step_id: str
    title: str
    owner: str  # the role
    owners: tuple[str, ...]  # people holding the role
    instructions: str
    items: tuple[str, ...]
    run_id: str
    attested_by: str = ""
    attested_at: str = ""
    note: str = ""

    @property
    def done(self) -> bool:
        return bool(self.attested_by)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "owners": list(self.owners),
            "items": list(self.items),
            "done": self.done,
            "owner_title": ROLES.get(self.owner, self.owner),
        }


def _owners(ws: LoadedWorkspace, role: str, client_am: str) -> tuple[str, ...]:
    people = [p.name for p in ws.people_with_role(role)]
    if role == "account_manager" and client_am and client_am not in people:
        people.insert(0, client_am)
    return tuple(people)


def client_tasks(ws: LoadedWorkspace, store: Any, client: str) -> list[Task]:
    """Every manual task of the client's latest run of each runbook, done or not."""
    manifest = ws.load_client(client)
    am = manifest.model.account_manager.name
    latest: dict[str, Any] = {}
    for record in store.runs(client, limit=1000):  # newest first
        latest.setdefault(record.runbook, record)
    found: list[Task] = []
    for runbook, record in sorted(latest.items()):
        plan = record.plan()
        attested = store.attestations(client, runbook)
        for step in plan.steps:
            if step.kind == StepKind.SKIPPED or step.manual is None:
                continue
            a = attested.get(step.step_id)
            found.append(
                Task(
                    id=f"{client}/{runbook}/{step.step_id}",
                    client=client,
                    runbook=runbook,
                    step_id=step.step_id,
                    title=step.manual.title,
                    owner=step.owner,
                    owners=_owners(ws, step.owner, am),
                    instructions=step.manual.instructions,
                    items=step.manual.items,
                    run_id=record.id,
                    attested_by=a.by if a else "",
                    attested_at=a.at if a else "",
                    note=a.note if a else "",
                )
            )
    counts = Counter(t.step_id for t in found)
    return [
        t if counts[t.step_id] > 1 else Task(**{**t.__dict__, "id": f"{client}/{t.step_id}"})
        for t in found
    ]


def all_tasks(
    ws: LoadedWorkspace, store: Any, client: str | None = None, *, include_done: bool = False
) -> list[Task]:
    clients = [client] if client else ws.client_slugs()
    tasks = [t for c in clients for t in client_tasks(ws, store, c)]
    return tasks if include_done else [t for t in tasks if not t.done]


def find_person(ws: LoadedWorkspace, who: str) -> PersonEntry:
    wanted = who.strip().casefold()
    for key, person in ws.config.people.items():
        if wanted in (key.casefold(), person.name.casefold(), person.email.casefold()):
            return person
    known = ", ".join(sorted(ws.config.people)) or "none"
    raise InputError(
        f"unknown person {who!r}: use a key, name or email from [people] "
        f"in adoffboard.toml (known: {known})"
    )


def attest(ws: LoadedWorkspace, store: Any, task_id: str, by: str, note: str = "") -> Task:
    parts = task_id.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError(
            f"task id {task_id!r} must look like CLIENT/STEP or "
            "CLIENT/RUNBOOK/STEP (see `adoffboard tasks`)"
        )
    client = parts[0]
    tasks = client_tasks(ws, store, client)
    matches = [
        t for t in tasks if t.step_id == parts[-1] and (len(parts) == 2 or t.runbook == parts[1])
    ]
    if not matches:
        raise NotFound(
            f"no manual task {task_id!r} in {client}'s latest runs "
            "(see `adoffboard tasks " + client + "`)"
        )
    if len(matches) > 1:
        ids = ", ".join(f"{client}/{t.runbook}/{t.step_id}" for t in matches)
        raise InputError(f"task id {task_id!r} is ambiguous: use one of {ids}")
    task = matches[0]
    person = find_person(ws, by)
    manifest_am = ws.load_client(client).model.account_manager
    holds = task.owner in person.roles or (
        task.owner == "account_manager" and person.email.casefold() == manifest_am.email.casefold()
    )
    if not holds:
        role = ROLES.get(task.owner, task.owner)
        owners = ", ".join(task.owners) or f"nobody in [people] has the role {task.owner}"
        raise NotPermitted(
            f"{person.name} cannot attest {task.id}: it is owned by the {role} ({owners})"
        )
    store.attest(client, task.runbook, task.step_id, person.name, note)
    return next(
        t
        for t in client_tasks(ws, store, client)
        if t.step_id == task.step_id and t.runbook == task.runbook
    )
