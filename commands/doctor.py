"""`adoffboard doctor [CLIENT...]`: is everything ready for an offboarding? Reads only.

The checks live in `adoffboard.doctor`; this command renders them (a table, or `--json`) and ends
with exit 0 when nothing is wrong, EXIT_CHECKS_FAILED (12, as a failing verify) otherwise.
Progress goes to stderr.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from adoffboard.commands.common import (
    EXIT_VERIFY_FAIL,
    Ctx,
    ProgressView,
    emit_json,
    pass_ctx,
)

EXIT_CHECKS_FAILED = EXIT_VERIFY_FAIL  # a check fails: the same code as a failing verify line
_JSON_HELP = "Machine-readable JSON on stdout (as the global --json)."


@click.command()
@click.argument("clients", nargs=-1, metavar="[CLIENT]...")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@pass_ctx
def doctor(c: Ctx, clients: tuple[str, ...], as_json: bool) -> None:
    """Check, reading only, that offboardings can run: credentials resolve and are accepted,
    the platforms answer, the SMTP server answers EHLO, the store's schema is current, and every
    account of each client (all by default) is reachable under its expected name.

    Every problem is listed at once, each with a hint. Exit 0: no problem; 12: problems found.
    """
    from adoffboard.doctor import run_doctor

    with ProgressView(c) as view:
        report = run_doctor(c.env(progress=view), clients)
    if as_json or c.as_json:
        emit_json(report.to_dict())
    else:
        render_checks(c, report.checks, f"{len(report.clients)} client(s) checked")
    if not report.ok:
        sys.exit(EXIT_CHECKS_FAILED)


def render_checks(c: Ctx, checks: list[Any], summary: str) -> None:
    """One line per check in aligned columns, full values (never cut, also when piped); then
    each problem with its message and hint; then one summary line."""
    from adoffboard.doctor import PROBLEM

    header = ("AREA", "SUBJECT", "PLATFORM", "RESULT", "DETAIL")
    rows = [header] + [
        (
            k.area,
            k.subject,
            k.platform or "-",
            k.kind if k.status == PROBLEM else k.status,
            "see below" if k.status == PROBLEM else k.message,
        )
        for k in checks
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    for r in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)) + "  " + r[-1])
    problems = [k for k in checks if k.status == PROBLEM]
    if problems:
        click.echo("\nProblems:")
    for k in problems:
        same = not k.platform or k.platform == k.subject
        where = k.subject if same else f"{k.subject}, {k.platform}"
        click.echo(f"- {k.kind} ({where}): {k.message}")
        click.echo(f"  hint: {k.hint}")
    click.echo(f"{summary}: {len(problems)} problem(s)")
