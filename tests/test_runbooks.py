"""The runbooks implement the seed checklists line by line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from adoffboard.errors import InputError, NotFound
from adoffboard.manifest import YamlLoader, load_yaml
from adoffboard.runbook import load_runbook, parse_runbook

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SEM_SEED = SEEDS / "001_24b26c088ea3adda.txt"
MA_SEED = SEEDS / "000_c18721383a5fca1f.txt"

# Lines of the cancellation sections that belong to other processes (budget addendum, pause: the
# MA contract-pause lines are checked against ma-pause below).
OTHER_PROCESSES = {
    "An Account Manager will create and send out the Addendum to the client",
    "Currently this is being done through DocuSign, but eventually this will happen in the CRM",
    "Once the Account Manager has the signed addendum they will fill out a change request (but no save attempt)",
    "The account manager will submit the change request for approval with the attached addendum/budget change",
    "For Addendums (Budget Changes)",
    "The Digital Marketing Operations Lead reviews the email then forwards the signed addendum to the SEM Specialist",
    "Update the MA Client Sheet to reflect the client has paused",
    "Confirm end pause date with Account Manager",
    "If no end pause date established, work with the Account Manager to set one, as well as a reminder for un-pausing!",
}
APPROVAL_HEAD = "Once submitted, the change request first goes to Jeremy Bliesner for approval"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(":")


def seed_lines(path: Path, start: str) -> list[str]:
    """The bullet lines from the section starting at `start`, plus the approval bullets."""
    text = path.read_text(encoding="utf-8")
    bullets = lambda chunk: [_norm(m) for m in re.findall(r"•\s*(.+)", chunk)]  # noqa: E731
    section = text[text.index(start) :]
    approval = text[
        text.index(APPROVAL_HEAD) - 10 : text.index("Digital Marketing Operations Team")
    ]
    lines = bullets(section) + bullets(approval)
    return [
        line for line in dict.fromkeys(lines) if line not in {_norm(o) for o in OTHER_PROCESSES}
    ]


@pytest.mark.parametrize(
    "runbook,seed,start",
    [
        (
            "sem-cancellation",
            SEM_SEED,
            "Cancellation / Contract Pause / Addendums (Budget Changes)",
        ),
        ("ma-cancellation", MA_SEED, "Cancellation / Contract Pause\n"),
    ],
    ids=["sem", "ma"],
)
def test_every_checklist_line_is_a_step(runbook: str, seed: Path, start: str) -> None:
    book = load_runbook(runbook, None)
    covered = {_norm(line) for step in book.model.steps for line in step.lines}
    missing = [line for line in seed_lines(seed, start) if line not in covered]
    assert not missing, f"{runbook} misses checklist lines: {missing}"


def test_sem_google_ads_lines_are_automated() -> None:
    book = load_runbook("sem-cancellation", None)
    auto = {
        s.id: s.action.name
        for s in book.model.steps
        if s.action and s.action.connector == "google_ads"
    }
    assert auto == {
        "juniper-google-ads": "unlink_account",
        "google-ads-pause": "pause_campaigns",
        "google-ads-budgets": "budgets_to_floor",
        "google-ads-hide": "hide_account",
    }


def test_sem_meta_line_is_automated() -> None:
    book = load_runbook("sem-cancellation", None)
    steps = {s.id: s for s in book.model.steps if s.action and s.action.connector == "meta"}
    assert {i: s.action.name for i, s in steps.items()} == {
        "meta-remove-agency": "remove_agency",
        "meta-pause": "pause_campaigns",
        "meta-disable-rules": "disable_rules",
    }
    assert steps["meta-remove-agency"].when == "leaving_platform"
    assert steps["meta-remove-agency"].owner == "juniper"
    assert all(s.if_manifest == "meta" for s in steps.values())
    assert not any(s.id == "meta-pause" and s.manual for s in book.model.steps)


def test_every_step_has_an_owner_and_verification() -> None:
    for name in ("sem-cancellation", "ma-cancellation", "ma-pause", "ma-unpause"):
        for step in load_runbook(name, None).model.steps:
            assert step.owner and step.verify, step.id


@pytest.mark.parametrize(
    "text,expected",
    [
        (b"name: [", "not valid YAML"),
        (b"- a\n- b\n", "must be a mapping"),
        (
            b"name: x\nversion: 1\ntitle: t\ndepartment: SEM\nprocess: cancellation\nsource: s\n"
            b"steps:\n- {id: a1, title: t, department: SEM, owner: nobody, timing: immediately,"
            b" manual: {instructions: i}, verify: v}\n",
            "owner 'nobody'",
        ),
        (
            b"name: x\nversion: 1\ntitle: t\ndepartment: SEM\nprocess: cancellation\nsource: s\n"
            b"steps:\n- {id: a1, title: t, department: SEM, owner: juniper, timing: immediately,"
            b" verify: v}\n",
            "exactly one of",
        ),
        (
            b"name: x\nversion: 1\ntitle: t\ndepartment: SEM\nprocess: cancellation\nsource: s\n"
            b"steps:\n- {id: a1, title: t, department: SEM, owner: juniper, timing: immediately,"
            b" action: {connector: google_ads, name: explode}, verify: v}\n",
            "no action 'explode'",
        ),
    ],
    ids=["yaml", "not-mapping", "bad-owner", "no-kind", "bad-action"],
)
def test_malformed_runbooks_are_reported(text: bytes, expected: str) -> None:
    book, problems = parse_runbook(text, "rb.yaml")
    assert book is None
    assert any(expected in str(p) for p in problems), problems


def test_unknown_runbook(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="unknown runbook 'nope'"):
        load_runbook("nope", tmp_path)


def test_workspace_runbook_overrides_and_errors(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "sem-cancellation.yaml").write_text("name: [")
    with pytest.raises(InputError, match="not valid YAML"):
        load_runbook("sem-cancellation", tmp_path)


# Every cancellation/offboarding line and how PLATFORMS.md says it can be done: "api" lines must be
# carried out by an automated step (or one automated as soon as its connector is configured:
# `action_if_configured`), "manual" lines by an owned manual step. Lines done by adoffboard's
# change-request workflow (`adoffboard cr`, approval notice, reminders) stay owned manual steps of
# the runbook, attested by their owner.
API = "api"
MANUAL = "manual"
EXPECTED = {
    "sem-cancellation": {
        "Immediately create a Change Request": MANUAL,
        "Reach out the SEM Specialist": MANUAL,
        "If the Retention Team was not involved": MANUAL,
        "Amy or Anglee will submit": MANUAL,
        "Pause their ads based on the date": API,
        "The email contains a link": MANUAL,
        "The Digital Marketing Operations Lead reviews": MANUAL,
        "The Digital Marketing Operations Lead adds the client": API,
        "Remind the SEM Team": MANUAL,
        "The Digital Marketing Operations Lead will then": MANUAL,
        "Remove the canceled client's information": API,
        "Update the DigMS Offboarding": API,
        "SEM QA Trello Board": API,
        "Ninja Cat": API,
        "Google Ads (only": API,
        "Google Analytics": API,
        "Google Search Console": API,
        "Google Tag Manager": API,
        "Pause Google Ad campaigns": API,
        "Disable all scripts": MANUAL,
        "Pause and change budgets to $.01 in Microsoft": API,
        "Pause in Facebook": API,
        "Place a HOLD on the Fluency": API,
        "Once submitted": MANUAL,
        "Once approved by Jeremy Bliesner, the": MANUAL,
        "If a credit": MANUAL,
        "Once approved by Jeremy Bliesner and": MANUAL,
    },
    "ma-cancellation": {
        "Immediately create a Change Request": MANUAL,
        "Reach out the MA Specialist": MANUAL,
        "If the Retention Team was not involved": MANUAL,
        "Amy or Anglee will submit": MANUAL,
        "Update the MA Client Tracker": API,
        "Remove the canceled client from the MA": API,
        "The email contains a link": MANUAL,
        "The Digital Marketing Operations Lead reviews": MANUAL,
        "The Digital Marketing Operations Lead adds the client": API,
        "Remind the MA Team": MANUAL,
        "The Digital Marketing Operations Lead will update": MANUAL,
        "Update the DigMS Offboarding": API,
        "Remove cancelled client from the MA": API,
        "Remove the cancelled client from the Belize": API,
        "Final export from SharpSpring": API,
        "Send final email list": API,
        "Deactivate SharpSpring account": MANUAL,
        "Once submitted": MANUAL,
        "Once approved by Jeremy Bliesner, the": MANUAL,
        "If a credit": MANUAL,
        "Once approved by Jeremy Bliesner and": MANUAL,
    },
}


@pytest.mark.parametrize(
    "runbook,seed,start",
    [
        (
            "sem-cancellation",
            SEM_SEED,
            "Cancellation / Contract Pause / Addendums (Budget Changes)",
        ),
        ("ma-cancellation", MA_SEED, "Cancellation / Contract Pause\n"),
    ],
    ids=["sem", "ma"],
)
def test_each_line_is_automated_where_an_api_exists_else_an_owned_manual_task(
    runbook: str, seed: Path, start: str
) -> None:
    book = load_runbook(runbook, None)
    lines = seed_lines(seed, start)
    expected = EXPECTED[runbook]
    for line in lines:
        [kind] = [k for prefix, k in expected.items() if line.startswith(prefix)] or [None]
        assert kind is not None, f"{runbook}: no expectation for {line!r}"
        steps = [s for s in book.model.steps if line in {_norm(x) for x in s.lines}]
        assert steps, f"{runbook}: no step for {line!r}"
        automated = [s for s in steps if s.action is not None or s.action_if_configured]
        if kind == API:
            assert automated, f"{runbook}: {line!r} has an API but no automated step"
        else:
            assert not automated and all(s.manual and s.owner for s in steps), line
    assert len(lines) == len(expected), "a checklist line was added or removed: map it above"


# A contract pause: the change-request lines it shares with a cancellation, and its own block
# (each block runs from `start` to `end` in the seed).
PAUSES = {
    "ma-pause": (
        MA_SEED,
        (
            ("Cancellation / Contract Pause\n", "For a cancellation:"),
            ("For a contract pause:", "The approval process for"),
        ),
        {
            "Immediately create a Change Request": MANUAL,
            "Reach out the MA Specialist": MANUAL,
            "If the Retention Team was not involved": MANUAL,
            "Amy or Anglee will submit": MANUAL,
            "Update the MA Client Sheet to reflect the client has paused": API,
            "Confirm end pause date": MANUAL,
            "If no end pause date established": MANUAL,
        },
    ),
}


@pytest.mark.parametrize("runbook", sorted(PAUSES))
def test_each_pause_line_is_a_step_automated_where_an_api_exists(runbook: str) -> None:
    seed, blocks, expected = PAUSES[runbook]
    text = seed.read_text(encoding="utf-8")
    lines = [
        _norm(m)
        for start, end in blocks
        for m in re.findall(r"•\s*(.+)", text[text.index(start) : text.index(end)])
    ]
    book = load_runbook(runbook, None)
    for line in lines:
        [kind] = [k for prefix, k in expected.items() if line.startswith(prefix)] or [None]
        assert kind is not None, f"{runbook}: no expectation for {line!r}"
        steps = [s for s in book.model.steps if line in {_norm(x) for x in s.lines}]
        assert steps, f"{runbook} misses checklist line {line!r}"
        automated = [s for s in steps if s.action is not None]
        if kind == API:
            assert automated, f"{runbook}: {line!r} has an API but no automated step"
        else:
            assert not automated and all(s.manual and s.owner for s in steps), line
    assert len(lines) == len(expected), "a checklist line was added or removed: map it above"


# Scalars whose type YAML infers, anchors, block strings: what a manifest or runbook may hold.
TRICKY_YAML = """
name: sem-x
on: yes
off: No
octal: 0o17
old_octal: 017
hex: 0x1F
float: 1e3
inf: .inf
date: 2026-12-01
stamp: 2026-12-01 10:00:00+01:00
empty:
tilde: ~
quoted: "2026-12-01"
anchor: &a {k: [1, 2.5, "x"]}
alias: *a
folded: >
  one
  two
literal: |
  keep
    this
unicode: "caf\u00e9 \U0001f600"
"""


def test_workspace_yaml_reads_the_same_with_libyaml_as_with_pure_python() -> None:
    """Runbooks and manifests are parsed with libyaml when PyYAML has it, to the very same data
    as PyYAML's pure-Python safe loader."""
    if yaml.__with_libyaml__:
        assert YamlLoader is yaml.CSafeLoader
    shipped = sorted((Path(__file__).resolve().parents[1] / "runbooks").glob("*.yaml"))
    assert shipped
    docs = [(p.name, p.read_bytes()) for p in shipped] + [("tricky.yaml", TRICKY_YAML.encode())]
    for name, raw in docs:
        assert load_yaml(raw, name) == yaml.load(raw.decode(), Loader=yaml.SafeLoader), name
    tricky = load_yaml(TRICKY_YAML.encode(), "t")
    assert (tricky[True], tricky["old_octal"], tricky["octal"]) == (True, 15, "0o17")  # YAML 1.1


def test_bad_yaml_is_still_a_problem_not_a_crash() -> None:
    _book, problems = parse_runbook(b"name: x\nsteps: [1\nversion: 2\n", "x.yaml")
    assert [p.message for p in problems] == ["not valid YAML"]
    with pytest.raises(yaml.YAMLError):
        load_yaml(b"a: 'unterminated\n", "a.yaml")
