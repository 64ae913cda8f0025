"""The `adoffboard` command line: parse, call the core, render, exit.

Exceptions become exit codes here and only here (`EXIT_CODES`). Heavy modules (pydantic, the
SDKs, SQLAlchemy) are imported inside commands so that `adoffboard --help` stays instant.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

# Documented in README.md ("Exit codes"); one table, one place.
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_SAFETY = 4
EXIT_AUTH = 5
EXIT_PLATFORM = 6
EXIT_TRANSIENT = 7
EXIT_STORE = 8
EXIT_NOT_PERMITTED = 9
EXIT_DRIFT = 10
EXIT_FAILED_CHANGES = 11
EXIT_VERIFY_FAIL = 12
EXIT_VERIFY_PENDING = 13
EXIT_INTERRUPTED = 130

PRIVATE_UMASK = 0o077  # while a command runs: new files 0600, new folders 0700
_RAW_ARGS = "adoffboard.raw_args"

EXIT_CODES: list[tuple[str, int]] = [  # most specific first
    ("TransientError", EXIT_TRANSIENT),
    ("PlatformError", EXIT_PLATFORM),
    ("AuthError", EXIT_AUTH),
    ("SafetyRefusal", EXIT_SAFETY),
    ("StoreError", EXIT_STORE),
    ("NotPermitted", EXIT_NOT_PERMITTED),
    ("InputError", EXIT_INPUT),
]


class Ctx:
    def __init__(self, workspace: Path | None, as_json: bool, quiet: bool) -> None:
        self.workspace_dir = workspace
        self.as_json = as_json
        self.quiet = quiet
        self._ws: Any = None
        self._store: Any = None

    @property
    def workspace(self) -> Any:
        if self._ws is None:
            from adoffboard.config import load_workspace

            self._ws = load_workspace(self.workspace_dir or Path.cwd())
        return self._ws

    @property
    def store(self) -> Any:
        if self._store is None:
            from adoffboard.store import Store

            self._store = Store.open(self.workspace.store_url)
        return self._store

    def env(self, progress: Callable[[str, str], None] | None = None) -> Any:
        from adoffboard.engine import Env

        return Env(self.workspace, progress=progress or (lambda p, m: None))

    def console(self, stderr: bool = False) -> Any:
        from rich.console import Console

        return Console(stderr=stderr, highlight=False)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def fail(code: int, message: str) -> NoReturn:
    click.echo(f"adoffboard: error: {message}", err=True)
    sys.exit(code)


def exit_code_for(exc: BaseException) -> int:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return next((code for name, code in EXIT_CODES if name in names), EXIT_INTERNAL)


class Group(click.Group):
    """Turns adoffboard's exceptions into one-line errors and documented exit codes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta.setdefault(_RAW_ARGS, list(args))  # the outermost group sees every argument
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from adoffboard.errors import AdoffboardError

        # Files adoffboard writes hold client data: private even where a write path forgets it
        # (adoffboard.files sets 0600/0700 explicitly); the caller's umask is put back after.
        umask = os.umask(PRIVATE_UMASK)
        try:
            _refuse_undecodable(ctx)
            return super().invoke(ctx)
        except AdoffboardError as exc:
            fail(exit_code_for(exc), str(exc))
        except KeyboardInterrupt:
            fail(EXIT_INTERRUPTED,
                 "interrupted; an apply can be finished with `adoffboard resume RUN`")
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug: one line by default, the traceback on request
            if os.environ.get("ADOFFBOARD_DEBUG"):
                raise
            fail(EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {exc} "
                                "(set ADOFFBOARD_DEBUG=1 for the traceback)")
        finally:
            os.umask(umask)
            if isinstance(ctx.obj, Ctx):
                ctx.obj.close()


def _refuse_undecodable(ctx: click.Context) -> None:
    """An argument that is not valid text (bytes the locale cannot decode) is refused here, in
    one line, rather than failing deep inside as an encoding error."""
    from adoffboard.errors import InputError

    for text in ctx.meta.get(_RAW_ARGS, ()):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            shown = text.encode("utf-8", "backslashreplace").decode("utf-8")
            raise InputError(f"argument {shown!r} is not valid UTF-8 text") from None
        if "\x00" in text:
            raise InputError(f"argument {text!r} contains a NUL character") from None


pass_ctx = click.make_pass_decorator(Ctx)


class BoundedInt(click.ParamType):  # type: ignore[type-arg]
    """A whole number between `low` and `high`; anything else is bad input (exit 3, one line)
    rather than a usage error or a number too large for the store."""

    name = "integer"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> int:
        from adoffboard.errors import InputError

        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                number = None
        where = param.opts[-1] if param is not None and param.opts else "value"
        if number is None or not self.low <= number <= self.high:
            raise InputError(f"{where} {value!r} must be a whole number from {self.low} to "
                             f"{self.high}")
        return number


def plan_output(value: str | None) -> Path | None:
    """`-o FILE`, refused up front when it cannot be a file (empty, a folder)."""
    from adoffboard.errors import InputError

    if value is None:
        return None
    if not value.strip():
        raise InputError("-o/--output needs a file name, e.g. plans/lakeside.json")
    path = Path(value)
    if path.is_dir() or path.name in ("", ".", ".."):
        raise InputError(f"-o/--output {value!r} is a folder: give a file name inside it")
    return path


def save_plan_file(the_plan: Any, path: Path, key: bytes | None) -> Path:
    """Save a plan (signed with `key`), an unwritable path being bad input (one line)."""
    from adoffboard.engine import save_plan
    from adoffboard.errors import InputError

    try:
        return save_plan(the_plan, path, key)
    except OSError as exc:
        raise InputError(f"cannot write the plan file {path}: {exc.strerror or exc}") from exc


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"],
                                          "auto_envvar_prefix": "ADOFFBOARD"})
@click.option("-w", "--workspace", type=click.Path(file_okay=False, path_type=Path),
              help="Workspace folder (default: the current folder or its nearest parent with "
                   "adoffboard.toml).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
@click.version_option(package_name="adoffboard")
@click.pass_context
def main(ctx: click.Context, workspace: Path | None, as_json: bool, quiet: bool) -> None:
    """Offboard a client from the agency's ad and marketing platforms.

    \b
    Typical use:
      adoffboard cr new CLIENT --type cancellation --as P   a change request, then its approvals
      adoffboard plan CLIENT --runbook sem-cancellation     dry run: writes nothing anywhere
      adoffboard apply plans/PLAN.json                      apply exactly that plan
      adoffboard verify CLIENT                              read-only PASS/FAIL per line
      adoffboard run CLIENT --runbook sem-cancellation      all three, with a confirmation
      adoffboard demo                                       try it against the local sandbox
    """
    ctx.obj = Ctx(workspace, as_json, quiet)


# --- output helpers ---------------------------------------------------------------------------


def emit_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, default=str))


class ProgressView:
    """Live progress per platform on stderr (plain lines when not a terminal)."""

    def __init__(self, c: Ctx) -> None:
        self.enabled = not c.quiet
        self.console = c.console(stderr=True)
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> ProgressView:
        if self.enabled and self.console.is_terminal:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[who]:<12}"),
                                      TextColumn("{task.description}"), TimeElapsedColumn(),
                                      console=self.console, transient=False)
            self._progress.start()
        return self

    def __call__(self, who: str, message: str) -> None:
        if not self.enabled:
            return
        if self._progress is None:
            self.console.print(f"[{who}] {message}", markup=False)
            return
        if who not in self._tasks:
            self._tasks[who] = self._progress.add_task(message, total=None, who=who)
        else:
            self._progress.update(self._tasks[who], description=message)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def render_summary(c: Ctx, report: Any, paths: dict[str, Path] | None = None) -> None:
    from adoffboard.reports import render_markdown

    if c.as_json:
        import json

        from adoffboard.reports import render_json

        data = json.loads(render_json(report))
        if paths:
            data["report_files"] = {k: str(v) for k, v in paths.items()}
        emit_json(data)
        return
    console = c.console()
    from rich.markdown import Markdown

    text = render_markdown(report)
    cut = text.find("\n## ", text.find("## ") + 3)
    console.print(Markdown(text[:cut] if cut > 0 else text))
    if paths:
        console.print(f"Full report: {paths['md']}  (also {paths['html'].name}, "
                      f"{paths['json'].name})", markup=False)


# --- init, clients, runbooks ------------------------------------------------------------------


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing adoffboard.toml.")
def init(directory: Path, force: bool) -> None:
    """Create a workspace: adoffboard.toml (roles, approval chain, distribution list, credential
    references, store, time zone) and an example client manifest."""
    from adoffboard.workspace_init import init_workspace

    path = init_workspace(directory, force=force)
    click.echo(f"Created {path} and {directory / 'clients'}/lakeside-powersports.yaml")
    click.echo("Next: edit the people and platforms, then `adoffboard clients validate`.")


@main.group()
def clients() -> None:
    """List, show and validate client manifests."""


@clients.command("list")
@pass_ctx
def clients_list(c: Ctx) -> None:
    """List the workspace's clients."""
    from adoffboard.config import read_manifest

    rows = []
    for slug in c.workspace.client_slugs():
        manifest, problems = read_manifest(c.workspace.clients_dir / f"{slug}.yaml")
        rows.append({"slug": slug, "name": manifest.name if manifest else "",
                     "valid": not problems,
                     "platforms": [k for k in ("google_ads", "microsoft_ads", "meta", "ga4",
                                               "search_console", "tag_manager", "sharpspring",
                                               "trello")
                                   if manifest and getattr(manifest.model, k) is not None]})
    if c.as_json:
        emit_json(rows)
        return
    from rich.table import Table

    table = Table("client", "name", "platforms", "valid")
    for r in rows:
        table.add_row(r["slug"], r["name"], ", ".join(r["platforms"]),
                      "yes" if r["valid"] else "[red]no[/red]")
    c.console().print(table)


@clients.command("show")
@click.argument("slug")
@pass_ctx
def clients_show(c: Ctx, slug: str) -> None:
    """Show one client's manifest."""
    manifest = c.workspace.load_client(slug)
    data = manifest.model.model_dump(exclude_none=True)
    if c.as_json:
        emit_json({**data, "sha256": manifest.sha256})
        return
    import yaml

    click.echo(f"# {manifest.path} (sha256 {manifest.sha256[:12]})")
    click.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


@clients.command("validate")
@click.argument("slugs", nargs=-1)
@pass_ctx
def clients_validate(c: Ctx, slugs: tuple[str, ...]) -> None:
    """Validate every manifest (or the ones named), each against the others (an account belongs
    to one client), and the workspace's own runbooks; report every problem at once."""
    from adoffboard.config import SLUG, read_manifest
    from adoffboard.errors import InputError, NotFound
    from adoffboard.runbook import workspace_runbook_problems

    problems: list[Any] = []
    names = slugs or tuple(c.workspace.client_slugs())
    for slug in names:
        if not SLUG.match(slug):
            raise InputError(f"client {slug!r} is not a valid slug (lowercase letters, digits "
                             "and dashes)")
        path = c.workspace.clients_dir / f"{slug}.yaml"
        if not path.is_file():
            raise NotFound(f"unknown client {slug!r}")
        manifest, found = read_manifest(path)
        problems += found if manifest is None else c.workspace.shared_accounts(manifest)
    problems += workspace_runbook_problems(c.workspace.root)
    if c.as_json:
        emit_json({"checked": list(names), "problems": [p.__dict__ for p in problems]})
    else:
        for p in problems:
            click.echo(str(p))
        click.echo(f"{len(names)} manifest(s) checked, {len(problems)} problem(s)")
    if problems:
        sys.exit(EXIT_INPUT)


@main.group()
def runbooks() -> None:
    """List runbooks and show one as the checklist it implements."""


@runbooks.command("list")
@pass_ctx
def runbooks_list(c: Ctx) -> None:
    """List available runbooks."""
    from adoffboard.runbook import available, load_runbook

    root = c.workspace.root if _has_workspace(c) else None
    books = [load_runbook(n, root) for n in available(root)]
    if c.as_json:
        emit_json([{"name": b.name, "version": b.version, "title": b.model.title,
                    "steps": len(b.model.steps)} for b in books])
        return
    for b in books:
        auto = sum(1 for s in b.model.steps if s.action)
        click.echo(f"{b.name:<20} v{b.version}  {b.model.title} "
                   f"({len(b.model.steps)} steps, {auto} automated)")


def _has_workspace(c: Ctx) -> bool:
    from adoffboard.errors import InputError

    try:
        _ = c.workspace
        return True
    except InputError:
        return False


@runbooks.command("show")
@click.argument("name")
@pass_ctx
def runbooks_show(c: Ctx, name: str) -> None:
    """Print a runbook as the checklist it implements."""
    from adoffboard.config import ROLES
    from adoffboard.runbook import load_runbook

    book = load_runbook(name, c.workspace.root if _has_workspace(c) else None)
    if c.as_json:
        emit_json(book.model.model_dump())
        return
    m = book.model
    click.echo(f"{m.title} - {m.name} v{m.version}\nSource checklist: {m.source}\n")
    section = None
    for step in m.steps:
        if step.section != section:
            section = step.section
            click.echo(f"\n{section}")
        kind = (f"auto: {step.action.connector}.{step.action.name}" if step.action
                else "manual" + (f", automation planned: {step.automation_planned}"
                                 if step.automation_planned else ""))
        cond = " | only if leaving the platform" if step.when == "leaving_platform" else ""
        applies = f" | if the client has {step.if_manifest}" if step.if_manifest else ""
        part = f" [{step.part}]" if step.part else ""
        click.echo(f"  [ ] {step.title}{part}")
        click.echo(f"      {step.id} | {ROLES[step.owner]} | {step.timing.replace('_', ' ')}"
                   f"{cond}{applies} | {kind}")
        for line in step.covers:
            click.echo(f"      also covers: {line}")


# --- plan, apply, verify, run, resume, history ------------------------------------------------


def budget_change_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--addendum-ref", default="",
                      help="Reference of the signed addendum (budget addendums).")(fn)
    return click.option(
        "--budget-change", multiple=True, metavar="monthly=AMOUNT | CAMPAIGN=AMOUNT",
        help="Budget addendums: a new monthly total, or a daily amount per campaign (id or "
             "name), in the account's currency; repeat for several campaigns.")(fn)


def _inputs(budget_change: tuple[str, ...], addendum_ref: str) -> dict[str, Any]:
    from adoffboard.connectors.addendum import parse_cli_budget_change

    change = parse_cli_budget_change(budget_change, addendum_ref)
    return {"budget_change": change} if change else {}


def _report_paths(c: Ctx, report: Any) -> dict[str, Path]:
    from adoffboard.reports import write_reports

    return write_reports(report, c.workspace.reports_dir)


def _plan_with_cr(c: Ctx, view: Any, client: str, runbook: str, scope: str | None,
                  effective: str | None, cr_id: str | None,
                  inputs: dict[str, Any] | None = None) -> Any:
    """Make a plan carrying its change request (the one named, else the latest approved)."""
    from adoffboard.cr.gate import for_plan
    from adoffboard.engine import make_plan, parse_date
    from adoffboard.errors import StoreError
    from adoffboard.runbook import load_runbook

    c.workspace.load_client(client)
    book = load_runbook(runbook, c.workspace.root)
    date = parse_date(effective)
    try:
        ref, scope, date = for_plan(c.store, c.workspace, client, book, cr_id, scope, date)
    except StoreError as exc:
        if cr_id:
            raise
        # A dry run for review needs no store; apply checks the change request anyway.
        click.echo(f"adoffboard: warning: change requests not looked up ({exc}): planning "
                   "for review only", err=True)
        ref, scope = None, scope or "dm"
    from adoffboard.cr.gate import request_inputs

    inputs = request_inputs(c.store, c.workspace, ref, inputs)
    return make_plan(c.env(view), client, runbook, scope, date, change_request=ref,
                     store=c.store, inputs=inputs)


_SCOPE_HELP = ("dm: digital marketing services only; platform: leaving the platform "
               "(default: the change request's, else dm).")
_CR_HELP = ("Change request the plan carries out (default: the client's latest approved one "
            "for the runbook's process; apply needs one).")


@main.command()
@click.argument("client")
@click.option("-r", "--runbook", required=True, help="Runbook name, e.g. sem-cancellation.")
@click.option("--scope", type=click.Choice(["dm", "platform"]), help=_SCOPE_HELP)
@click.option("--effective", metavar="YYYY-MM-DD",
              help="Effective date (default: the change request's, else today).")
@click.option("--cr", "cr_id", metavar="ID", help=_CR_HELP)
@click.option("-o", "--output", metavar="FILE",
              help="Plan file to write (default: plans/<plan id>.json in the workspace).")
@budget_change_options
@pass_ctx
def plan(c: Ctx, client: str, runbook: str, scope: str | None, effective: str | None,
         cr_id: str | None, output: str | None, budget_change: tuple[str, ...],
         addendum_ref: str) -> None:
    """Dry run: read live state and write a plan file. Sends no mutating call anywhere."""
    from adoffboard.models import Report, ReportKind

    target = plan_output(output)
    with ProgressView(c) as view:
        the_plan = _plan_with_cr(c, view, client, runbook, scope, effective, cr_id,
                                 _inputs(budget_change, addendum_ref))
    path = save_plan_file(the_plan,
                          target or c.workspace.root / "plans" / f"{the_plan.plan_id}.json",
                          _signing_key(c))
    report = Report(ReportKind.PLAN, the_plan, calls={p: {"read": n}
                                                       for p, n in the_plan.reads.items()})
    paths = _report_paths(c, report)
    render_summary(c, report, paths)
    if not c.as_json:
        ref = the_plan.change_request
        click.echo(f"Change request: {ref['id']}" if ref else
                   "No approved change request yet: review only; apply needs one.")
        click.echo(f"Plan saved: {path}\nReview it, then: adoffboard apply {path}")


def _signing_key(c: Ctx) -> bytes | None:
    """The workspace's plan-signing key, or None when the store is out of reach: the plan is
    then saved for review only (apply refuses an unsigned plan)."""
    from adoffboard.errors import StoreError

    try:
        return bytes(c.store.plan_key())
    except StoreError as exc:
        click.echo(f"adoffboard: warning: plan not signed ({exc}): for review only", err=True)
        return None


def _apply_exit(status: str) -> int:
    return {"applied": EXIT_OK, "applied-with-drift": EXIT_DRIFT}.get(status, EXIT_FAILED_CHANGES)


def _run_exit(result: Any) -> int:
    """A run stopped by an error exits with that error's code (after its report is written)."""
    return exit_code_for(result.error) if result.error else _apply_exit(result.status)


@main.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--now", "now_ok", is_flag=True, help="Apply before the plan's effective date.")
@pass_ctx
def apply(c: Ctx, plan_file: Path, now_ok: bool) -> None:
    """Apply exactly a saved plan; entities whose live value changed since are left alone."""
    from adoffboard.engine import apply_plan, load_plan

    the_plan = load_plan(plan_file, c.store.plan_key())
    with ProgressView(c) as view:
        result = apply_plan(c.env(view), the_plan, c.store, plan_path=str(plan_file),
                            now_ok=now_ok)
    render_summary(c, result.report, _report_paths(c, result.report))
    if not c.as_json:
        click.echo(f"Run {result.run_id}: {result.status}. Next: adoffboard verify "
                   f"{the_plan.client} --run {result.run_id}")
    sys.exit(_run_exit(result))


def _verify_exit(report: Any) -> int:
    from adoffboard.engine import verdict_of

    return {"PASS": EXIT_OK, "PENDING": EXIT_VERIFY_PENDING}.get(verdict_of(report.checks),
                                                                  EXIT_VERIFY_FAIL)


@main.command()
@click.argument("client")
@click.option("--run", "run_id", help="Verify what this run set out to do (default: the "
                                      "client's latest run).")
@click.option("-r", "--runbook", help="Verify against a runbook when the client has no run.")
@click.option("--scope", type=click.Choice(["dm", "platform"]), help="Scope, with --runbook.")
@pass_ctx
def verify(c: Ctx, client: str, run_id: str | None, runbook: str | None,
           scope: str | None) -> None:
    """Independent read-only pass: PASS / FAIL / MANUAL-PENDING per checklist line."""
    from adoffboard.engine import verify as do_verify

    with ProgressView(c) as view:
        report = do_verify(c.env(view), c.store, client, run_id=run_id, runbook=runbook,
                           scope=scope)
    render_summary(c, report, _report_paths(c, report))
    sys.exit(_verify_exit(report))


@main.command()
@click.argument("client")
@click.option("-r", "--runbook", required=True, help="Runbook name, e.g. sem-cancellation.")
@click.option("--scope", type=click.Choice(["dm", "platform"]), help=_SCOPE_HELP)
@click.option("--effective", metavar="YYYY-MM-DD",
              help="Effective date (default: the change request's, else today).")
@click.option("--cr", "cr_id", metavar="ID", help=_CR_HELP)
@click.option("-y", "--yes", is_flag=True, help="Skip the typed confirmation.")
@budget_change_options
@pass_ctx
def run(c: Ctx, client: str, runbook: str, scope: str | None, effective: str | None,
        cr_id: str | None, yes: bool, budget_change: tuple[str, ...], addendum_ref: str) -> None:
    """Plan, show the summary, confirm by typing the client's name, apply, verify."""
    with ProgressView(c) as view:
        the_plan = _plan_with_cr(c, view, client, runbook, scope, effective, cr_id,
                                 _inputs(budget_change, addendum_ref))
    _confirm_apply_verify(c, the_plan, yes, now_ok=False)


def _confirm_apply_verify(c: Ctx, the_plan: Any, yes: bool, *, now_ok: bool) -> NoReturn:
    """Save and show the plan, check its approval, confirm by the client's name, apply, verify."""
    from adoffboard.cr.gate import require_approved
    from adoffboard.engine import apply_plan, combined_report
    from adoffboard.engine import verify as do_verify
    from adoffboard.models import Report, ReportKind
    from adoffboard.runbook import load_runbook

    path = save_plan_file(the_plan, c.workspace.root / "plans" / f"{the_plan.plan_id}.json",
                          c.store.plan_key())
    if not c.as_json:  # with --json, stdout carries one document: the final report
        render_summary(c, Report(ReportKind.PLAN, the_plan), None)
        if not the_plan.changes:
            click.echo("Nothing to change on any platform.")
    # Refuse before asking for the confirmation (apply checks again, under the client's lock).
    book = load_runbook(the_plan.runbook, c.workspace.root)
    if book.model.process != "restore":
        require_approved(c.store, c.workspace, the_plan, book)
    if not yes:
        typed = click.prompt(f"Type the client's name ({the_plan.client_name}) to apply",
                             default="", show_default=False)
        if typed.strip() != the_plan.client_name:
            fail(EXIT_SAFETY, "confirmation did not match the client's name: nothing applied")
    with ProgressView(c) as view:
        result = apply_plan(c.env(view), the_plan, c.store, plan_path=str(path), now_ok=now_ok)
        report = do_verify(c.env(view), c.store, the_plan.client, run_id=result.run_id)
    merged = combined_report(result, report)
    render_summary(c, merged, _report_paths(c, merged))
    code = _run_exit(result)
    sys.exit(code if code else _verify_exit(report))


@main.command()
@click.argument("run_id")
@click.option("--as", "who", required=True, metavar="PERSON",
              help="Who asks for the restore: a key, name or email from [people] holding a role "
                   "that may restore (the run's department specialist or team lead, or the "
                   "operations lead).")
@click.option("-y", "--yes", is_flag=True, help="Skip the typed confirmation.")
@pass_ctx
def restore(c: Ctx, run_id: str, who: str, yes: bool) -> None:
    """Put back what a run changed, where the live value is still the one it set.

    Values someone changed since the run are left alone and reported; removals of the agency's
    access are not restored. The restore is planned (and shown) before anything is sent, and is
    bound to that run and to the person who asked for it (recorded with the run).
    """
    from adoffboard.engine import RESTORE_ROLES, authorize, make_plan

    record = c.store.run(run_id)
    env = c.env()
    department = env.runbook(record.runbook).model.department
    person = authorize(env, who, RESTORE_ROLES.get(department, ()),
                       f"restore a {department} run")
    with ProgressView(c) as view:
        the_plan = make_plan(c.env(view), record.client, "restore", record.plan().scope,
                             store=c.store, restore_run=run_id, authorized_by=person)
    _confirm_apply_verify(c, the_plan, yes, now_ok=True)


@main.command()
@click.argument("run_id")
@click.option("--release-access", "release", multiple=True, metavar="PLATFORM",
              help="Remove the agency's access on PLATFORM (e.g. meta) although that account "
                   "still fails its pause, budget or script check; repeatable. Takes --as and "
                   "--reason; recorded with the run.")
@click.option("--as", "who", metavar="PERSON",
              help="Who releases the held removals: a team lead of the run's department, or the "
                   "operations lead.")
@click.option("--reason", default="", help="Why the removal may go ahead (recorded).")
@pass_ctx
def resume(c: Ctx, run_id: str, release: tuple[str, ...], who: str | None, reason: str) -> None:
    """Finish an interrupted run without repeating what already took effect.

    Also finishes access removals held because an account still failed its checks, once the
    account is clean (or a team lead releases them with --release-access).
    """
    from adoffboard.engine import resume_run

    with ProgressView(c) as view:
        result = resume_run(c.env(view), run_id, c.store, release=release,
                            released_by=who or "", reason=reason)
    render_summary(c, result.report, _report_paths(c, result.report))
    sys.exit(_run_exit(result))


@main.command()
@click.argument("client")
@click.option("--as", "who", required=True,
              help="Who decides: a key, name or email from [people] holding the export step's "
                   "owner role, or the client's Account Manager.")
@click.option("--received", is_flag=True,
              help="The Account Manager confirmed the email in doubt arrived: record it, send "
                   "nothing.")
@pass_ctx
def resend(c: Ctx, client: str, who: str, received: bool) -> None:
    """Settle a SharpSpring export email that may have been sent: send it once more, or record
    that it arrived (--received). Apply and resume never send such an email again on their own.
    """
    from adoffboard.resend import resend as do_resend

    record = do_resend(c.workspace, c.store, client, who, received=received)
    decision = record.decisions[-1]
    if c.as_json:
        emit_json({"client": client, "file": record.file, "rows": record.rows,
                   "sha256": record.sha256, "emailed_to": list(record.emailed_to),
                   "message_id": record.message_id, "emailed_at": record.emailed_at,
                   "decision": decision})
        return
    what = "Recorded as received" if received else "Sent again"
    click.echo(f"{what}: exports/{record.file} ({record.rows} contacts) to "
               f"{', '.join(record.emailed_to)}, by {decision['by']} at {decision['at']}. "
               f"Next: adoffboard verify {client}")


@main.command()
@click.argument("client")
@click.option("-n", "--limit", type=BoundedInt(1, 10_000), default=20, show_default=True,
              help="How many runs to show (1 to 10000).")
@pass_ctx
def history(c: Ctx, client: str, limit: int) -> None:
    """The client's runs, newest first."""
    c.workspace.load_client(client)
    runs = c.store.runs(client, limit=limit)
    if c.as_json:
        emit_json([{k: v for k, v in r.__dict__.items() if k != "plan_json"} for r in runs])
        return
    if not runs:
        click.echo(f"No runs for {client}.")
        return
    from rich.table import Table

    table = Table("run", "runbook", "status", "started", "finished", "plan")
    for r in runs:
        table.add_row(r.id, f"{r.runbook} v{r.runbook_version}", r.status, r.started_at,
                      r.finished_at or "", r.plan_hash[:12])
    c.console().print(table)


# --- manual tasks -----------------------------------------------------------------------------


class _TasksGroup(Group):
    """`tasks [CLIENT]` lists; `tasks done ID --by NAME` attests."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            ctx.meta["tasks_client"] = args[0]
            args = args[1:]
        return super().parse_args(ctx, args)


@main.group(cls=_TasksGroup, invoke_without_command=True,
            subcommand_metavar="[CLIENT] | done ID --by NAME [--note TEXT]")
@click.option("--all", "include_done", is_flag=True, help="Include attested tasks.")
@click.pass_context
def tasks(ctx: click.Context, include_done: bool) -> None:
    """Manual tasks (checklist lines without an API): list them, or attest one.

    \b
      adoffboard tasks                         outstanding tasks of every client
      adoffboard tasks CLIENT [--all]          one client's tasks (--all: attested too)
      adoffboard tasks done ID --by NAME       attest a task (NAME must hold its owner role)
    """
    if ctx.invoked_subcommand is not None:
        return
    c: Ctx = ctx.obj
    from adoffboard.tasks import all_tasks

    found = all_tasks(c.workspace, c.store, ctx.meta.get("tasks_client"),
                      include_done=include_done)
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
        state = f"[green]done[/] by {t.attested_by} at {t.attested_at}" if t.done \
            else "[yellow]pending[/]"
        console.print(f"[bold]{t.id}[/]  {state}  owner: {owner}{people}", soft_wrap=True)
        console.print(f"  {t.title}", markup=False, soft_wrap=True)
        console.print(f"  {t.instructions}", markup=False, style="dim", soft_wrap=True)
        for item in t.items:
            console.print(f"    - {item}", markup=False)
        if t.note:
            console.print(f"  note: {t.note}", markup=False)
    pending = sum(1 for t in found if not t.done)
    click.echo(f"\n{pending} pending; attest one with "
               "`adoffboard tasks done ID --by NAME [--note TEXT]`")


@tasks.command("done")
@click.argument("task_id", metavar="ID")
@click.option("--by", "by", required=True, help="Who did it: a key, name or email from [people].")
@click.option("--note", default="", help="What was done, or why it was not needed.")
@pass_ctx
def tasks_done(c: Ctx, task_id: str, by: str, note: str) -> None:
    """Attest that a manual task was done."""
    from adoffboard.tasks import attest

    task = attest(c.workspace, c.store, task_id, by, note)
    if c.as_json:
        emit_json(task.to_dict())
        return
    click.echo(f"Attested {task.id} by {task.attested_by} at {task.attested_at}.")


# --- sandbox and demo -------------------------------------------------------------------------


@main.group()
def sandbox() -> None:
    """Local stand-ins of the platforms, for rehearsals and tests."""


@sandbox.command("up")
@click.option("--scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Scenario YAML (default: the demo scenario).")
@click.option("--google-ads-port", type=BoundedInt(0, 65535), default=0,
              help="Port (default: any free port).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Append every request to this JSONL file.")
@click.option("--cert-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path.home() / ".cache" / "adoffboard-sandbox", show_default=True,
              help="Where the sandbox's TLS certificate is kept and reused between starts.")
def sandbox_up(scenario: Path | None, google_ads_port: int, log_path: Path | None,
               cert_dir: Path) -> None:
    """Serve the stand-ins until interrupted; prints the settings a workspace needs."""
    import threading

    import tomli_w

    from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
    from adoffboard.sandbox.tls import sandbox_cert

    sandbox_cert(cert_dir)

    try:
        box = Sandbox.from_file(scenario or DEMO_SCENARIO, log_path=log_path)
    except ValueError as exc:
        fail(EXIT_INPUT, str(exc))
    box.start(ports={"google_ads": google_ads_port})
    click.echo("Sandbox up. Put this in adoffboard.toml:\n")
    click.echo(tomli_w.dumps({"platforms": box.platform_settings(),
                              "notifications": box.notification_settings()}))
    click.echo("Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        box.stop()
        click.echo("Sandbox stopped.")


@main.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Create the demo workspace here and keep it (default: a temporary folder).")
@pass_ctx
def demo(c: Ctx, keep: Path | None) -> None:
    """Plan, apply and verify the SEM and MA cancellations of a dealer leaving the platform,
    against the local sandbox (no credentials)."""
    from adoffboard.demo import run_demo

    with ProgressView(c) as view:
        outcome = run_demo(keep, progress=view)
    if c.as_json:
        import json

        from adoffboard.reports import render_json

        emit_json([json.loads(render_json(r)) for r in outcome.reports])
    else:
        for report, paths in zip(outcome.reports, outcome.paths, strict=True):
            render_summary(c, report, paths)
    if not c.as_json:
        click.echo(f"Demo workspace: {outcome.workspace}")
    sys.exit(EXIT_OK if outcome.ok else EXIT_VERIFY_FAIL)


# --- change requests, planner, reminders, schedule, scheduler (adoffboard.cr, .scheduling) -----


def _register_group_commands() -> None:
    from adoffboard.cr.commands import cr_group, planner, reminders
    from adoffboard.scheduling.commands import schedule_group, scheduler_group

    for command in (cr_group, planner, reminders, schedule_group, scheduler_group):
        main.add_command(command)


_register_group_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
