"""The agency's approval workflow, as pure functions: current request + who acts -> new state.

From the seeds ("Retention", "Cancellation / Contract Pause / Addendums", "Approval"):

- only an Account Manager creates a change request, and escalates it (`escalated_to`) to the
  Retention team, a Team Lead or their Department Manager (of the request's departments), who are
  told (`escalation_roles`);
- a request escalated to the Retention team needs the team's save attempt, and only the Retention
  team updates it besides the Account Manager and submits it (not the Account Manager); when the
  Retention team was not involved (not escalated, or escalated to a Team Lead or Department
  Manager) there is no save attempt and the Account Manager submits; addendums carry no save
  attempt;
- approvals go strictly in order: the `[approval] chain` (first, then second approver), then the
  finance team only when a credit is issued, then the accounting team processes it;
- nobody approves a request they created or submitted, nor two steps of one request;
- a rejection ends the request; an edit after an approval voids every approval.

Nothing here touches the store: `adoffboard.cr.service` loads, decides with these, and saves in one
transaction, so a refusal (`NotPermitted`) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from adoffboard.config import ROLES, ApprovalSection
from adoffboard.cr.model import (
    CR_TYPES,
    ESCALATION_NAMES,
    ESCALATION_TARGETS,
    SAVE_OUTCOMES,
    Approval,
    ChangeRequest,
    Content,
    SaveAttempt,
)
from adoffboard.errors import InputError, NotPermitted


@dataclass(frozen=True)
class Actor:
    """A person from `[people]`, acting under their key."""

    key: str
    name: str
    roles: tuple[str, ...]

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class ChainStep:
    role: str
    action: str  # "approved", or "processed" for the processing step

    @property
    def title(self) -> str:
        return ROLES.get(self.role, self.role).lower()

    def describe(self) -> str:
        return f"the {self.title} ({self.role})"


@dataclass(frozen=True)
class Event:
    """A transition to record: the action, in which role, with what detail."""

    action: str
    role: str
    by: str
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The request after an action, the transitions to record, and what follows from it."""

    cr: ChangeRequest
    events: tuple[Event, ...]
    approved_now: bool = False  # this action finished the chain
    voided: bool = False  # this action voided approvals that had been given


# The roles each escalation target is, per department of the request.
ESCALATION_ROLES: dict[str, dict[str, str]] = {
    "retention": {"SEM": "retention", "MA": "retention"},
    "team_lead": {"SEM": "sem_team_lead", "MA": "ma_team_lead"},
    "department_manager": {"SEM": "sem_department_manager", "MA": "ma_department_manager"},
}


def escalation_roles(content: Content) -> tuple[str, ...]:
    """The roles of the people the request is escalated to (none when it is not)."""
    if not content.escalated_to:
        return ()
    per_department = ESCALATION_ROLES[content.escalated_to]
    return tuple(dict.fromkeys(per_department[d] for d in content.departments))


def escalation_title(content: Content) -> str:
    """Whom the request is escalated to, in words: "the SEM Team Lead", "the Retention team"."""
    if content.escalated_to in ("", "retention"):
        return ESCALATION_TARGETS.get(content.escalated_to, "nobody")
    titles = [f"the {ROLES[r]}" for r in escalation_roles(content)]
    return " and ".join(titles) or ESCALATION_TARGETS[content.escalated_to]


def chain_for(content: Content, approval: ApprovalSection) -> list[ChainStep]:
    steps = [ChainStep(role, "approved") for role in approval.chain]
    if content.issues_credit:
        steps.append(ChainStep(approval.finance_role, "approved"))
    steps.append(ChainStep(approval.processing_role, "processed"))
    return steps


def pending_step(cr: ChangeRequest, approval: ApprovalSection) -> ChainStep | None:
    """The next step of the chain, or None when nothing is pending (draft, decided)."""
    if cr.status != "submitted":
        return None
    done = len(cr.approvals)
    chain = chain_for(cr.content, approval)
    return chain[done] if done < len(chain) else None


def standing(cr: ChangeRequest, approval: ApprovalSection) -> str:
    """Where the request stands, in words: what a refusal or `cr show` says."""
    if cr.status == "draft":
        if cr.content.escalated:
            who = "the Retention team (after its save attempt)"
        elif cr.content.escalated_to:
            who = f"the Account Manager (escalated to {escalation_title(cr.content)})"
        else:
            who = "the Account Manager"
        return f"is a draft: it must be submitted by {who}"
    if cr.status == "rejected":
        return f"was rejected by {cr.rejected_by}"
    if cr.status == "approved":
        return "is approved"
    step = pending_step(cr, approval)
    return f"is waiting for {step.describe()}" if step else "is submitted"


# --- actions ----------------------------------------------------------------------------------


def create(
    actor: Actor,
    content: Content,
    cr_id: str = "",
    at: str = "",
    via: str = "created",
    detail: str = "",
) -> Decision:
    if not actor.has("account_manager"):
        raise NotPermitted(
            f"only an Account Manager creates a change request; {actor.key} is "
            f"not one ({_roles(actor)})"
        )
    cr = ChangeRequest(
        id=cr_id, content=content, status="draft", created_by=actor.key, created_at=at
    )
    kind = CR_TYPES.get(content.type, content.type)  # an unknown type is reported by validation
    return Decision(
        cr, (Event(via, "account_manager", actor.key, detail or f"{kind} for {content.client}"),)
    )


def edit(cr: ChangeRequest, actor: Actor, new: Content) -> Decision:
    _open(cr, "edited")
    if not (actor.has("account_manager") or (actor.has("retention") and cr.content.escalated)):
        raise NotPermitted(
            f"{actor.key} cannot edit {cr.id}: only an Account Manager (or the "
            "Retention team, when escalated to it) updates a change request"
        )
    changed = _diff(cr.content, new)
    if not changed:
        raise InputError(f"nothing to change in {cr.id}: the values given are the current ones")
    role = "account_manager" if actor.has("account_manager") else "retention"
    return _with_content(
        cr, new, Event("edited", role, actor.key, ", ".join(sorted(changed)), {"changed": changed})
    )


def record_save_attempt(cr: ChangeRequest, actor: Actor, outcome: str, notes: str) -> Decision:
    _open(cr, "updated")
    if not actor.has("retention"):
        raise NotPermitted(
            f"only the Retention team records a save attempt; {actor.key} is not "
            f"in it ({_roles(actor)})"
        )
    if cr.type == "addendum":
        raise NotPermitted(f"{cr.id} is an addendum: addendums carry no save attempt")
    if cr.content.escalated_to and not cr.content.escalated:
        raise NotPermitted(
            f"{cr.id} was escalated to {escalation_title(cr.content)}, not the Retention "
            "team: a save attempt is recorded only when escalated to the Retention team, and "
            "the Account Manager submits it"
        )
    if not cr.content.escalated:
        raise NotPermitted(
            f"{cr.id} was not escalated to the Retention team: the Account Manager "
            f"escalates it first (`cr edit {cr.id} --escalate-to "
            f"{ESCALATION_NAMES['retention']}`)"
        )
    if outcome not in SAVE_OUTCOMES:
        raise InputError(
            f"save attempt outcome {outcome!r} must be one of: {', '.join(SAVE_OUTCOMES)}"
        )
    if not notes.strip():
        raise InputError("a save attempt needs notes: what was offered and what the client said")
    new = cr.content.with_values(save_attempt=SaveAttempt(outcome, notes.strip(), actor.key))
    event = Event(
        "save-attempt",
        "retention",
        actor.key,
        SAVE_OUTCOMES[outcome],
        {"outcome": outcome, "notes": notes.strip()},
    )
    return _with_content(cr, new, event)


def submit(cr: ChangeRequest, actor: Actor) -> Decision:
    _open(cr, "submitted")
    if cr.status != "draft":
        raise NotPermitted(f"{cr.label()} {standing_short(cr)}: only a draft is submitted")
    if cr.content.escalated:
        if not actor.has("retention"):
            raise NotPermitted(
                f"{cr.id} was escalated to the Retention team: only the Retention "
                f"team submits it, not {actor.key} ({_roles(actor)})"
            )
        if cr.content.save_attempt is None:
            raise NotPermitted(
                f"{cr.id} needs the Retention team's save attempt before it is "
                "submitted (`adoffboard cr save-attempt`)"
            )
        role = "retention"
    else:
        if not actor.has("account_manager"):
            raise NotPermitted(
                f"only the Account Manager submits {cr.id} (the Retention team was "
                f"not involved); {actor.key} is not one ({_roles(actor)})"
            )
        role = "account_manager"
    new = replace(cr, status="submitted", submitted_by=actor.key, approvals=())
    return Decision(new, (Event("submitted", role, actor.key),))


def approve(
    cr: ChangeRequest, actor: Actor, approval: ApprovalSection, note: str = "", at: str = ""
) -> Decision:
    step = _decidable(cr, actor, approval, "approve")
    given = Approval(step.role, actor.key, at, cr.content_hash, step.action)
    new = replace(cr, approvals=(*cr.approvals, given))
    finished = pending_step(new, approval) is None
    if finished:
        new = replace(new, status="approved")
    return Decision(new, (Event(step.action, step.role, actor.key, note),), approved_now=finished)


def reject(cr: ChangeRequest, actor: Actor, approval: ApprovalSection, reason: str) -> Decision:
    if not reason.strip():
        raise InputError("a rejection needs a reason (--reason)")
    step = _decidable(cr, actor, approval, "reject")
    new = replace(cr, status="rejected", rejected_by=actor.key)
    return Decision(new, (Event("rejected", step.role, actor.key, reason.strip()),))


# --- helpers ----------------------------------------------------------------------------------


def standing_short(cr: ChangeRequest) -> str:
    return {
        "draft": "is a draft",
        "submitted": "is already submitted",
        "approved": "is already approved",
        "rejected": f"was rejected by {cr.rejected_by}",
    }[cr.status]


def _open(cr: ChangeRequest, verb: str) -> None:
    if cr.status == "rejected":
        raise NotPermitted(
            f"{cr.label()} was rejected by {cr.rejected_by}: a rejection ends it "
            f"and it cannot be {verb}; create a new change request"
        )


def _decidable(cr: ChangeRequest, actor: Actor, approval: ApprovalSection, verb: str) -> ChainStep:
    """The step `actor` may decide now, or the refusal that says why not."""
    _open(cr, f"{verb}d")
    if cr.status == "draft":
        raise NotPermitted(
            f"{cr.label()} is a draft: it must be submitted before anyone can {verb} it"
        )
    if cr.status == "approved":
        raise NotPermitted(f"{cr.label()} is already approved")
    step = pending_step(cr, approval)
    assert step is not None  # submitted requests always have a pending step
    if not actor.has(step.role):
        chain = chain_for(cr.content, approval)
        later = [s for s in chain[len(cr.approvals) + 1 :] if actor.has(s.role)]
        if later:
            act = (
                "process it"
                if later[0].action == "processed" and verb == "approve"
                else f"{verb} it"
            )
            why = "out of order"
            if step.role == approval.finance_role and cr.content.issues_credit:
                why = f"it issues a credit of ${cr.content.credit_amount:,.2f}"
            raise NotPermitted(
                f"{why}: {cr.id} is waiting for {step.describe()}; {actor.key} "
                f"can {act} only after that, as {later[0].role}"
            )
        if actor.has(approval.finance_role) and not cr.content.issues_credit:
            raise NotPermitted(
                f"{cr.id} issues no credit, so the finance team does not "
                f"{verb} it; it is waiting for {step.describe()}"
            )
        raise NotPermitted(
            f"{cr.id} is waiting for {step.describe()}; {actor.key} does not "
            f"have that role ({_roles(actor)})"
        )
    if actor.key in (cr.created_by, cr.submitted_by):
        did = "created" if actor.key == cr.created_by else "submitted"
        raise NotPermitted(
            f"{actor.key} {did} {cr.id}: nobody may {verb} a change request "
            "they created or submitted"
        )
    earlier = next((a for a in cr.approvals if a.by == actor.key), None)
    if earlier is not None:
        raise NotPermitted(
            f"{actor.key} already approved {cr.id} as {earlier.role}: each step "
            "of the chain needs a different person"
        )
    return step


def _with_content(cr: ChangeRequest, new: Content, event: Event) -> Decision:
    """Apply a content change; approvals given so far no longer hold (the request goes back to
    submitted, and the voiding is a transition of its own)."""
    if not cr.approvals:
        return Decision(replace(cr, content=new), (event,))
    voided = Event(
        "approvals-voided",
        event.role,
        event.by,
        f"{len(cr.approvals)} approval(s) voided by the change: "
        + ", ".join(f"{a.role} by {a.by}" for a in cr.approvals),
    )
    new_cr = replace(cr, content=new, approvals=(), status="submitted")
    return Decision(new_cr, (event, voided), voided=True)


def _diff(old: Content, new: Content) -> dict[str, list[Any]]:
    a, b = old.to_dict(), new.to_dict()
    # `escalated` (the Retention team or not) only follows `escalated_to`
    return {k: [a[k], b[k]] for k in a if a[k] != b[k] and k != "escalated"}


def _roles(actor: Actor) -> str:
    return "roles: " + (", ".join(actor.roles) if actor.roles else "none")
