"""Google Sheets trackers, through the official `google-api-python-client` (Sheets API v4).

Reads, of the trackers the runbook's steps name (`ConnectorContext.uses`; all when it names
none): `spreadsheets.get` once per spreadsheet (title, and each tab's numeric sheetId), all at
once; then, every title checked, `spreadsheets.values.batchGet` once per spreadsheet for all its
tracker tabs (formulas as written, dates as shown, so that a restore writes back exactly what
was there), all at once. Two round trips, whatever the number of trackers.

Writes, per tracker (the trackers of distinct tabs at once): `values.update` of one cell
(`set_cell`), `values.append` with INSERT_ROWS (`append_row`), and one `spreadsheets.batchUpdate`
of `deleteDimension` requests (`remove_row`). Rows shift whenever anyone edits a sheet, so every
write (each cell, each append, each tracker's batch of deletes) re-reads its tab right before it
is sent and locates the client's rows by the key column in that fresh read; no write uses the
row number of the plan. (Sheets has no conditional delete: a row inserted above the
client's in the instant between that read and the delete would still shift it; the window is one
round trip, and the journal keeps the row range each delete targeted.)

Exact restore (`ma-unpause`, `adoffboard restore RUN`) covers `set_cell` only: the inverse
change writes the snapshotted value back where the cell still holds what adoffboard wrote, and
`live_values` reads the cells again for verify. Rows a cancellation removed or appended are not
restored (`restorable_entities` in the registry): the restore lists them for people.

No write is repeated blindly: a delete by position, an append and a cell write all do damage
when they land twice (someone else's row deleted, a row added twice, a value written into
someone else's row). Each is sent once (`execute(num_retries=0)` over `WriteOnceHttp`, which
keeps httplib2 from resending a write whose reply went missing); after any transient failure -
a 5xx, a timeout, a dropped connection, whose effect is unknown - the connector waits (at least
the timeout, when no reply came), reads the tab again and decides: found done, the write landed
(applied, "its reply was lost"); still to do, it is sent again, to the client's row where it is
now. A write still in flight longer than that wait can still land after the read that decides.

Sheets answers writes without a request id; the journal keeps, in its place, the range each write
touched: `updatedRange` as the API reported it for values writes, the deleted rows' range (from
the fresh read the delete was computed on) for removals.

The dry run is enforced at the transport: a read-only connector's `httplib2.Http` refuses every
method but GET (a token refresh excepted) before anything leaves the process.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from adoffboard.config import Manifest
from adoffboard.connectors.base import (
    NO_CONTEXT,
    Connector,
    ConnectorContext,
    Journal,
    StepContext,
    StepDraft,
    Verdict,
)
from adoffboard.connectors.sheets.client import translate
from adoffboard.connectors.sheets.declaration import (
    DECLARATION,
    SheetsSettings,
    SheetsTracker,
    client_keys,
)
from adoffboard.connectors.sheets.planning import (
    PLANNERS,
    ClientFacts,
    SheetsState,
    Tab,
    locate_rows,
    same_value,
    verify_step,
)
from adoffboard.connectors.sheets.requests import (
    Judge,
    batch_get_values,
    cell_of,
    delete_rows,
    get_spreadsheet,
    get_values,
    judge_append,
    judge_cell,
    kind_of,
    moved,
    removal_settled,
    row_range,
    tracker_of,
)
from adoffboard.connectors.transport import Calls
from adoffboard.connectors.transport.google import (
    GOOGLE_TOKEN_URI,
    AtOnce,
    ReadOnlyHttp,
    WriteOnceHttp,
    raised,
    user_credentials,
)
from adoffboard.connectors.transport.google_discovery import discovery_service
from adoffboard.credentials import check_sandbox_only, resolve
from adoffboard.errors import (
    AuthError,
    DryRunViolation,
    InputError,
    PlatformError,
    TenantMismatch,
)
from adoffboard.models import Change, Outcome, OutcomeStatus
from adoffboard.retry import Send, send_unrepeatable

T = TypeVar("T")
SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
KIND_ORDER = {"cell": 0, "append": 1, "remove": 2}  # removals last: they shift rows
# requests on the wire at once: a read pass's (two per spreadsheet) and the writes of distinct
# tabs; Sheets' per-minute quotas count requests, not their overlap
PARALLEL = 8


class SheetsConnector(Connector[SheetsState]):
    declaration = DECLARATION

    def __init__(self, ctx: ConnectorContext) -> None:
        super().__init__(ctx)
        self.settings = SheetsSettings.model_validate(dict(ctx.settings))
        self._local = threading.local()  # this thread's service (`_api`)
        self._lock = threading.Lock()
        self._creds: tuple[Any, str] | None = None
        self._https: list[Any] = []  # every thread's transport, closed by `close`
        self._at_once = AtOnce("sheets", PARALLEL)
        self._state: SheetsState | None = None
        self._keys: dict[str, str] = {}  # tracker -> the client's key in it
        self._calls = Calls(ctx, self.calls, "Google Sheets", translate=translate)

    # --- transport ----------------------------------------------------------------------------

    def _credentials(self) -> tuple[Any, str]:
        s, base = self.settings, self.ctx.workspace_root
        if s.access_token:
            import google.oauth2.credentials

            token = resolve(s.access_token, base=base).value
            return google.oauth2.credentials.Credentials(token=token), GOOGLE_TOKEN_URI
        user = user_credentials(s.model_dump(), base, "sheets")
        if user is not None:
            return user, str(user.token_uri)
        if s.credentials_file:
            from google.oauth2 import service_account

            path = s.credentials_file
            if path.startswith(("env:", "keyring:")):
                path = resolve(path, base=base).value
            full = base / Path(path).expanduser()  # an absolute path stays as it is
            try:
                info = json.loads(full.read_text(encoding="utf-8"))
                creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
            except (OSError, ValueError, KeyError) as exc:
                raise AuthError(
                    f"platforms.sheets.credentials_file: cannot load a service "
                    f"account key from {full} ({type(exc).__name__})"
                ) from None
            return creds, str(info["token_uri"])
        raise AuthError(
            "platforms.sheets needs access_token, refresh_token with client_id and "
            "client_secret (`adoffboard auth sheets`), or credentials_file"
        )

    def _api(self) -> Any:
        """This thread's service: requests made from the per-process Sheets resource and sent
        over a transport of this thread's own (httplib2 is not thread-safe)."""
        api = getattr(self._local, "api", None)
        if api is None:
            api = self._local.api = discovery_service(
                "sheets", "v4", http=self._new_http(), endpoint=self.settings.endpoint
            )
        return api

    def _new_http(self) -> Any:
        import google_auth_httplib2

        with self._lock:
            if self._creds is None:
                endpoint = self.settings.endpoint
                check_sandbox_only(
                    {"access_token": self.settings.access_token},
                    urlsplit(endpoint).netloc if endpoint else None,
                )
                self._creds = self._credentials()
            creds, token_uri = self._creds
            timeout = self.ctx.retry.timeout
            raw = (
                ReadOnlyHttp(timeout=timeout, token_endpoint=token_uri, label="Google Sheets")
                if self.ctx.read_only
                else WriteOnceHttp(timeout=timeout)
            )
            http = google_auth_httplib2.AuthorizedHttp(creds, http=raw)
            self._https.append(http)
        return http

    def _call(self, kind: str, request: Callable[[Any], Any]) -> Any:
        """Send one request, retrying throttling and server errors on the injected clock."""
        api = self._api()
        return self._calls(kind, lambda: request(api).execute(num_retries=0))

    # --- reads --------------------------------------------------------------------------------

    def read_state(self, manifest: Manifest) -> SheetsState:
        if not self.settings.trackers:
            raise InputError(
                "platforms.sheets has no trackers: add "
                "[platforms.sheets.trackers.<name>] tables to adoffboard.toml"
            )
        keys = client_keys(manifest)
        unknown = sorted(set(keys) - set(self.settings.trackers))
        if unknown:
            raise InputError(
                f"client {manifest.slug}: trackers {unknown} are not configured "
                f"in [platforms.sheets.trackers] (configured: "
                f"{', '.join(sorted(self.settings.trackers))})"
            )
        client = ClientFacts(
            manifest.name,
            manifest.slug,
            tuple(manifest.departments),
            manifest.account_manager.name,
            manifest.account_manager.email,
        )
        self._keys = {n: keys.get(n, manifest.name) for n in self.settings.trackers}
        names = self._used_trackers()
        tabs = self._read_trackers(names, self._keys)
        skipped = frozenset(self.settings.trackers) - set(names)
        self._state = SheetsState(client, tabs, self.ctx.clock.now(), skipped=skipped)
        return self._state

    def _used_trackers(self) -> list[str]:
        """The configured trackers the runbook's steps name (`ConnectorContext.uses`), in
        configuration order; all of them when nothing says (doctor, discover, a restore), or
        when a step names none (planning then says what is missing)."""
        configured = list(self.settings.trackers)
        named = [str(params.get("tracker") or "") for _, params in self.ctx.uses]
        if not named or "" in named:
            return configured
        return [n for n in configured if n in named]

    def _read_trackers(self, names: Sequence[str], keys: Mapping[str, str]) -> dict[str, Tab]:
        """The tabs of trackers `names`, in two round trips whatever their number: one
        `spreadsheets.get` per spreadsheet (its title, and each tab's sheetId), all at once;
        then, every title found right (`expected_title`), one `values.batchGet` per spreadsheet
        of all its tracker tabs, all at once. A title mismatch stops everything before any
        values are read."""
        config = self.settings.trackers
        books = list(dict.fromkeys(config[n].spreadsheet_id for n in names))
        ranges = {sid: _tabs_of([config[n] for n in names], sid) for sid in books}
        metas = dict(
            zip(
                books,
                self._at_once.run([self._job(get_spreadsheet(s)) for s in books]),
                strict=True,
            )
        )
        for name in names:  # a tenant mismatch outranks any other finding
            meta = metas[config[name].spreadsheet_id]
            if not isinstance(meta, Exception):
                self._check_title(name, meta)
        located = {n: self._locate(n, raised(metas[config[n].spreadsheet_id])) for n in names}
        values = self._at_once.run([self._job(batch_get_values(s, ranges[s])) for s in books])
        bodies = dict(zip(books, values, strict=True))
        tabs = {}
        for name in names:
            sid = config[name].spreadsheet_id
            grid = _value_range(
                raised(bodies[sid]), ranges[sid].index(config[name].tab), len(ranges[sid])
            )
            tabs[name] = self._parse_tab(name, *located[name], keys[name], grid)
        return tabs

    def _job(self, request: Callable[[Any], Any]) -> Callable[[], Any]:
        """One read, to run on whichever thread (`AtOnce`)."""
        return functools.partial(self._call, "read", request)

    def _check_title(self, name: str, book: Mapping[str, Any]) -> None:
        config = self.settings.trackers[name]
        title = str(book.get("properties", {}).get("title", ""))
        if config.expected_title and title.strip() != config.expected_title.strip():
            raise TenantMismatch(
                f"spreadsheet {config.spreadsheet_id} ({name}) is titled {title!r}, but the "
                f"workspace expects {config.expected_title!r}: refusing to touch it"
            )

    def _locate(self, name: str, book: Mapping[str, Any]) -> tuple[str, int]:
        """Tracker `name`'s spreadsheet title (checked) and its tab's numeric sheetId."""
        config = self.settings.trackers[name]
        self._check_title(name, book)
        title = str(book.get("properties", {}).get("title", ""))
        sheets = book.get("sheets", [])
        sheet_id = next(
            (
                s["properties"]["sheetId"]
                for s in sheets
                if s["properties"].get("title") == config.tab
            ),
            None,
        )
        if sheet_id is None:
            known = [s["properties"].get("title") for s in sheets]
            raise InputError(
                f"spreadsheet {title!r} has no tab {config.tab!r} (tracker {name}; tabs: {known})"
            )
        return title, int(sheet_id)

    def _read_tab(self, name: str, title: str, sheet_id: int, key: str) -> Tab:
        config = self.settings.trackers[name]
        body = self._call("read", get_values(config.spreadsheet_id, config.tab))
        return self._parse_tab(name, title, sheet_id, key, body)

    def _parse_tab(
        self, name: str, title: str, sheet_id: int, key: str, body: Mapping[str, Any]
    ) -> Tab:
        config = self.settings.trackers[name]
        grid = body.get("values", [])
        headers = tuple(str(h).strip() for h in (grid[0] if grid else []))
        tab = Tab(name, config, title, sheet_id, headers, tuple(tuple(r) for r in grid[1:]), key)
        wanted = [config.key_column, *config.append, *(c.column for c in config.cells.values())]
        missing = [h for h in wanted if tab.column(h) is None]
        if missing:
            raise InputError(
                f"{tab.label} (tracker {name}) has no column(s) {missing}; "
                f"row 1 reads {list(headers)}"
            )
        return tab

    def _ensure_read(self, names: Sequence[str]) -> None:
        """Read the trackers among `names` that this connector's read skipped (changes of a
        tracker the runbook does not name: a plan made otherwise), title check included."""
        assert self._state is not None
        state = self._state
        missing = [n for n in dict.fromkeys(names) if n in state.skipped]
        if not missing:
            return
        tabs = self._read_trackers(missing, self._keys)
        self._state = replace(
            state, tabs={**state.tabs, **tabs}, skipped=state.skipped - set(missing)
        )

    # --- planning (pure) ----------------------------------------------------------------------

    def plan(
        self,
        action: str,
        params: Mapping[str, Any],
        state: SheetsState,
        step_id: str,
        ctx: StepContext = NO_CONTEXT,
    ) -> StepDraft:
        planner = PLANNERS.get(action)
        if planner is None:
            raise InputError(f"sheets has no action {action!r}")
        return planner(state, params, step_id, ctx)

    # --- writes -------------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change], journal: Journal) -> list[Outcome]:
        """The trackers of distinct tabs at once (a tab's rows move only with its own writes);
        the trackers of one tab one after another, each in `KIND_ORDER`."""
        if self._state is None:
            raise InputError("read_state must run before apply")
        trackers = sorted({tracker_of(c) for c in changes})
        self._ensure_read(trackers)
        by_tab: dict[tuple[str, str], list[str]] = {}
        for name in trackers:
            config = self.settings.trackers[name]
            by_tab.setdefault((config.spreadsheet_id, config.tab), []).append(name)
        jobs = [
            functools.partial(self._apply_trackers, names, changes, journal)
            for names in by_tab.values()
        ]
        return [o for done in self._at_once.run(jobs) for o in raised(done)]

    def _apply_trackers(
        self, names: Sequence[str], changes: Sequence[Change], journal: Journal
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for name in names:
            mine = [c for c in changes if tracker_of(c) == name]
            for kind in sorted({kind_of(c) for c in mine}, key=KIND_ORDER.__getitem__):
                batch = [c for c in mine if kind_of(c) == kind]
                if kind == "remove":
                    outcomes += self._apply_removals(name, batch, journal)
                    continue
                for ch in batch:
                    judge = judge_cell if kind == "cell" else judge_append
                    outcomes.append(self._apply_one(name, ch, judge, journal))
        return outcomes

    def _fresh(self, name: str) -> Tab:
        assert self._state is not None
        old = self._state.tabs[name]
        return self._read_tab(name, old.spreadsheet_title, old.sheet_id, old.key)

    def _send_once(self, request: Callable[[Any], Any]) -> Any:
        """One write, sent once: neither the client library nor httplib2 repeats it
        (`execute(num_retries=0)`, `WriteOnceHttp`); only `_write` decides to send it again."""
        api = self._api()
        self.calls["write"] += 1
        try:
            return request(api).execute(num_retries=0) or {}
        except DryRunViolation:
            raise
        except Exception as exc:  # HttpError, httplib2 and socket errors: translated
            raise translate(exc) from exc

    def _write(self, prepare: Callable[[bool], Send[Any] | T]) -> Any | T:
        """A write that is never repeated blindly: `prepare` re-reads the tab before every
        send, and after a failure whose effect is unknown decides whether it landed."""
        return send_unrepeatable(
            prepare,
            self.ctx.retry,
            self.ctx.clock,
            on_retry=lambda n, e, wait: self.ctx.progress(
                f"Google Sheets: {e} - reading the tab again in {wait:.1f}s before deciding"
            ),
        )

    def _apply_one(self, name: str, ch: Change, judge: Judge, journal: Journal) -> Outcome:
        """A cell write or an append: re-read the tab, locate the client's row, then write (or
        find it done, gone or drifted); after a lost reply, the same again."""
        intended = False

        def prepare(unknown: bool) -> Send[Any] | Outcome:
            nonlocal intended
            tab = self._fresh(name)
            found = judge(tab, ch, unknown)
            if isinstance(found, Outcome):
                return found
            if not intended:
                journal.intend([ch])
                intended = True
            return Send(lambda: self._send_once(found))

        try:
            result = self._write(prepare)
        except PlatformError as exc:
            result = Outcome(
                ch.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
            )
        if not isinstance(result, Outcome):
            updated = (result.get("updates") or result).get("updatedRange", "")
            result = Outcome(ch.id, OutcomeStatus.APPLIED, live=ch.after, request_id=str(updated))
        journal.record([result])
        return result

    def _apply_removals(
        self, name: str, changes: Sequence[Change], journal: Journal
    ) -> list[Outcome]:
        """One atomic batchUpdate of the client's rows, located again in a fresh read right
        before each send; after a lost reply, a row found gone is the delete that landed."""
        targeted: dict[str, int] = {}  # change id -> sheet row of the last request sent
        sent: list[Change] = []
        settled: dict[str, Outcome] = {}

        def prepare(unknown: bool) -> Send[Any] | None:
            tab = self._fresh(name)
            located = locate_rows(tab, changes)
            settled.clear()
            for ch in changes:
                if located[ch.id].index is None:
                    settled[ch.id] = removal_settled(tab, ch, located[ch.id], targeted)
            order = sorted(
                (c for c in changes if c.id not in settled),
                key=lambda c: located[c.id].index or 0,
                reverse=True,
            )
            if not order:
                return None
            journal.intend([c for c in order if c.id not in targeted])
            targeted.update({c.id: tab.sheet_row(located[c.id].index or 0) for c in order})
            sent[:] = order
            return Send(lambda: self._send_once(delete_rows(tab, [targeted[c.id] for c in order])))

        try:
            reply = self._write(prepare)
        except PlatformError as exc:
            failed = [
                Outcome(
                    c.id, OutcomeStatus.FAILED, message=str(exc), request_id=exc.request_id or ""
                )
                for c in sent
            ]
            done = [*settled.values(), *failed]
            journal.record(done)
            return done
        assert self._state is not None
        tab = self._state.tabs[name]
        deleted = (
            []
            if reply is None
            else [
                Outcome(
                    c.id,
                    OutcomeStatus.APPLIED,
                    live=None,
                    message=moved(c, targeted[c.id]),
                    request_id=row_range(tab, targeted[c.id]),
                )
                for c in sent
            ]
        )
        done = [*settled.values(), *deleted]
        journal.record(done)
        return done

    # --- verification -------------------------------------------------------------------------

    def verify(
        self,
        action: str,
        params: Mapping[str, Any],
        state: SheetsState,
        ctx: StepContext = NO_CONTEXT,
    ) -> Verdict:
        return verify_step(action, state, params, ctx)

    def live_values(self, changes: Sequence[Change]) -> dict[str, Any]:
        """The live value of each `set_cell` change's cell, from a fresh read of its tab (the
        client's rows located again, as apply does); None where the row or column is gone.
        Rows removed or appended have no value to read back: only cells are restorable."""
        if self._state is None:
            raise InputError("read_state must run before live_values")
        rows_of = [c for c in changes if c.entity_type != "cell"]
        if rows_of:
            raise PlatformError(
                f"Google Sheets cannot read back a {rows_of[0].entity_type} "
                f"change ({rows_of[0].name}): only cells are restorable"
            )
        live: dict[str, Any] = {}
        self._ensure_read([tracker_of(c) for c in changes])
        for name in sorted({tracker_of(c) for c in changes}):
            tab = self._fresh(name)
            rows = tab.client_rows()
            for ch in (c for c in changes if tracker_of(c) == name):
                n, col = cell_of(tab, ch)
                live[ch.id] = None if n >= len(rows) or col is None else tab.cell(rows[n], col)
        return live

    def same_value(self, change: Change, live: Any, target: Any) -> bool:
        """Equal text or the same date (a date may read back as the sheet formats it); a
        missing row (None) is no value at all, not an empty cell."""
        if live is None or target is None:
            return live is None and target is None
        return same_value(live, target)

    def close(self) -> None:
        self._at_once.close()
        with self._lock:
            https, self._https = self._https, []
        for http in https:
            for conn in list(getattr(http.http, "connections", {}).values()):
                conn.close()
        self._local = threading.local()


def _tabs_of(trackers: Sequence[SheetsTracker], spreadsheet_id: str) -> list[str]:
    """The distinct tabs of spreadsheet `spreadsheet_id` among `trackers`, in order."""
    return list(dict.fromkeys(t.tab for t in trackers if t.spreadsheet_id == spreadsheet_id))


def _value_range(body: Mapping[str, Any], index: int, count: int) -> Mapping[str, Any]:
    """The `index`th of a batchGet reply's value ranges (one per requested range, in order)."""
    found = body.get("valueRanges") or []
    if len(found) != count:
        raise PlatformError(
            f"Google Sheets answered {len(found)} value ranges for {count} requested"
        )
    return dict(found[index])
