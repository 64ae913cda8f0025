"""`adoffboard auth` for Google: the installed-app flow against the stand-in's OAuth endpoints
(consent, code exchange with PKCE, a refresh), a service account's key, and what lands in the
workspace: references only, secrets in 0600 files, the rest of adoffboard.toml as it was."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from auth_support import mode, run_auth, secret_files
from google_rest_support import manifest
from test_google_rest_credentials import service_account_key

from adoffboard.clock import FakeClock
from adoffboard.config import load_workspace
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.retry import RetryPolicy

pytestmark = pytest.mark.standins("ga4")
CLIENT_SECRET = "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"


def client_file(folder: Path, standin_url: str, secret: str = CLIENT_SECRET) -> Path:
    path = folder / "client_secret_desktop.json"
    path.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": "4711-agency.apps.googleusercontent.example",
                    "client_secret": secret,
                    "auth_uri": f"{standin_url}/o/oauth2/auth",
                    "token_uri": f"{standin_url}/token",
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return path


def oauth_calls(sandbox) -> list[str]:
    return [e.method for e in sandbox.log if e.method.startswith("oauth2.")]


def test_the_installed_app_flow_stores_references_and_the_connector_refreshes(
    sandbox, workspace, tmp_path
):
    ga4 = sandbox.ga4
    ga4.oauth.clients = {"4711-agency.apps.googleusercontent.example": CLIENT_SECRET}
    ga4.tokens = {"no-preset-token-works"}  # only tokens the stand-in issued are accepted
    toml = workspace / "adoffboard.toml"
    toml.write_text("# the agency's workspace: keep this comment\n" + toml.read_text())
    before = tomllib.loads(toml.read_text())

    done = run_auth(
        workspace,
        "ga4",
        "--client-secrets",
        str(client_file(tmp_path, ga4.url)),
        "--no-browser",
        "--store",
        "file",
    )

    assert done.returncode == 0, done.stderr
    # consent, the code exchange, and one refresh of the new refresh token: all over HTTP
    assert oauth_calls(sandbox) == ["oauth2.authorize", "oauth2.token", "oauth2.token"]
    assert ga4.oauth.grants == ["authorization_code", "refresh_token"]
    stored = secret_files(workspace)
    refresh = stored["ga4.refresh_token"]
    assert refresh.startswith("sandbox-google-refresh-")
    text = toml.read_text()
    for secret in (refresh, CLIENT_SECRET):
        assert secret not in text
        assert secret not in done.stdout + done.stderr
    assert text.startswith("# the agency's workspace: keep this comment\n")
    after = tomllib.loads(text)
    table = after["platforms"]["ga4"]
    assert table["refresh_token"] == "file:.adoffboard/secrets/ga4.refresh_token"
    assert table["client_secret"] == "file:.adoffboard/secrets/ga4.client_secret"
    assert table["token_uri"] == f"{ga4.url}/token"
    assert table["access_token"] == ""  # the sandbox placeholder no longer comes first
    assert {k: v for k, v in after.items() if k != "platforms"} == {
        k: v for k, v in before.items() if k != "platforms"
    }
    kept = {k: v for k, v in before["platforms"]["ga4"].items() if k != "access_token"}
    assert {k: table[k] for k in kept} == kept  # endpoint, timeout_s, attempts as they were
    assert mode(toml) == 0o600
    for name in stored:
        assert mode(workspace / ".adoffboard" / "secrets" / name) == 0o600

    # the GA4 connector now signs in with the stored refresh token: a third exchange
    ws = load_workspace(workspace)
    reader = build(
        "ga4",
        ConnectorContext(
            settings=ws.platform_settings("ga4") or {},
            workspace_root=workspace,
            read_only=True,
            clock=FakeClock(),
            retry=RetryPolicy(attempts=2, timeout=10),
            agency_identities=["analytics@agency.example"],
        ),
    )
    reader.read_state(manifest())
    assert ga4.oauth.grants == ["authorization_code", "refresh_token", "refresh_token"]


def test_a_pasted_address_of_another_sign_in_is_refused_and_nothing_changes(
    sandbox, workspace, tmp_path
):
    toml = workspace / "adoffboard.toml"
    before = toml.read_text()
    done = run_auth(
        workspace,
        "ga4",
        "--client-secrets",
        str(client_file(tmp_path, sandbox.ga4.url)),
        "--no-browser",
        "--store",
        "file",
        answer=lambda url: "http://localhost:1/?state=someone-else&code=abc",
    )
    assert done.returncode == 3, done.stderr
    assert "belongs to another sign-in" in done.stderr
    assert "Traceback" not in done.stderr
    assert toml.read_text() == before
    assert secret_files(workspace) == {}
    assert "oauth2.token" not in oauth_calls(sandbox)


def test_a_client_secret_the_token_endpoint_refuses_is_an_auth_error(sandbox, workspace, tmp_path):
    sandbox.ga4.oauth.clients = {"4711-agency.apps.googleusercontent.example": "the-real-one"}
    before = (workspace / "adoffboard.toml").read_text()
    done = run_auth(
        workspace,
        "ga4",
        "--client-secrets",
        str(client_file(tmp_path, sandbox.ga4.url, secret="a-wrong-secret")),
        "--no-browser",
        "--store",
        "file",
    )
    assert done.returncode == 5, done.stderr
    assert "invalid_client" in done.stderr
    assert "a-wrong-secret" not in done.stderr
    assert (workspace / "adoffboard.toml").read_text() == before
    assert secret_files(workspace) == {}


def test_a_service_account_key_is_checked_and_copied_private(sandbox, cli, workspace, tmp_path):
    key = service_account_key(tmp_path, f"{sandbox.ga4.url}/token")
    result = cli("auth", "ga4", "--service-account", str(key), "--store", "file")
    assert result.exit_code == 0, result.output
    copy = workspace / ".adoffboard" / "secrets" / "ga4.service-account.json"
    assert copy.read_text() == key.read_text() and mode(copy) == 0o600
    table = tomllib.loads((workspace / "adoffboard.toml").read_text())["platforms"]["ga4"]
    assert table["credentials_file"] == ".adoffboard/secrets/ga4.service-account.json"
    assert table["access_token"] == ""
    assert "PRIVATE KEY" not in (workspace / "adoffboard.toml").read_text()
    assert oauth_calls(sandbox) == ["oauth2.token"]  # the key obtained a token (JWT bearer)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a JSON service account key"),
        (json.dumps({"type": "authorized_user"}), "not a service account key"),
    ],
    ids=["not-json", "not-a-service-account"],
)
def test_a_bad_key_file_is_refused_in_one_line(sandbox, cli, workspace, tmp_path, content, message):
    key = tmp_path / "key.json"
    key.write_text(content)
    before = (workspace / "adoffboard.toml").read_text()
    result = cli("auth", "ga4", "--service-account", str(key), "--store", "file")
    assert result.exit_code == 3
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert (workspace / "adoffboard.toml").read_text() == before


def test_without_a_keyring_backend_the_store_says_so_before_anything(sandbox, cli, workspace):
    import keyring
    from keyring.backends import fail

    if not isinstance(keyring.get_keyring(), fail.Keyring):
        pytest.skip("this machine has a keyring backend")
    before = (workspace / "adoffboard.toml").read_text()
    result = cli("auth", "ga4", "--service-account", "/nonexistent.json")
    assert result.exit_code == 5
    assert "no keyring backend" in result.output and "--store file" in result.output
    assert (workspace / "adoffboard.toml").read_text() == before
    assert len(sandbox.log) == 0
