"""Plan, run and verify reports: one model (`Report`), three renderings (Markdown, JSON, HTML).

Every rendering has the same order, because that is what the people reading them asked for:

1. the summary: verdict, counts per platform and action, manual tasks, drift, failures, calls;
2. every entity's before -> after, step by step in runbook order (with each outcome for a run),
   skipped steps listed with their reason;
3. the manual tasks, grouped by the role that owns them (with who attested what, for verify);
4. for verify, the checklist lines with PASS / FAIL / MANUAL-PENDING / ATTESTED / SKIPPED.

Reports render model fields only. They never see settings or credentials, so no secret can reach
a report through these modules. Values that come from platforms (campaign names, error messages)
are untrusted text: the HTML templates autoescape every one, the Markdown templates
backslash-escape the characters that would open raw HTML or break a table.

The work is split by responsibility:

- `adoffboard.report_summary`: the summary (verdict, counts, drift, failures), counted once;
- `adoffboard.report_view`: everything a report shows, as plain values, and the JSON document;
- `adoffboard.report_render`: the Jinja2 templates (`adoffboard/templates/`) and JSON rendering;
- this module: the public names, and writing the three files.

Rendering is linear in the number of changes (outcomes are indexed once); `bench/bench_reports.py`
prints how long a 5,000-change run takes.
"""

from __future__ import annotations

import re
from pathlib import Path

from adoffboard.errors import InputError
from adoffboard.files import write_private
from adoffboard.models import Report
from adoffboard.report_render import (
    html_of,
    json_of,
    markdown_of,
    render_html,
    render_json,
    render_markdown,
    render_markdown_summary,
)
from adoffboard.report_summary import (
    CHECK_ORDER,
    OUTCOME_ORDER,
    ActionCounts,
    ManualEntry,
    Problem,
    Summary,
    Verdict,
    manual_entries,
    summarize,
)
from adoffboard.report_view import REPORT_FORMAT, ReportView

__all__ = [
    "CHECK_ORDER",
    "OUTCOME_ORDER",
    "REPORT_FORMAT",
    "ActionCounts",
    "ManualEntry",
    "Problem",
    "ReportView",
    "Summary",
    "Verdict",
    "default_stem",
    "manual_entries",
    "render_html",
    "render_json",
    "render_markdown",
    "render_markdown_summary",
    "summarize",
    "write_reports",
]

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def default_stem(report: Report) -> str:
    """`<client>-<kind>-<run id or plan id>`, reduced to characters safe in any file name."""
    raw = f"{report.plan.client}-{report.kind.value}-{report.run_id or report.plan.plan_id}"
    return _UNSAFE_IN_NAME.sub("-", raw).strip("-.") or "report"


def write_reports(report: Report, directory: Path, stem: str | None = None) -> dict[str, Path]:
    """Write `<stem>.md`, `.json` and `.html` into `directory` (created if needed).

    Each file is written to a temporary name and renamed, so a crash never leaves a half report
    that looks whole; files are 0600 and new folders 0700 (`adoffboard.files`): reports name the
    client's accounts. A `stem` with a path separator is refused: reports stay in `directory`.
    """
    name = stem if stem is not None else default_stem(report)
    if not name or Path(name).name != name or name in (".", ".."):
        raise InputError(f"report stem must be a plain file name, got {name!r}")
    directory = Path(directory)
    view = ReportView.of(report)
    renderers = {"md": markdown_of, "json": json_of, "html": html_of}
    paths = {}
    for suffix, render in renderers.items():  # one at a time: a large run's texts are megabytes
        path = directory / f"{name}.{suffix}"
        try:
            write_private(path, render(view))
        except OSError as exc:
            raise InputError(
                f"cannot write report {path}: {exc.strerror or exc} (check [workspace] reports_dir)"
            ) from exc
        paths[suffix] = path
    return paths
