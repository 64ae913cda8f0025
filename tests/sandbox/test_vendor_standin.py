"""The vendor stand-in behind the generic `http` step: bearer auth, hold, removal, faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from adoffboard.connectors.http.declaration import HttpSettings
from adoffboard.sandbox.core import FaultPlan, FaultRule, RequestLog
from adoffboard.sandbox.vendor import VendorStandIn

AUTH = {"Authorization": "Bearer t"}


@pytest.fixture
def vendor() -> Iterator[VendorStandIn]:
    standin = VendorStandIn(
        {
            "accounts": [{"id": "FL-1", "name": "Lakeside", "hold": False}],
            "advertisers": [{"id": "NC-1", "name": "Lakeside"}],
        },
        RequestLog(),
        FaultPlan(),
    )
    standin.start()
    yield standin
    standin.stop()


def test_needs_a_bearer_token(vendor):
    response = requests.get(f"{vendor.url}/accounts/FL-1", timeout=5)
    assert response.status_code == 401 and response.headers["X-Request-Id"]


def test_hold_then_read_back(vendor):
    assert (
        requests.get(f"{vendor.url}/accounts/FL-1", headers=AUTH, timeout=5).json()["hold"] is False
    )
    assert (
        requests.post(f"{vendor.url}/accounts/FL-1/hold", headers=AUTH, timeout=5).status_code
        == 200
    )
    assert (
        requests.get(f"{vendor.url}/accounts/FL-1", headers=AUTH, timeout=5).json()["hold"] is True
    )
    assert [e.method for e in vendor.log.mutating()] == ["accounts.hold"]


def test_removal_then_404(vendor):
    assert (
        requests.delete(f"{vendor.url}/advertisers/NC-1", headers=AUTH, timeout=5).status_code
        == 204
    )
    assert (
        requests.get(f"{vendor.url}/advertisers/NC-1", headers=AUTH, timeout=5).status_code == 404
    )


def test_partial_failure_refuses_the_matching_write(vendor):
    vendor.faults.add(
        FaultRule(
            kind="partial_failure", platform="http", match={"resource": "account", "id": "FL-1"}
        )
    )
    response = requests.post(f"{vendor.url}/accounts/FL-1/hold", headers=AUTH, timeout=5)
    assert response.status_code == 409 and vendor.accounts["FL-1"]["hold"] is False


def test_its_settings_are_valid_and_disabled_by_default(vendor):
    settings = HttpSettings.model_validate(vendor.settings())
    assert set(settings.endpoints) == {"fluency_hold", "ninjacat_remove"}
    assert not any(e.enabled for e in settings.endpoints.values())
