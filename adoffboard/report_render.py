"""Render a `ReportView` as Markdown or HTML (Jinja2 templates) or JSON (the view's document).

The templates live in the package (`adoffboard/templates/`, shipped in the wheel): a base page
layout with per-section partials, which a web console can extend and include as they are.

Escaping is the environments' job, never a template's memory: the HTML environment autoescapes
every value (entities), the Markdown environment passes every value through `escape_markdown`
(backslashes), and the output of a macro, escaped inside it, is marked safe. Values that come
from platforms (campaign names, error messages) are untrusted text and are only ever shown
through these environments.
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from adoffboard.models import Report
from adoffboard.report_view import ReportView

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])|(?<!\w)_|_(?!\w)")
# Any character that escaping or joining lines would change: most values have none.
_MD_CHANGES = re.compile(r"[\\`*\[\]<>|_\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def escape_markdown(value: object) -> Markup:
    """Escape untrusted text for a Markdown line or table cell (the templates' `md` filter).

    A backslash before `<` stops raw HTML (a campaign named `<script>`), before `|` keeps the
    table's columns, before `*`, `_`, backquotes and brackets stops accidental formatting and links.
    Line breaks become spaces so that a value never ends a table row. The result is marked as
    escaped (`Markup`), so that it is not escaped twice.
    """
    return Markup(_markdown_text(value))


def _markdown_text(value: object) -> str:
    text = str(value)
    if not _MD_CHANGES.search(text):
        return text
    return " ".join(_MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text).splitlines())


def _finalize_markdown(value: object) -> str:
    """Every `{{ value }}` of a Markdown template: escaped, unless already escaped (the `md`
    filter) or a macro's output marked `|safe`."""
    return value if isinstance(value, Markup) else _markdown_text(value)


@lru_cache(maxsize=256)  # a few statuses and verdicts, each shown thousands of times
def css_class(value: object) -> str:
    """A CSS class from a status or verdict, so that colour follows the status."""
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")


@cache
def environment(markup: str) -> Environment:
    """The Jinja2 environment of `markup` ("html" or "markdown"), made once: it caches the
    compiled templates."""
    if markup == "html":
        html = _environment(autoescape=True)
        html.filters["css_class"] = css_class
        return html
    markdown = _environment(autoescape=False, finalize=_finalize_markdown)
    markdown.filters["md"] = escape_markdown
    return markdown


def _environment(**escaping: Any) -> Environment:
    """Templates from the package. Block tags on lines of their own leave no blank line, and each
    template file ends with its last line's line break, so that partials include as whole lines.
    An undefined name is an error, not an empty string that would hide a typo."""
    return Environment(
        loader=PackageLoader("adoffboard", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **escaping,
    )


def markdown_of(view: ReportView, *, summary_only: bool = False) -> str:
    """Markdown for tickets and chat: tables throughout, so that a big plan stays scannable.
    `summary_only`: the header and the summary alone (what the CLI prints), rendered in time
    independent of the number of changes."""
    template = environment("markdown").get_template("markdown/report.md.j2")
    return template.render(view=view, report=view.report, summary_only=summary_only)


def html_of(view: ReportView) -> str:
    """One self-contained page: inline CSS, no script, no external asset (mailable, archivable)."""
    template = environment("html").get_template("html/report.html.j2")
    return template.render(view=view, report=view.report)


def json_of(view: ReportView) -> str:
    """Stable, machine-readable: fixed key order, the plan's own step layout plus each outcome.

    Serialised by `json.dumps`, not a template: JSON has its own escaping, which a text template
    would have to re-implement. Not indented: Python serialises indented JSON with its pure-Python
    encoder, several times slower than the C one, and a run of thousands of changes waits for
    it after its last call."""
    return json.dumps(view.document(), ensure_ascii=False, default=str) + "\n"


def render_markdown(report: Report) -> str:
    return markdown_of(ReportView.of(report))


def render_markdown_summary(report: Report) -> str:
    """The Markdown report's header and summary, without its other sections."""
    return markdown_of(ReportView.of(report), summary_only=True)


def render_html(report: Report) -> str:
    return html_of(ReportView.of(report))


def render_json(report: Report) -> str:
    return json_of(ReportView.of(report))
