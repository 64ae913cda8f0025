"""`adoffboard tasks`: the manual tasks (checklist lines without an API), listed and attested."""

from __future__ import annotations

import click

from adoffboard.commands.common import Ctx, emit_json, local, pass_ctx
from adoffboard.commands.identity import AS_HELP, acting, audit_cli


class _TasksGroup(click.Group):
    """`tasks [CLIENT]` lists; `tasks done ID [--as PERSON]` attests."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            ctx.meta["tasks_client"] = args[0]
            args = args[1:]
        return super().parse_args(ctx, args)


@click.group(
    cls=_TasksGroup,
    invoke_without_command=True,
    subcommand_metavar="[CLIENT] | done ID [--as PERSON] [--note TEXT]",
)
@click.option("--all", "include_done", is_flag=True, help="Include attested tasks.")
@click.pass_context
def tasks(ctx: click.Context, include_done: bool) -> None:
    """Manual tasks (checklist lines without an API): list them, or attest one.

    Lines the change request's own history settles (created, submitted, approved, processed,
    its approval notice sent...) are not listed: verify shows them PASS by whom and when, or
    SKIPPED where they do not apply.

    \b
      adoffboard tasks                         outstanding tasks of every client
      adoffboard tasks CLIENT [--all]          one client's tasks (--all: attested too)
      adoffboard tasks done ID                 attest a task (you must hold its owner role)
    """
    if ctx.invoked_subcommand is not None:
        return
    c: Ctx = ctx.obj
    from adoffboard.tasks import all_tasks
    from adoffboard.verdicts import unsettled

    found = all_tasks(c.workspace, c.store, ctx.meta.get("tasks_client"), include_done=include_done)
    # the lines a change request's history settles (its approvals, its notice...) are no tasks
    found = unsettled(c.workspace, c.store, found)
    if c.as_json:
        emit_json([t.to_dict() for t in found])
        return
    if not found:
        click.echo("No outstanding manual tasks." if not include_done else "No manual tasks.")
        return
    from adoffboard.config import ROLES

    console = c.console()
    for t in found:
        owner = ROLES.get(t.owner, t.owner)
        people = f" ({', '.join(t.owners)})" if t.owners else ""
        state = (
            f"[green]done[/] by {t.attested_by} at {local(c, t.attested_at)}"
            if t.done
            else "[yellow]pending[/]"
        )
        console.print(f"[bold]{t.id}[/]  {state}  owner: {owner}{people}", soft_wrap=True)
        console.print(f"  {t.title}", markup=False, soft_wrap=True)
        console.print(f"  {t.instructions}", markup=False, style="dim", soft_wrap=True)
        for item in t.items:
            console.print(f"    - {item}", markup=False)
        if t.note:
            console.print(f"  note: {t.note}", markup=False)
    pending = sum(1 for t in found if not t.done)
    click.echo(f"\n{pending} pending; attest one with `adoffboard tasks done ID [--note TEXT]`")


@tasks.command("done")
@click.argument("task_id", metavar="ID")
@click.option("--as", "who", metavar="PERSON", help="Who did it. " + AS_HELP)
@click.option("--by", "by", metavar="PERSON", hidden=True, help="Deprecated spelling of --as.")
@click.option("--note", default="", help="What was done, or why it was not needed.")
@pass_ctx
def tasks_done(c: Ctx, task_id: str, who: str | None, by: str | None, note: str) -> None:
    """Attest that a manual task was done."""
    from adoffboard.tasks import attest

    if by is not None:
        click.echo("adoffboard: warning: --by is deprecated: use --as", err=True)
    if who is not None and by is not None and who != by:
        raise click.UsageError("--as and --by name different people: give --as only")
    person = acting(c, who or by).who
    task = attest(c.workspace, c.store, task_id, person.person, note)
    audit_cli(c, person, "task attested", task.id, note)
    if c.as_json:
        emit_json(task.to_dict())
        return
    click.echo(f"Attested {task.id} by {task.attested_by} at {local(c, task.attested_at)}.")
