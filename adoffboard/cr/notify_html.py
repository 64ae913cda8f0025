"""The HTML alternative of a notice, made from its text when it is sent: the notices' outbox keeps
the text only, and the HTML part says nothing the text does not (its links made clickable)."""

from __future__ import annotations

import re

from adoffboard.report_render import environment

_LINK = re.compile(r"https?://[^\s<>\"')]+")


def html_of(subject: str, body: str) -> str:
    """The page of a notice: its subject, a button to the first link that opens a request's
    page ("Open it: URL"), and the text with every http(s) address a link."""
    lines = [_pieces(line) for line in body.rstrip("\n").split("\n")]
    opened = [m for line in body.splitlines() if line.startswith("Open it: ") for m in _urls(line)]
    template = environment("html").get_template("html/mail/notice.html.j2")
    return template.render(subject=subject, page=opened[0] if opened else "", lines=lines)


def _urls(line: str) -> list[str]:
    return [m.group(0).rstrip(".,;") for m in _LINK.finditer(line)]


def _pieces(line: str) -> list[tuple[str, str]]:
    """`line` as (text, href) pieces: href is set on the addresses, empty on the text between."""
    out: list[tuple[str, str]] = []
    at = 0
    for match in _LINK.finditer(line):
        url = match.group(0).rstrip(".,;")
        if match.start() > at:
            out.append((line[at : match.start()], ""))
        out.append((url, url))
        at = match.start() + len(url)
    if at < len(line) or not out:
        out.append((line[at:], ""))
    return out
