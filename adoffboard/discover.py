"""`clients discover`: propose client manifests from what the agency can reach.

The accounts each configured platform lists (`discover_platforms`) are matched by name against a
list of clients (the workspace's client tracker, or a CSV of name[,slug]). Names are compared
once normalised (case, punctuation, "&", company suffixes such as LLC): the score is 1.0 for the
same name, else difflib's ratio; a Search Console site scores by whether the client's name,
without spaces, is its host's name. An account is proposed for a client when it scores at least
`THRESHOLD` and no other client matches it clearly better; when a second account of the same
platform scores within `TIE` of the best, or a second client matches the account alike, the
match is ambiguous: the candidates are reported and none is used, never guessed. Only a client
with no ambiguity and at least one account gets a manifest written (`--write`).
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adoffboard.discover_platforms import Found
from adoffboard.errors import InputError

THRESHOLD = 0.9
TIE = 0.1  # scores this close to the best are alike: flagged, not chosen
SUFFIXES = frozenset({"llc", "inc", "ltd", "co", "corp", "corporation", "company", "the"})
SEM_PLATFORMS = ("google_ads", "microsoft_ads", "meta")


@dataclass(frozen=True)
class Client:
    name: str
    slug: str


@dataclass
class Proposal:
    client: Client
    matches: dict[str, tuple[Found, float]] = field(default_factory=dict)
    ambiguous: dict[str, list[tuple[Found, float]]] = field(default_factory=dict)

    @property
    def writable(self) -> bool:
        return bool(self.matches) and not self.ambiguous

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.client.name,
            "slug": self.client.slug,
            "writable": self.writable,
            "matches": {
                p: {"name": f.name, "section": f.section, "score": round(s, 3)}
                for p, (f, s) in self.matches.items()
            },
            "ambiguous": {
                p: [{"name": f.name, "section": f.section, "score": round(s, 3)} for f, s in c]
                for p, c in self.ambiguous.items()
            },
        }


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", normalise(name)).strip("-")[:63]
    return slug or "client"


def normalise(name: str) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", name.lower().replace("&", " and ")).split()
    return " ".join(w for w in words if w not in SUFFIXES)


def score(client: str, found: Found) -> float:
    wanted = normalise(client)
    if not wanted:
        return 0.0
    if found.platform == "search_console":
        host = urlsplit(found.name).hostname or found.name.removeprefix("sc-domain:")
        labels = [label for label in host.lower().split(".") if label != "www"]
        compact = wanted.replace(" ", "")
        return 1.0 if labels and labels[0] == compact else 0.0
    have = normalise(found.name)
    if have == wanted:
        return 1.0
    return difflib.SequenceMatcher(None, wanted, have).ratio()


def propose(clients: Sequence[Client], found: Iterable[Found]) -> list[Proposal]:
    """One proposal per client. An account goes to the client whose name it matches best: one
    another client matches clearly better is not proposed; two clients matching it alike, or
    two accounts of a platform matching a client alike, make an ambiguous match."""
    accounts = list(found)
    scores = {(c, i): score(c.name, f) for c in clients for i, f in enumerate(accounts)}
    best = {
        i: sorted((scores[c, i] for c in clients), reverse=True) + [0.0, 0.0]
        for i in range(len(accounts))
    }
    proposals = []
    for client in clients:
        proposal = Proposal(client)
        ranked: dict[str, list[tuple[int, float]]] = {}
        for i, f in enumerate(accounts):
            s = scores[client, i]
            if s >= THRESHOLD and s >= best[i][0] - TIE:
                ranked.setdefault(f.platform, []).append((i, s))
        for platform, candidates in ranked.items():
            candidates.sort(key=lambda item: -item[1])
            top = candidates[0][1]
            close = [(accounts[i], s) for i, s in candidates if top - s <= TIE]
            shared = best[candidates[0][0]][1] >= top - TIE  # another client alike
            if len(close) > 1 or shared:
                proposal.ambiguous[platform] = close
            else:
                proposal.matches[platform] = close[0]
        proposals.append(proposal)
    return proposals


def manifest(proposal: Proposal, account_manager: dict[str, str]) -> dict[str, Any]:
    """The manifest a writable proposal makes (departments: SEM when an ad platform matched)."""
    data: dict[str, Any] = {
        "slug": proposal.client.slug,
        "name": proposal.client.name,
        "departments": ["SEM"],
        "account_manager": account_manager,
    }
    for platform, (found, _score) in proposal.matches.items():
        key = "search_console" if platform == "search_console" else platform
        data[key] = dict(found.section)
    return data


def reachable_accounts(env: Any, platforms: Sequence[str]) -> tuple[list[Found], dict[str, str]]:
    """Every account each platform lists, read-only; a platform that cannot be listed is left
    out with its error (the others are still listed)."""
    from adoffboard.discover_platforms import READERS
    from adoffboard.errors import AdoffboardError

    found: list[Found] = []
    failed: dict[str, str] = {}
    for platform in platforms:
        env.progress(platform, "listing the accounts the agency can reach")
        try:
            conn = env.connector(platform, read_only=True)
            try:
                found += READERS[platform](conn)
            finally:
                conn.close()
        except AdoffboardError as exc:
            failed[platform] = str(exc)
    return found, failed


def clients_from_csv(path: Path) -> list[Client]:
    """name[,slug] rows; a header row `name` is skipped; a bad slug is bad input."""
    from adoffboard.config import SLUG

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    clients = []
    for n, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not cells or not cells[0] or (n == 1 and cells[0].lower() == "name"):
            continue
        slug = cells[1] if len(cells) > 1 and cells[1] else slugify(cells[0])
        if not SLUG.match(slug):
            raise InputError(f"{path}: row {n}: {slug!r} is not a valid slug")
        clients.append(Client(cells[0], slug))
    if not clients:
        raise InputError(f"{path}: no client names (expected rows of name[,slug])")
    return clients


def clients_from_tracker(conn: Any, tracker: str) -> list[Client]:
    """The names in the key column of one of the workspace's tracker tabs (read only)."""
    trackers = conn.settings.trackers
    if tracker not in trackers:
        known = ", ".join(sorted(trackers)) or "none"
        raise InputError(f"no tracker {tracker!r} in [platforms.sheets.trackers] (known: {known})")
    tab = conn._read_tab(tracker, trackers[tracker].tab, 0, "")
    column = tab.column(trackers[tracker].key_column)
    names = sorted({str(r[column]).strip() for r in tab.rows if len(r) > column and r[column]})
    return [Client(name, slugify(name)) for name in names if str(name).strip()]
