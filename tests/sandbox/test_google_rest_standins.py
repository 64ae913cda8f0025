"""The GA4, Search Console and Tag Manager stand-ins, exercised only through the official client
libraries (`google-analytics-admin` REST, `google-api-python-client`) over loopback HTTP."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import google_auth_httplib2
import httplib2
import pytest
from google.analytics.admin_v1alpha import AnalyticsAdminServiceClient
from google.api_core import exceptions as core
from google.auth.exceptions import RefreshError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule, load_scenario

DEMO = Path(__file__).resolve().parents[2] / "adoffboard" / "sandbox" / "scenarios" / "demo.yaml"
ACCOUNT = "accounts/100200300"
SITE = "https://www.lakesidepowersports.example/"
T = 10


def section(platform: str) -> dict[str, Any]:
    return copy.deepcopy(load_scenario(DEMO)[platform])


@pytest.fixture
def box() -> Iterator[Sandbox]:
    sandbox = Sandbox({p: section(p) for p in ("ga4", "search_console", "tag_manager")}).start()
    yield sandbox
    sandbox.stop()


def admin(box: Sandbox, token: str = "test-token") -> AnalyticsAdminServiceClient:
    return AnalyticsAdminServiceClient(
        credentials=google.oauth2.credentials.Credentials(token=token),
        transport="rest",
        client_options={"api_endpoint": box.ga4.url},
    )


def service(box: Sandbox, api: str, version: str, token: str = "test-token") -> Any:
    root = (
        box.search_console.url
        if api in ("searchconsole", "siteVerification")
        else box.tag_manager.url
    )
    root += "/siteVerification/v1/" if api == "siteVerification" else "/"
    http = google_auth_httplib2.AuthorizedHttp(
        google.oauth2.credentials.Credentials(token=token), http=httplib2.Http(timeout=T)
    )
    return build(
        api,
        version,
        http=http,
        client_options={"api_endpoint": root},
        static_discovery=True,
        cache_discovery=False,
    )


def error_of(exc: HttpError) -> dict[str, Any]:
    return json.loads(exc.content)["error"]


# --- GA4 ----------------------------------------------------------------------------------------


def test_ga4_reads_through_the_sdk(box):
    client = admin(box)
    account = client.get_account(name=ACCOUNT, retry=None, timeout=T)
    assert account.display_name == "Lakeside Powersports"
    prop = client.get_property(name="properties/310000001", retry=None, timeout=T)
    assert prop.parent == ACCOUNT and prop.display_name == "lakesidepowersports.example"
    users = {b.user for b in client.list_access_bindings(parent=ACCOUNT, retry=None, timeout=T)}
    assert users == {
        "sem-team@agency.example",
        "analytics@agency.example",
        "owner@lakesidepowersports.example",
    }


def test_ga4_pages_its_lists(box):
    for n in range(7):
        box.ga4.state.add_binding(ACCOUNT, f"u{n}@example.com", ["predefinedRoles/viewer"])
    pager = admin(box).list_access_bindings(
        request={"parent": ACCOUNT, "page_size": 4}, retry=None, timeout=T
    )
    assert len(list(pager)) == 10  # the SDK's pager followed nextPageToken
    assert [e.method for e in box.log].count("ListAccessBindings") == 3


def test_ga4_batch_delete_is_all_or_nothing(box):
    client = admin(box)
    names = [f"{ACCOUNT}/accessBindings/acct-analytics", f"{ACCOUNT}/accessBindings/nope"]
    with pytest.raises(core.NotFound):
        client.batch_delete_access_bindings(
            request={"parent": ACCOUNT, "requests": [{"name": n} for n in names]},
            retry=None,
            timeout=T,
        )
    assert "analytics@agency.example" in box.ga4.state.users(ACCOUNT)
    with pytest.raises(core.BadRequest):
        client.batch_delete_access_bindings(
            request={"parent": ACCOUNT, "requests": [{"name": names[0]}] * 1001},
            retry=None,
            timeout=T,
        )
    client.batch_delete_access_bindings(
        request={"parent": ACCOUNT, "requests": [{"name": names[0]}]}, retry=None, timeout=T
    )
    assert "analytics@agency.example" not in box.ga4.state.users(ACCOUNT)
    with pytest.raises(core.NotFound):  # a second delete: gone
        client.delete_access_binding(name=names[0], retry=None, timeout=T)


def test_ga4_partial_failure_rejects_the_batch_naming_the_binding(box):
    box.faults.add(
        FaultRule(
            kind="partial_failure",
            platform="ga4",
            match={"resource": "binding", "id": "acct-analytics"},
        )
    )
    names = [f"{ACCOUNT}/accessBindings/acct-analytics", f"{ACCOUNT}/accessBindings/acct-sem-team"]
    # api_core picks the class by HTTP status: 400 is BadRequest whatever the status name
    with pytest.raises(core.BadRequest, match="acct-analytics cannot be changed"):
        admin(box).batch_delete_access_bindings(
            request={"parent": ACCOUNT, "requests": [{"name": n} for n in names]},
            retry=None,
            timeout=T,
        )
    assert len(box.ga4.state.users(ACCOUNT)) == 3


def test_ga4_caller_loses_access_with_its_last_binding(box):
    client = admin(box)
    box.ga4.caller = "analytics@agency.example"  # an editor: reads, cannot delete
    with pytest.raises(core.Forbidden, match="Administrator"):
        client.delete_access_binding(
            name=f"{ACCOUNT}/accessBindings/acct-owner", retry=None, timeout=T
        )
    box.ga4.caller = "sem-team@agency.example"
    client.delete_access_binding(
        name="properties/310000002/accessBindings/p2-sem-team", retry=None, timeout=T
    )
    client.get_property(name="properties/310000002", retry=None, timeout=T)  # account role
    client.delete_access_binding(
        name=f"{ACCOUNT}/accessBindings/acct-sem-team", retry=None, timeout=T
    )
    for call in (
        lambda: client.get_account(name=ACCOUNT, retry=None, timeout=T),
        lambda: client.get_property(name="properties/310000002", retry=None, timeout=T),
        lambda: list(client.list_access_bindings(parent=ACCOUNT, retry=None, timeout=T)),
    ):
        with pytest.raises(core.Forbidden):
            call()


@pytest.mark.parametrize(
    "kind,match,expected,reason",
    [
        ("resource_exhausted", {}, core.TooManyRequests, "rateLimitExceeded"),
        ("resource_exhausted", {"as": "403"}, core.Forbidden, "rateLimitExceeded"),
        ("internal", {}, core.InternalServerError, "backendError"),
        ("unavailable", {}, core.ServiceUnavailable, "backendError"),
    ],
    ids=["429", "403-rate", "500", "503"],
)
def test_ga4_faults_in_googles_envelope(box, kind, match, expected, reason):
    box.faults.add(FaultRule(kind=kind, platform="ga4", retry_delay_s=7, times=1, match=match))
    with pytest.raises(expected) as caught:
        admin(box).get_account(name=ACCOUNT, retry=None, timeout=T)
    assert caught.value.reason == reason and caught.value.errors[0]["reason"] == reason
    if kind == "resource_exhausted":
        retry = [d for d in caught.value.details if d["@type"].endswith("RetryInfo")]
        assert retry == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]


def test_bearer_token_is_required_and_checked(box):
    box.ga4.tokens = {"the-right-token"}
    # on a 401 the SDK's session tries to refresh, which a bare access token cannot do
    with pytest.raises(RefreshError):
        admin(box, token="a-wrong-token").get_account(name=ACCOUNT, retry=None, timeout=T)
    assert admin(box, token="the-right-token").get_account(name=ACCOUNT, retry=None, timeout=T)
    h = httplib2.Http(timeout=T)
    resp, _ = h.request(f"{box.ga4.url}/v1alpha/{ACCOUNT}", "GET")
    assert resp.status == 401
    assert all(e.status in ("401", "200") for e in box.log)


# --- Search Console and Site Verification -------------------------------------------------------


def test_search_console_sites_and_ownership(box):
    sites = service(box, "searchconsole", "v1").sites()
    assert sites.get(siteUrl=SITE).execute(num_retries=0) == {
        "siteUrl": SITE,
        "permissionLevel": "siteOwner",
    }
    listed = sites.list().execute(num_retries=0)["siteEntry"]
    assert {e["siteUrl"] for e in listed} == {SITE, "sc-domain:harbormarine.example"}
    owned = service(box, "siteVerification", "v1").webResource().list().execute(num_retries=0)
    assert [i["site"] for i in owned["items"]] == [{"type": "SITE", "identifier": SITE}]
    assert owned["items"][0]["id"] == "https%3A%2F%2Fwww.lakesidepowersports.example%2F"
    with pytest.raises(HttpError) as caught:
        sites.get(siteUrl="https://elsewhere.example/").execute(num_retries=0)
    assert caught.value.resp.status == 403


def test_relinquish_needs_the_token_removed_and_only_unverifies_the_caller(box):
    resources = service(box, "siteVerification", "v1").webResource()
    rid = resources.list().execute(num_retries=0)["items"][0]["id"]
    box.search_console.site(SITE).tokens_in_place.add("sem-team@agency.example")
    with pytest.raises(HttpError) as caught:
        resources.delete(id=rid).execute(num_retries=0)
    assert caught.value.resp.status == 400 and "still in place" in error_of(caught.value)["message"]
    box.search_console.site(SITE).tokens_in_place.clear()
    resources.delete(id=rid).execute(num_retries=0)
    site = box.search_console.site(SITE)
    assert site.verified_owners == ["owner@lakesidepowersports.example"]
    assert site.users["sem-team@agency.example"] == "siteUnverifiedUser"
    with pytest.raises(HttpError) as caught:
        resources.get(id=rid).execute(num_retries=0)
    assert caught.value.resp.status == 403
    sites = service(box, "searchconsole", "v1").sites()
    sites.delete(siteUrl=SITE).execute(num_retries=0)
    with pytest.raises(HttpError) as caught:
        sites.delete(siteUrl=SITE).execute(num_retries=0)
    assert caught.value.resp.status == 404
    assert [e.method for e in box.log.mutating()] == ["webResource.delete"] * 2 + [
        "sites.delete"
    ] * 2


# --- Tag Manager ----------------------------------------------------------------------------------


def test_tag_manager_permissions_and_paging(box):
    box.tag_manager.page_size = 3
    gtm = service(box, "tagmanager", "v2").accounts()
    assert (
        gtm.get(path="accounts/6001234567").execute(num_retries=0)["name"] == "Lakeside Powersports"
    )
    first = gtm.user_permissions().list(parent="accounts/6001234567").execute(num_retries=0)
    assert len(first["userPermission"]) == 3 and first["nextPageToken"]
    rest = (
        gtm.user_permissions()
        .list(parent="accounts/6001234567", pageToken=first["nextPageToken"])
        .execute(num_retries=0)
    )
    assert [p["emailAddress"] for p in rest["userPermission"]] == [
        "webmaster@lakesidepowersports.example"
    ]
    assert first["userPermission"][0]["accountAccess"] == {"permission": "admin"}
    gtm.user_permissions().delete(path="accounts/6001234567/user_permissions/101").execute(
        num_retries=0
    )
    with pytest.raises(HttpError) as caught:  # the caller was that admin: no access left
        gtm.get(path="accounts/6001234567").execute(num_retries=0)
    assert (
        caught.value.resp.status == 403 and error_of(caught.value)["status"] == "PERMISSION_DENIED"
    )


def test_tag_manager_enforces_the_project_rate_when_asked(box):
    box.tag_manager.enforce_rate_limit = True
    box.tag_manager.min_interval_s = 0.5
    gtm = service(box, "tagmanager", "v2").accounts()
    gtm.get(path="accounts/6001234567").execute(num_retries=0)
    with pytest.raises(HttpError) as caught:
        gtm.get(path="accounts/6001234567").execute(num_retries=0)
    error = error_of(caught.value)
    assert caught.value.resp.status == 429 and error["errors"][0]["reason"] == "rateLimitExceeded"
    delay = float(
        next(d["retryDelay"] for d in error["details"] if d["@type"].endswith("RetryInfo")).rstrip(
            "s"
        )
    )
    assert 0 < delay <= 0.5
    other = service(box, "tagmanager", "v2", token="another-project").accounts()
    other.get(path="accounts/6001234567").execute(num_retries=0)  # its own quota
    time.sleep(0.5)
    gtm.get(path="accounts/6001234567").execute(num_retries=0)
