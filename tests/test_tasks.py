"""Manual tasks through the CLI: listed with owner and instructions, attested by their owner."""

from __future__ import annotations

import json

from conftest import Cli, approved_cr

from adoffboard.cli import EXIT_INPUT, EXIT_NOT_PERMITTED, EXIT_OK

CLIENT = "lakeside-powersports"
TASK = f"{CLIENT}/google-ads-remove-scripts"


def applied(cli: Cli) -> None:
    approved_cr(cli, CLIENT, scope="platform")
    result = cli("run", CLIENT, "-r", "sem-cancellation", "--scope", "platform", "--yes")
    assert result.exit_code in (EXIT_OK, 13), result.output


def listed(cli: Cli, *args: str) -> list[dict]:
    result = cli("--json", "tasks", *args)
    assert result.exit_code == EXIT_OK, result.output
    return json.loads(result.output)


def test_no_run_means_no_tasks(cli: Cli) -> None:
    assert listed(cli) == []
    assert "No outstanding manual tasks" in cli("tasks").output


def test_tasks_list_owner_instructions_and_items(cli: Cli) -> None:
    applied(cli)
    tasks = {t["id"]: t for t in listed(cli, CLIENT)}
    scripts = tasks[TASK]
    assert scripts["owner"] == "sem_specialist" and scripts["owners"] == ["Sam Ortiz"]
    assert scripts["instructions"] and not scripts["done"]
    # the VIDEO campaign the API cannot pause is a manual item of the automated pause step
    video = tasks[f"{CLIENT}/google-ads-pause"]
    assert any("YouTube" in item for item in video["items"])
    text = cli("tasks", CLIENT).output
    assert TASK in text and "SEM Specialist (Sam Ortiz)" in text


def test_attest_by_owner_counts_in_verify_and_leaves_the_list(cli: Cli) -> None:
    applied(cli)
    result = cli("tasks", "done", TASK, "--as", "sam", "--note", "no scripts in the account")
    assert result.exit_code == EXIT_OK, result.output
    assert "Attested" in result.output and "Sam Ortiz" in result.output
    assert TASK not in {t["id"] for t in listed(cli, CLIENT)}
    done = {t["id"]: t for t in listed(cli, CLIENT, "--all")}[TASK]
    assert done["attested_by"] == "Sam Ortiz" and done["note"] == "no scripts in the account"
    report = json.loads(cli("--json", "verify", CLIENT).output)
    check = next(c for c in report["checks"] if c["step_id"] == "google-ads-remove-scripts")
    assert check["status"] == "ATTESTED" and "Sam Ortiz" in check["detail"]


def test_refusals_are_one_line_and_change_nothing(cli: Cli) -> None:
    applied(cli)
    wrong_owner = cli("tasks", "done", TASK, "--as", "dana")
    assert wrong_owner.exit_code == EXIT_NOT_PERMITTED
    assert "owned by the SEM Specialist" in wrong_owner.output
    unknown_person = cli("tasks", "done", TASK, "--as", "nobody")
    assert unknown_person.exit_code == EXIT_INPUT and "unknown person" in unknown_person.output
    for bad in ("nonsense", f"{CLIENT}/no-such-step", "unknown-client/x"):
        result = cli("tasks", "done", bad, "--as", "sam")
        assert result.exit_code == EXIT_INPUT, (bad, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert TASK in {t["id"] for t in listed(cli, CLIENT)}  # still pending


def test_account_manager_steps_are_attested_by_the_clients_manager(cli: Cli) -> None:
    applied(cli)
    result = cli(
        "tasks",
        "done",
        f"{CLIENT}/am-reach-out-specialist",
        "--as",
        "dana.whitfield@agency.example",
        "--note",
        "not needed",
    )
    assert result.exit_code == EXIT_OK, result.output
