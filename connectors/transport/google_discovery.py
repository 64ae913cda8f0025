"""The Google REST connectors' discovery-built services (`google-api-python-client`).

- `build_service`: a service over a read-only (`ReadOnlyHttp`) or write-once (`WriteOnceHttp`)
  transport, authorised by the connector's credentials;
- `discovery_document`, `lean_schemas`: the bundled discovery document, read once per process,
  its schemas cut to their property names;
- `shared_resource`, `discovery_service`, `Collections`: the resource built once per process and
  endpoint, its requests sent over each connector's (or thread's) own transport.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from typing import Any

import httplib2

from adoffboard.connectors.transport.google import (
    ReadOnlyHttp,
    WriteOnceHttp,
    _refusal,
    token_uri,
)
from adoffboard.errors import PlatformError


def build_service(
    api: str, version: str, *, creds: Any, root: str, read_only: bool, timeout: float
) -> Any:
    """A `google-api-python-client` service from its bundled discovery document.

    `root` replaces the document's root URL and service path (e.g. 'http://127.0.0.1:PORT/');
    empty keeps Google's own host.
    """
    import google_auth_httplib2

    inner = (
        ReadOnlyHttp(timeout=timeout, token_endpoint=token_uri(creds))
        if read_only
        else WriteOnceHttp(timeout=timeout)
    )
    http = google_auth_httplib2.AuthorizedHttp(creds, http=inner)
    return discovery_service(api, version, http=http, endpoint=root)


_DOCUMENTS: dict[tuple[str, str], str] = {}


def discovery_document(api: str, version: str) -> str:
    """The API's discovery document as `google-api-python-client` bundles it (what
    `build(..., static_discovery=True)` reads), read from disk once per process, its schemas
    cut to their property names (`lean_schemas`)."""
    found = _DOCUMENTS.get((api, version))
    if found is None:
        from googleapiclient.discovery_cache import get_static_doc

        raw = get_static_doc(api, version)
        if raw is None:
            raise PlatformError(
                f"google-api-python-client has no discovery document for {api} {version}"
            )
        found = _DOCUMENTS[(api, version)] = lean_schemas(raw)
    return found


def lean_schemas(document: str) -> str:
    """The document with each schema cut to its property names.

    googleapiclient reads the schemas for two things only: each method's docstring (the body
    and the reply written out, nested schemas expanded: for Sheets, half a second and some
    70 MB for its first collection) and whether a list method's reply has a `nextPageToken`
    (for its `list_next`), which needs the reply's property names alone. URLs, parameters and
    bodies come from the methods' descriptions, which stay whole: the requests sent are the
    same."""
    parsed = json.loads(document)
    parsed["schemas"] = {
        name: {
            "id": name,
            "type": schema.get("type", "object"),
            "properties": {p: {"type": "any"} for p in schema.get("properties") or {}},
        }
        for name, schema in (parsed.get("schemas") or {}).items()
    }
    return json.dumps(parsed)


class _Unbound(httplib2.Http):
    """The transport of the per-process resources (`shared_resource`): it sends nothing.

    Every request built from a shared resource is bound to its connector's own transport before
    it is sent (`Collections`); one that were not would fail here, before leaving the process,
    rather than go out unauthenticated or unguarded.
    """

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        raise _refusal(method.upper(), uri, "an unbound")


class _Node:
    """One resource of a discovery-built service, and its collections built once each."""

    def __init__(self, resource: Any) -> None:
        self.resource = resource
        self._children: dict[str, _Node] = {}
        self._lock = threading.Lock()

    def child(self, name: str, make: Callable[[], Any]) -> _Node:
        found = self._children.get(name)
        if found is None:
            with self._lock:
                found = self._children.get(name)
                if found is None:
                    found = self._children[name] = _Node(make())
        return found


_SHARED: dict[tuple[str, str, str], _Node] = {}
_SHARED_LOCK = threading.Lock()


def shared_resource(api: str, version: str, endpoint: str) -> _Node:
    """The service built from the bundled discovery document, once per process and endpoint.

    Building it parses the document and writes every method's documentation from its schemas
    (Sheets': tens of milliseconds and megabytes per build); requests are cheap to make from a
    built resource, and making them shares nothing that changes, so every connector and thread
    builds its requests from this one. Its own transport sends nothing (`_Unbound`): each
    request is sent over its connector's (`Collections`), one per thread, as httplib2 wants.
    """
    key = (api, version, endpoint)
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None:
            from googleapiclient.discovery import build_from_document

            options = {"api_endpoint": endpoint} if endpoint else None
            resource = build_from_document(
                discovery_document(api, version), http=_Unbound(), client_options=options
            )
            found = _SHARED[key] = _Node(resource)
    return found


def discovery_service(api: str, version: str, *, http: Any, endpoint: str) -> Collections:
    """The service over `http` (one per connector, or per thread: httplib2 is not
    thread-safe), its requests made from the per-process resource (`shared_resource`).
    `endpoint` replaces the document's root URL and service path; empty keeps Google's own
    host."""
    return Collections(shared_resource(api, version, endpoint), http)


class Collections:
    """A discovery-built resource bound to one transport: the requests its methods make are
    sent over `http` (googleapiclient's documented way to give each thread its own: a request's
    `http`), and its collections (`service.spreadsheets()`, `.values()`) are the per-process
    ones, bound the same way.

    `close` closes this transport's connections, not the shared resource's.
    """

    def __init__(self, node: _Node, http: Any) -> None:
        self._node = node
        self._http = http

    @property
    def http(self) -> Any:
        return self._http

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._node.resource, name)
        if getattr(attr, "__is_resource__", False):
            return functools.partial(self._collection, name, attr)
        if not callable(attr):
            return attr
        return functools.partial(self._bound, attr)

    def _collection(self, name: str, make: Callable[[], Any]) -> Collections:
        return Collections(self._node.child(name, make), self._http)

    def _bound(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from googleapiclient.http import HttpRequest

        made = method(*args, **kwargs)
        if isinstance(made, HttpRequest):
            made.http = self._http
        return made

    def close(self) -> None:
        close = getattr(self._http, "close", None)
        if callable(close):
            close()
