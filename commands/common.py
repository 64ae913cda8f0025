"""What every command shares: the context object, exit codes, output helpers.

Commands parse, call the core (through `adoffboard.app` for plans and applies), render and exit;
errors propagate to the main group (`adoffboard.cli`), which turns each into one line and its
class's exit code. Heavy modules (pydantic, the SDKs, SQLAlchemy) are imported inside functions
so that `adoffboard --help` stays instant.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from adoffboard.errors import (
    AuthError,
    InputError,
    NotPermitted,
    PlatformError,
    SafetyRefusal,
    StoreError,
    TransientError,
)

# Documented in README.md ("Exit codes"). An error's code is its class's (`adoffboard.errors`);
# the others say how a run or a check ended.
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INPUT = InputError.exit_code  # 3
EXIT_SAFETY = SafetyRefusal.exit_code  # 4
EXIT_AUTH = AuthError.exit_code  # 5
EXIT_PLATFORM = PlatformError.exit_code  # 6
EXIT_TRANSIENT = TransientError.exit_code  # 7
EXIT_STORE = StoreError.exit_code  # 8
EXIT_NOT_PERMITTED = NotPermitted.exit_code  # 9
EXIT_DRIFT = 10
EXIT_FAILED_CHANGES = 11
EXIT_VERIFY_FAIL = 12
EXIT_VERIFY_PENDING = 13
EXIT_INTERRUPTED = 130


_UNBOUNDED = 100_000  # columns: wider than any table adoffboard prints


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
        from adoffboard.app import environment

        return environment(self.workspace, progress=progress)

    def console(self, stderr: bool = False, width: int | None = None) -> Any:
        from rich.console import Console

        class QuietOnClosedPipe(Console):
            def on_broken_pipe(self) -> None:
                # rich would exit 1 here; the main group ends a closed pipe quietly (exit 0)
                self.quiet = True
                raise BrokenPipeError

        return QuietOnClosedPipe(stderr=stderr, highlight=False, width=width)

    def print_table(self, table: Any) -> None:
        """A table on stdout; piped (not a terminal), as wide as its longest values, so that
        `grep` and `cut` see every value whole instead of cut at 80 columns."""
        console = self.console()
        if not console.is_terminal:
            from rich.measure import Measurement

            wide = console.options.update_width(_UNBOUNDED)
            needed = Measurement.get(console, wide, table).maximum
            console = self.console(width=max(console.width, needed))
        console.print(table)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def stop_on_sigterm() -> None:
    """A service manager's SIGTERM stops a long-running command as Ctrl-C does (its cleanup and
    its "stopped" line included), instead of killing it mid-reply."""
    import signal

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def fail(code: int, message: str) -> NoReturn:
    click.echo(f"adoffboard: error: {message}", err=True)
    sys.exit(code)


pass_ctx = click.make_pass_decorator(Ctx)


class BoundedInt(click.ParamType):  # type: ignore[type-arg]
    """A whole number between `low` and `high`; anything else is bad input (exit 3, one line)
    rather than a usage error or a number too large for the store."""

    name = "integer"

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
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
            raise InputError(
                f"{where} {value!r} must be a whole number from {self.low} to {self.high}"
            )
        return number


def local(c: Ctx, stored: str | None) -> str:
    """A stored time (UTC) shown in the workspace's time zone, to the minute, with the zone named
    ("2026-12-07 08:30 CST"); the schedule, history and change requests all read alike."""
    from adoffboard.clock import local_time

    if not stored:
        return ""
    try:
        return local_time(stored, c.workspace.config.workspace.timezone)
    except ValueError:  # not a time: shown as stored
        return stored


def said_once(what: str, standing: str) -> str:
    """`what` happened, then where the request stands, unless that only repeats it: "approved by
    jeremy; it is approved" reads "approved by jeremy" (standing: `cr.rules.standing`)."""
    verb = what.split(" ", 1)[0]
    said = standing.split(" ", 1)[1] if " " in standing else standing
    return what if said.split(" ", 1)[0] == verb else f"{what}; it {standing}"


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


def emit_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, default=str))


class ProgressView:
    """Live progress per platform on stderr (plain lines when not a terminal). When the work
    ends, each platform's spinner gives way to a mark: done, or stopped by an error or Ctrl-C;
    nothing is left spinning on the screen."""

    DONE, STOPPED = "[green]done[/]", "[red]stopped[/]"

    def __init__(self, c: Ctx) -> None:
        self.enabled = not c.quiet
        self.console = c.console(stderr=True)
        self._progress: Any = None
        self._spinner: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> ProgressView:
        if self.enabled and self.console.is_terminal:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._spinner = SpinnerColumn(finished_text=self.DONE)
            self._progress = Progress(
                self._spinner,
                TextColumn("[bold]{task.fields[who]:<12}"),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
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

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if self._progress is None:
            return
        from rich.text import Text

        if exc_type is not None:
            self._spinner.finished_text = Text.from_markup(self.STOPPED)
        for task in self._tasks.values():
            self._progress.update(task, total=1, completed=1)  # the spinner shows its mark
        self._progress.stop()


def summary_markdown(report: Any) -> str:
    """The report's header and summary in Markdown, as the full report begins; rendered alone,
    since a big plan's full report takes seconds to render and the rest is not shown here."""
    from adoffboard.report_render import environment
    from adoffboard.report_view import ReportView

    template = environment("markdown").get_template("markdown/summary.md.j2")
    return str(template.render(view=ReportView.of(report), report=report))


def render_summary(c: Ctx, report: Any, paths: dict[str, Path] | None = None) -> None:
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

    console.print(Markdown(summary_markdown(report)))
    if paths:
        console.print(
            f"Full report: {paths['md']}  (also {paths['html'].name}, {paths['json'].name})",
            markup=False,
        )


def report_paths(c: Ctx, report: Any) -> dict[str, Path]:
    """Write the report's files, and keep the report in the store for the web console. A store
    out of reach (a plan made for review only) leaves the files: a warning says so."""
    from adoffboard.holder import holder_name
    from adoffboard.report_store import keep_report
    from adoffboard.reports import write_reports

    paths = write_reports(report, c.workspace.reports_dir)
    try:
        keep_report(c.store, report, made_by=holder_name().rpartition(":")[0])
    except StoreError as exc:
        click.echo(f"adoffboard: warning: report not kept in the state store ({exc})", err=True)
    return paths


def has_workspace(c: Ctx) -> bool:
    try:
        _ = c.workspace
        return True
    except InputError:
        return False
