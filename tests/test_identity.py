"""Who the CLI acts as, through the CLI with a real store (SQLite, and PostgreSQL when reachable):
a strict workspace binds the OS account to one person and refuses --as for anyone else; a personal
token signs the CLI in (`login`, `whoami`), unless expired or revoked; a single-user workspace
takes --as on trust and says so in the audit trail; the change requests' rules still hold."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import tomllib
from pathlib import Path

import pytest
import tomli_w
from conftest import Cli, workspace_today
from cr_support import LAKESIDE, ok, refused
from store_support import empty_pg_url, pg_url, store_url  # noqa: F401  (fixtures)

from adoffboard.audit import events
from adoffboard.cli import EXIT_AUTH, EXIT_INPUT, EXIT_NOT_PERMITTED
from adoffboard.clock import FakeClock, SystemClock
from adoffboard.config import load_workspace
from adoffboard.demo import DEMO_CLIENT
from adoffboard.identity import issue_token, os_user, revoke_token, token_file
from adoffboard.sandbox import Sandbox
from adoffboard.store import Store
from adoffboard.workspace_init import init_workspace

pytestmark = pytest.mark.standins("smtp")
ME = os_user()


def _workspace(
    root: Path,
    sandbox: Sandbox,
    *,
    single_user: bool = False,
    bind: str | None = None,
    store: str | None = None,
) -> Cli:
    init_workspace(
        root,
        platforms={},
        notifications=sandbox.notification_settings(),
        clients=[DEMO_CLIENT],
        single_user=single_user,
    )
    path = root / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    if bind:
        data["people"][bind]["os_users"] = [ME]
    if store:
        data["workspace"]["store"] = store
    path.write_text(tomli_w.dumps(data))
    return Cli(root)


def _store(cli: Cli) -> Store:
    return Store.open(load_workspace(cli.workspace).store_url)


def _audit(cli: Cli) -> list[dict[str, str]]:
    with _store(cli) as store:
        return [e.to_dict() for e in events(store, limit=100)]


def _new(cli: Cli, *extra: str) -> object:
    today = workspace_today(cli.workspace)
    return cli("--json", "cr", "new", LAKESIDE, "--type", "cancellation", "--scope", "dm",
               "--effective", today, *extra)  # fmt: skip


def _listed(cli: Cli) -> list[object]:
    return list(json.loads(ok(cli("--json", "cr", "list")).output))


# --- a strict workspace: the OS account is bound to one person ---------------------------------


def test_strict_workspace_refuses_acting_for_someone_else(
    tmp_path: Path,
    sandbox: Sandbox,
    store_url: str,  # noqa: F811
) -> None:
    cli = _workspace(tmp_path / "ws", sandbox, bind="dana", store=store_url)

    refused(_new(cli, "--as", "jeremy"), EXIT_NOT_PERMITTED, "refused: you are signed in as dana")
    result = _new(cli, "--as", "jeremy")
    assert f"(OS user {ME!r}); --as jeremy acts for someone else" in result.output
    assert "[identity] single_user = false" in result.output
    assert _listed(cli) == [] and _audit(cli) == []  # nothing changed anywhere

    first = json.loads(ok(_new(cli)).output)  # no --as: the bound person
    second = json.loads(ok(_new(cli, "--as", "dana")).output)  # naming oneself is fine
    assert first["created_by"] == second["created_by"] == "dana"
    ok(cli("cr", "submit", first["id"]))
    trail = _audit(cli)
    assert [(e["person"], e["via"], e["basis"], e["action"], e["subject"]) for e in trail] == [
        ("dana", "cli", "os-user", "cr submitted", first["id"]),
        ("dana", "cli", "os-user", "cr created", second["id"]),
        ("dana", "cli", "os-user", "cr created", first["id"]),
    ]

    # the bound person cannot approve (no such role): the rules still decide
    refused(cli("cr", "approve", first["id"]), EXIT_NOT_PERMITTED, "")
    refused(cli("cr", "approve", first["id"], "--as", "jeremy"), EXIT_NOT_PERMITTED, "refused:")
    assert len(_audit(cli)) == 3


def test_whoami_names_the_bound_person(tmp_path: Path, sandbox: Sandbox) -> None:
    cli = _workspace(tmp_path / "ws", sandbox, bind="amy")
    me = json.loads(ok(cli("--json", "whoami")).output)
    assert (me["person"], me["basis"], me["roles"]) == ("amy", "os-user", ["retention"])
    assert ME in me["how"]
    assert "amy (Amy, amy@agency.example): Retention team" in ok(cli("whoami")).output


def test_nobody_bound_is_told_how_to_bind(tmp_path: Path, sandbox: Sandbox) -> None:
    cli = _workspace(tmp_path / "ws", sandbox)
    refused(_new(cli), EXIT_NOT_PERMITTED, f"add {ME!r} to your [people.KEY] os_users")
    refused(_new(cli, "--as", "dana"), EXIT_NOT_PERMITTED, "`adoffboard login`")
    refused(cli("whoami"), EXIT_NOT_PERMITTED, "is in nobody's os_users")
    refused(_new(cli, "--as", "ghost"), EXIT_INPUT, "unknown person 'ghost'")
    assert _listed(cli) == []


def test_schedule_and_tasks_take_the_bound_person_too(tmp_path: Path, sandbox: Sandbox) -> None:
    cli = _workspace(tmp_path / "ws", sandbox, bind="amy")
    refused(
        cli("tasks", "done", f"{LAKESIDE}/x", "--as", "dana"),
        EXIT_NOT_PERMITTED,
        "--as dana acts for someone else",
    )
    refused(
        cli("schedule", "cancel", "S-0001", "--as", "dmo-lead", "--reason", "r"),
        EXIT_NOT_PERMITTED,
        "--as dmo-lead acts for someone else",
    )
    # amy herself may not change the schedule: her role says so, not the binding
    refused(cli("schedule", "retry", "S-0001"), EXIT_NOT_PERMITTED, "Amy (amy) may not change the")


# --- personal tokens ---------------------------------------------------------------------------


def test_a_token_signs_the_cli_in(tmp_path: Path, sandbox: Sandbox) -> None:
    cli = _workspace(tmp_path / "ws", sandbox, bind="dana")  # the token outranks the OS user
    with _store(cli) as store:
        token_id, secret = issue_token(store, "jeremy", SystemClock(), "console")
    ok(cli("login", "--token-stdin", input=secret + "\n"))
    saved = token_file(load_workspace(cli.workspace))
    assert saved.read_text().strip() == secret
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600

    me = json.loads(ok(cli("--json", "whoami")).output)
    assert (me["person"], me["basis"], me["token_id"]) == ("jeremy", "token", token_id)
    refused(_new(cli, "--as", "dana"), EXIT_NOT_PERMITTED, f"(personal token {token_id})")

    with _store(cli) as store, store.transaction() as conn:  # the secret is not in the store
        rows = conn.exec_driver_sql("SELECT * FROM personal_tokens").fetchall()
    assert secret not in repr(rows)

    assert "token " + token_id + " revoked" in ok(cli("logout", "--revoke")).output
    assert not saved.exists()
    assert json.loads(ok(cli("--json", "whoami")).output)["person"] == "dana"  # the OS user again
    refused(cli("login", "--token-stdin", input=secret), EXIT_AUTH, "was revoked")
    assert not saved.exists()


def test_expired_revoked_and_unknown_tokens_are_refused(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = _workspace(tmp_path / "ws", sandbox)
    past = FakeClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with _store(cli) as store:
        _, expired = issue_token(store, "jeremy", past, "console", days=1)
        revoked_id, revoked = issue_token(store, "dustin", SystemClock(), "console")
        assert revoke_token(store, revoked_id, SystemClock())
        _, valid = issue_token(store, "dustin", SystemClock(), "console")

    refused(cli("login", "--token-stdin", input=expired), EXIT_AUTH, "expired at 2026-01-02")
    refused(cli("login", "--token-stdin", input=revoked), EXIT_AUTH, "was revoked")
    refused(cli("login", "--token-stdin", input="adb_nothing"), EXIT_AUTH, "unknown")
    refused(cli("login", "--token-stdin", input="hunter2"), EXIT_AUTH, "not a personal token")
    refused(cli("login", "--token-stdin", input=""), EXIT_INPUT, "no token given")
    assert not token_file(load_workspace(cli.workspace)).exists()

    monkeypatch.setenv("ADOFFBOARD_TOKEN", expired)
    refused(cli("whoami"), EXIT_AUTH, "ADOFFBOARD_TOKEN: the personal token")
    refused(_new(cli, "--as", "jeremy"), EXIT_AUTH, "expired")
    monkeypatch.setenv("ADOFFBOARD_TOKEN", valid)
    assert json.loads(ok(cli("--json", "whoami")).output)["person"] == "dustin"
    assert _listed(cli) == []


def test_a_saved_token_others_may_read_is_not_used(tmp_path: Path, sandbox: Sandbox) -> None:
    cli = _workspace(tmp_path / "ws", sandbox, bind="dana")
    with _store(cli) as store:
        _, secret = issue_token(store, "jeremy", SystemClock(), "console")
    ok(cli("login", "--token-stdin", input=secret))
    os.chmod(token_file(load_workspace(cli.workspace)), 0o644)
    refused(cli("whoami"), EXIT_AUTH, "may be read by other accounts")
    ok(cli("logout"))  # signing out still works, and is the fix
    assert not token_file(load_workspace(cli.workspace)).exists()
    assert json.loads(ok(cli("--json", "whoami")).output)["person"] == "dana"


# --- a single-user workspace: --as on trust, audited as such ------------------------------------


def test_single_user_takes_as_on_trust_and_the_rules_still_hold(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    cli = _workspace(tmp_path / "ws", sandbox, single_user=True)
    refused(_new(cli), EXIT_INPUT, "say who acts with --as PERSON")
    cr_id = json.loads(ok(_new(cli, "--as", "dana")).output)["id"]
    ok(cli("cr", "submit", cr_id, "--as", "dana"))
    refused(cli("cr", "approve", cr_id, "--as", "dana"), EXIT_NOT_PERMITTED, "")  # self-approval
    refused(cli("cr", "approve", cr_id, "--as", "dustin"), EXIT_NOT_PERMITTED, "")  # out of order
    ok(cli("cr", "approve", cr_id, "--as", "jeremy", "--note", "fine"))
    trail = _audit(cli)
    assert [(e["person"], e["basis"], e["action"], e["detail"]) for e in trail] == [
        ("jeremy", "single-user", "cr approved", "fine"),
        ("dana", "single-user", "cr submitted", ""),
        ("dana", "single-user", "cr created", ""),
    ]
    me = json.loads(ok(cli("--json", "whoami", "--as", "finance")).output)
    assert (me["person"], me["basis"]) == ("finance", "single-user")


def test_single_user_with_a_bound_person_still_takes_as(tmp_path: Path, sandbox: Sandbox) -> None:
    cli = _workspace(tmp_path / "ws", sandbox, single_user=True, bind="dana")
    assert json.loads(ok(cli("--json", "whoami")).output)["basis"] == "os-user"
    me = json.loads(ok(cli("--json", "whoami", "--as", "jeremy")).output)
    assert (me["person"], me["basis"]) == ("jeremy", "single-user")


def test_init_is_strict_unless_asked(tmp_path: Path, sandbox: Sandbox) -> None:
    cli = Cli(tmp_path / "ws")
    out = ok(cli("init", str(tmp_path / "strict"))).output
    assert f'os_users = ["{ME}"]' in out
    strict = tomllib.loads((tmp_path / "strict" / "adoffboard.toml").read_text())
    ok(cli("init", "--single-user", str(tmp_path / "solo")))
    solo = tomllib.loads((tmp_path / "solo" / "adoffboard.toml").read_text())
    assert strict["identity"]["single_user"] is False and solo["identity"]["single_user"] is True
