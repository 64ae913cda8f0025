"""`adoffboard resend`: a person settles an export email that may have been sent.

The SharpSpring export is emailed at most once (see `adoffboard.connectors.sharpspring`). When
the process stopped during the SMTP exchange, nobody knows whether the Account Manager got the
contacts, and no run sends them again on its own. After checking with the Account Manager, one
person decides: send it again, or record that it arrived (`received`). Who may decide: a person
of `[people]` holding the owner role of a runbook step that exports the contacts (the MA
Department Manager in `ma-cancellation`), or the client's own Account Manager (the manifest's
email), the same rule as attesting a task. The decision, who and when, is kept in the export's
record; it runs under the client's lock, so that two decisions cannot both send.
"""

from __future__ import annotations

from typing import Any

from adoffboard.clock import Clock, SystemClock
from adoffboard.config import ROLES, LoadedWorkspace, PersonEntry
from adoffboard.connectors.sharpspring.export import ExportRecord
from adoffboard.errors import InputError, NotPermitted
from adoffboard.holder import holder_name
from adoffboard.runbook import available, load_runbook
from adoffboard.tasks import find_person

EXPORT_ACTION = ("sharpspring", "export_contacts")


def export_owner_roles(ws: LoadedWorkspace) -> set[str]:
    """The owner roles of every runbook step that exports the contacts (automated or not)."""
    roles: set[str] = set()
    for name in available(ws.root):
        try:
            book = load_runbook(name, ws.root)
        except InputError:
            continue  # a broken runbook names no owner; `runbooks list` reports it
        for step in book.model.steps:
            ref = step.action or step.action_if_configured
            if ref is not None and (ref.connector, ref.name) == EXPORT_ACTION:
                roles.add(step.owner)
    return roles


def check_may_decide(ws: LoadedWorkspace, client: str, person: PersonEntry) -> None:
    am = ws.load_client(client).model.account_manager
    roles = export_owner_roles(ws)
    if roles & set(person.roles) or person.email.casefold() == am.email.casefold():
        return
    owners = sorted({p.name for r in roles for p in ws.people_with_role(r)} | {am.name})
    titles = " or ".join(ROLES.get(r, r) for r in sorted(roles)) or "the export step's owner"
    raise NotPermitted(
        f"{person.name} cannot resend {client}'s export: that is for the "
        f"{titles} or the client's Account Manager ({', '.join(owners)})"
    )


def resend(
    ws: LoadedWorkspace,
    store: Any,
    client: str,
    who: str,
    *,
    received: bool = False,
    clock: Clock | None = None,
) -> ExportRecord:
    """Send the client's latest export again (or record it `received`), as `who` decided."""
    from adoffboard.connectors.sharpspring.connector import resend_export

    manifest = ws.load_client(client)
    person = find_person(ws, who)
    check_may_decide(ws, client, person)
    with store.client_lock(client, holder_name()):
        return resend_export(
            ws.root,
            ws.config.notifications,
            clock or SystemClock(),
            manifest.model,
            by=person.name,
            received=received,
        )
