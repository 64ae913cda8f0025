"""Rendering a console page: the base layout's context filled in one place.

`render("cr_list.html.j2", nav="cr", requests=...)` renders
`adoffboard/templates/html/console/cr_list.html.j2` (a name starting with `html/` is taken as
is) with `person` (the signed-in person, or None on the sign-in pages), `nav`, `nav_items` and
the page's own values; Flask adds `csrf_token()` and `get_flashed_messages`.
"""

from __future__ import annotations

from typing import Any

from flask import g, render_template

CONSOLE_TEMPLATES = "html/console/"

# (key, label, href): the sections every page links to
NAV_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("home", "Waiting for you", "/"),
    ("cr", "Change requests", "/cr"),
    ("planner", "Planner", "/planner"),
    ("schedule", "Schedule", "/schedule"),
    ("runs", "Runs", "/runs"),
    ("tasks", "Manual tasks", "/tasks"),
    ("audit", "Audit", "/audit"),
    ("cli-token", "CLI token", "/cli-token"),
)


def render(template: str, *, nav: str, **ctx: Any) -> str:
    name = template if template.startswith("html/") else CONSOLE_TEMPLATES + template
    return render_template(
        name,
        person=g.get("person"),
        nav=nav,
        nav_items=NAV_ITEMS,
        **ctx,
    )
