"""Credentials of the Google REST connectors: a service account's key file, refreshed at its own
token endpoint even through the read-only transport (which refuses every other write); the
`sandbox:` placeholder only on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google_rest_support import Journal, connect, manifest, sandbox_for

from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.errors import AuthError, DryRunViolation


@pytest.fixture
def box(monkeypatch):
    yield from sandbox_for("tag_manager", monkeypatch)


def service_account_key(folder: Path, token_uri: str) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = folder / "keys" / "adoffboard-sa.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "agency-offboarding",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "offboarding@agency-offboarding.iam.example",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path


def test_a_service_account_refreshes_through_the_read_only_transport(box, tmp_path):
    service_account_key(tmp_path, f"{box.tag_manager.url}/token")
    box.tag_manager.tokens = {"only-issued-tokens-work"}
    reader = connect(
        box,
        "tag_manager",
        tmp_path,
        read_only=True,
        access_token="",
        credentials_file="keys/adoffboard-sa.json",
    )
    state = reader.read_state(manifest())
    assert len(state.permissions) == 4
    methods = [e.method for e in box.log]
    assert methods[0] == "oauth2.token" and box.tag_manager.issued == 1
    assert box.log.mutating() == []
    changes = list(reader.plan("remove_access", {}, state, "s").changes)
    with pytest.raises(DryRunViolation, match="refused DELETE"):
        reader.apply(changes, Journal())  # the token endpoint is the only POST let through
    assert box.log.mutating() == []


def test_an_unreadable_key_file_is_an_auth_error(box, tmp_path):
    reader = connect(
        box,
        "tag_manager",
        tmp_path,
        read_only=True,
        access_token="",
        credentials_file="missing.json",
    )
    with pytest.raises(AuthError, match="cannot load a service account key"):
        reader.read_state(manifest())
    assert len(box.log) == 0


def test_the_sandbox_placeholder_needs_a_loopback_endpoint(tmp_path):
    ctx = ConnectorContext(
        settings={"endpoint": "https://tagmanager.googleapis.com", "access_token": "sandbox:"},
        workspace_root=tmp_path,
    )
    with pytest.raises(AuthError, match="only works with a loopback endpoint"):
        build("tag_manager", ctx).read_state(manifest())
