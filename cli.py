"""The `adoffboard` command line: the main group, and errors turned into exit codes.

The commands live beside this file in `commands/` (the package `adoffboard.commands`): they parse,
call the core, render and exit. Exceptions become one line and their class's exit code
(`adoffboard.errors`: each class carries `exit_code`) here and only here (`exit_code_for`). Heavy
modules (pydantic, the SDKs, SQLAlchemy) are imported inside commands so that `adoffboard --help`
stays instant.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from adoffboard.commands import (
    auth,
    case,
    complete,
    cr,
    doctor,
    identity,
    running,
    runs,
    sandbox,
    schedule,
    serve,
    tasks,
    workspace,
)
from adoffboard.commands.common import (
    EXIT_AUTH,
    EXIT_DRIFT,
    EXIT_FAILED_CHANGES,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NOT_PERMITTED,
    EXIT_OK,
    EXIT_PLATFORM,
    EXIT_SAFETY,
    EXIT_STORE,
    EXIT_TRANSIENT,
    EXIT_USAGE,
    EXIT_VERIFY_FAIL,
    EXIT_VERIFY_PENDING,
    Ctx,
    fail,
)

# mallopt(3)'s parameter numbers, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

__all__ = [
    "EXIT_AUTH",
    "EXIT_DRIFT",
    "EXIT_FAILED_CHANGES",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_PERMITTED",
    "EXIT_OK",
    "EXIT_PLATFORM",
    "EXIT_SAFETY",
    "EXIT_STORE",
    "EXIT_TRANSIENT",
    "EXIT_USAGE",
    "EXIT_VERIFY_FAIL",
    "EXIT_VERIFY_PENDING",
    "exit_code_for",
    "main",
]

PRIVATE_UMASK = 0o077  # while a command runs: new files 0600, new folders 0700
_RAW_ARGS = "adoffboard.raw_args"


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of an error: its class's `exit_code`; anything else is a bug."""
    from adoffboard.errors import AdoffboardError

    return exc.exit_code if isinstance(exc, AdoffboardError) else EXIT_INTERNAL


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
            _announce_clock()
            return super().invoke(ctx)
        except AdoffboardError as exc:
            fail(exit_code_for(exc), str(exc))
        except BrokenPipeError:  # `adoffboard ... | head`: the reader has what it wanted
            _silence_stdout()
            sys.exit(EXIT_OK)
        except KeyboardInterrupt as exc:
            fail(EXIT_INTERRUPTED, _interrupted(exc))
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug: one line by default, the traceback on request
            if os.environ.get("ADOFFBOARD_DEBUG"):
                raise
            fail(
                EXIT_INTERNAL,
                f"internal error: {type(exc).__name__}: {exc} "
                "(set ADOFFBOARD_DEBUG=1 for the traceback)",
            )
        finally:
            os.umask(umask)
            if isinstance(ctx.obj, Ctx):
                ctx.obj.close()


def _interrupted(exc: KeyboardInterrupt) -> str:
    from adoffboard.errors import RunInterrupted

    if isinstance(exc, RunInterrupted):
        return (
            f"interrupted: run {exc.run_id} is unfinished; finish it with "
            f"`adoffboard resume {exc.run_id}`"
        )
    return "interrupted"


def _silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone, so that nothing more (the flush at
    exit included) fails on it: the documented way to end quietly on a closed pipe
    (https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    with contextlib.suppress(OSError, ValueError):  # no real file descriptor (a test runner)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _announce_clock() -> None:
    """A rehearsal clock (ADOFFBOARD_NOW) is said on every command: dates and due runs follow it."""
    from adoffboard.clock import NOW_VARIABLE, clock_shift

    if clock_shift():
        click.echo(
            f"adoffboard: clock set to {os.environ[NOW_VARIABLE].strip()} by {NOW_VARIABLE} "
            "(rehearsal)",
            err=True,
        )


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


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "ADOFFBOARD"},
)
@click.option(
    "-w",
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    help="Workspace folder (default: the current folder or its nearest parent with "
    "adoffboard.toml).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
@click.version_option(package_name="adoffboard")
@click.pass_context
def main(ctx: click.Context, workspace: Path | None, as_json: bool, quiet: bool) -> None:
    """Offboard a client from the agency's ad and marketing platforms.

    \b
    Typical use:
      adoffboard cr new CLIENT --type cancellation          a change request, then its approvals
      adoffboard plan CLIENT --runbook sem-cancellation     dry run: writes nothing anywhere
      adoffboard apply plans/PLAN.json                      apply exactly that plan
      adoffboard verify CLIENT                              read-only PASS/FAIL per line
      adoffboard run CLIENT --runbook sem-cancellation      all three, with a confirmation
      adoffboard demo                                       try it against the local sandbox
      adoffboard whoami                                     who commands act as, and why
    """
    _tune_malloc()
    ctx.obj = Ctx(workspace, as_json, quiet)


def _tune_malloc() -> None:
    """Two glibc malloc settings (mallopt(3)) that lower a large run's peak memory, each unless
    the environment sets it (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_); a no-op where the C
    library is not glibc. Measured with `bench/offboarding.py`: some 6 MiB together.

    - At most two arenas (`M_ARENA_MAX`): glibc gives threads that contend for the allocator
      arenas of their own (up to eight per core) and seldom hands their free memory back, and a
      run parses its platforms' answers in many threads.
    - A fixed mmap threshold of 128 KiB (`M_MMAP_THRESHOLD`, its default start): glibc raises
      the threshold each time a large block is freed, after which the platforms' large answers
      and the reports' texts are carved from the heap and stay there once freed; at a fixed
      threshold they are mapped apart and go back to the system when freed."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(M_ARENA_MAX, 2)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(M_MMAP_THRESHOLD, 128 * 1024)


for _command in (
    workspace.init,
    workspace.clients,
    workspace.runbooks,
    doctor.doctor,
    auth.auth,
    runs.plan,
    runs.apply,
    runs.verify,
    running.run,
    running.restore,
    runs.resume,
    runs.resend,
    runs.history,
    tasks.tasks,
    sandbox.sandbox,
    sandbox.demo,
    cr.cr_group,
    cr.planner,
    cr.reminders,
    case.case_group,
    schedule.schedule_group,
    schedule.scheduler_group,
    identity.login,
    identity.logout,
    identity.whoami,
    serve.serve,
):
    main.add_command(_command)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """`--json` after a subcommand: the same as before it (`adoffboard --json cr list`)."""
    found = ctx.find_object(Ctx)
    if value and found is not None:
        found.as_json = True


def _local_options(command: click.Command) -> None:
    """Every command and group below the main one also takes `--json` where it is typed (as
    gh and kubectl do): one output, whichever side of the subcommand the flag is on."""
    if not any("--json" in p.opts for p in command.params):
        command.params.append(
            click.Option(
                ["--json"],
                is_flag=True,
                expose_value=False,
                callback=_set_json,
                help="Machine-readable JSON on stdout (as the global --json).",
            )
        )
    for sub in getattr(command, "commands", {}).values():
        _local_options(sub)


for _command in main.commands.values():
    _local_options(_command)
complete.attach(main)


if __name__ == "__main__":  # pragma: no cover
    main()
