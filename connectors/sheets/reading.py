"""Google Sheets trackers: the connector's transport and its reads (`SheetsReading`, the base of
`SheetsConnector`).

The transport: credentials (an access token, a user's refresh token, or a service account key),
and one Sheets service per thread over its own `httplib2.Http` (read-only for a dry run,
write-once otherwise). The reads: each spreadsheet's title checked and its tabs' sheetIds
(`spreadsheets.get`), then its tracker tabs' values (`values.batchGet`), parsed into `Tab`s; and
one tab read again (`_read_tab`), as every write does right before it is sent.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adoffboard.config import Manifest
from adoffboard.connectors.base import Connector, ConnectorContext
from adoffboard.connectors.sheets.client import translate
from adoffboard.connectors.sheets.declaration import SheetsSettings, SheetsTracker, client_keys
from adoffboard.connectors.sheets.planning import ClientFacts, SheetsState, Tab
from adoffboard.connectors.sheets.requests import batch_get_values, get_spreadsheet, get_values
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
from adoffboard.errors import AuthError, InputError, PlatformError, TenantMismatch

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
# requests on the wire at once: a read pass's (two per spreadsheet)
# (reads only: writes go one at a time); Sheets' per-minute quotas count requests, not their overlap
PARALLEL = 8


class SheetsReading(Connector[SheetsState]):
    """The Sheets connector's setup, transport and reads; `SheetsConnector` plans, writes and
    verifies on top of them."""

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

    def take_over(self, reader: Connector[SheetsState], manifest: Manifest, state: Any) -> bool:
        """The plan's read of the trackers, with the client's key in each (every write reads
        its row again first: rows shift)."""
        if type(reader) is not type(self) or not isinstance(reader, SheetsReading):
            return False
        self._keys, self._state = dict(reader._keys), state
        return True

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
