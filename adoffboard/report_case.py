"""The report of a client's case (`verify CLIENT`): one verdict over every runbook of the case,
then each runbook's checklist lines, as Markdown, JSON and HTML.

Each runbook's lines are shown exactly as its own verify report shows them (`ReportView`); the
case adds the verdict over all of them (`adoffboard.verdicts.CaseVerdict`) and which run of the
case each runbook was judged by. Escaping is the report environments' (`report_render`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from adoffboard.errors import InputError
from adoffboard.files import write_private
from adoffboard.report_render import environment
from adoffboard.report_summary import CHECK_ORDER
from adoffboard.report_view import REPORT_FORMAT, ReportView
from adoffboard.verdicts import CaseVerdict

RUNBOOK_HEADER = ("Runbook", "Run", "Verdict", *(s.value for s in CHECK_ORDER))
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class CaseView:
    case: CaseVerdict
    views: tuple[ReportView, ...]

    runbook_header: ClassVar[tuple[str, ...]] = RUNBOOK_HEADER

    @classmethod
    def of(cls, case: CaseVerdict) -> CaseView:
        return cls(case, tuple(ReportView.of(r) for r in case.reports))

    @property
    def client_name(self) -> str:
        return self.case.reports[0].plan.client_name

    def header_fields(self) -> list[tuple[str, str]]:
        plan = self.case.reports[0].plan
        return [
            ("Client", f"{plan.client_name} ({plan.client})"),
            ("Change request", self.case.change_request or "none"),
            ("Runbooks", ", ".join(v.report.plan.runbook for v in self.views)),
        ]

    @staticmethod
    def runbook_title(view: ReportView) -> str:
        plan = view.report.plan
        run = f" (run {view.report.run_id})" if view.report.run_id else ""
        return f"{plan.runbook} v{plan.runbook_version}{run}"

    def runbook_rows(self) -> list[list[Any]]:
        return [
            [
                f"{v.report.plan.runbook} v{v.report.plan.runbook_version}",
                v.report.run_id,
                str(v.summary.verdict),
                *(v.summary.checks[s.value] for s in CHECK_ORDER),
            ]
            for v in self.views
        ]

    def document(self) -> dict[str, Any]:
        """The JSON case report: the verdict, each runbook's own verify document, and every
        line of every runbook in one list (`checks`, each naming its runbook and run)."""
        counts = {s.value: sum(v.summary.checks[s.value] for v in self.views) for s in CHECK_ORDER}
        docs = [v.document() for v in self.views]
        return {
            "report_format": REPORT_FORMAT,
            "kind": "case",
            "client": self.case.client,
            "client_name": self.client_name,
            "change_request": self.case.change_request,
            "summary": {"verdict": str(self.case.verdict), "checks": counts},
            "runbooks": docs,
            "checks": [
                {**c, "runbook": d["runbook"], "run_id": d["run_id"]}
                for d in docs
                for c in d["checks"]
            ],
        }


def case_stem(case: CaseVerdict) -> str:
    raw = f"{case.client}-case-{case.change_request or 'latest'}"
    return _UNSAFE_IN_NAME.sub("-", raw).strip("-.") or "case"


def render_case(case: CaseVerdict) -> dict[str, str]:
    """The case report's three renderings, by file suffix."""
    view = CaseView.of(case)
    return {
        "md": environment("markdown").get_template("markdown/case.md.j2").render(view=view),
        "json": json.dumps(view.document(), indent=2, ensure_ascii=False, default=str) + "\n",
        "html": environment("html").get_template("html/case.html.j2").render(view=view),
    }


def write_case_reports(case: CaseVerdict, directory: Path) -> dict[str, Path]:
    """Write `<client>-case-<request>.md`, `.json` and `.html` (0600, as every report)."""
    paths = {}
    for suffix, text in render_case(case).items():
        path = Path(directory) / f"{case_stem(case)}.{suffix}"
        try:
            write_private(path, text)
        except OSError as exc:
            raise InputError(
                f"cannot write report {path}: {exc.strerror or exc} (check [workspace] reports_dir)"
            ) from exc
        paths[suffix] = path
    return paths
