"""`adoffboard auth microsoft-ads` against the stand-in's Microsoft identity endpoints (code
exchange and refresh over HTTP, then the connector refreshing with what was stored) and
`adoffboard auth meta` against the Graph stand-in's `debug_token`."""

from __future__ import annotations

import tomllib

import pytest
from auth_support import mode, run_auth, secret_files
from google_rest_support import manifest

from adoffboard.clock import FakeClock
from adoffboard.config import load_workspace
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.retry import RetryPolicy

APP_SECRET = "meta-app-secret-0123456789"
SYSTEM_TOKEN = "EAAGsystemusertoken0123456789abcdef"


@pytest.mark.standins("microsoft_ads")
def test_microsoft_code_exchange_and_refresh_then_the_connector_signs_in(sandbox, workspace):
    msads = sandbox.microsoft_ads
    msads.oauth.clients = {"0f1e2d3c-agency-app": ""}  # a desktop app: no secret
    toml = workspace / "adoffboard.toml"
    done = run_auth(
        workspace,
        "microsoft-ads",
        "--client-id",
        "0f1e2d3c-agency-app",
        "--no-browser",
        "--login-endpoint",
        msads.url,
        "--store",
        "file",
    )
    assert done.returncode == 0, done.stderr
    assert msads.oauth.grants == ["authorization_code", "refresh_token"]
    calls = [e.method for e in sandbox.log if e.method.startswith("oauth2.")]
    assert calls == ["oauth2.authorize", "oauth2.token", "oauth2.token"]
    stored = secret_files(workspace)
    refresh = stored["microsoft_ads.refresh_token"]
    assert refresh.startswith("sandbox-msads-refresh-")
    assert refresh not in toml.read_text() and refresh not in done.stdout + done.stderr
    table = tomllib.loads(toml.read_text())["platforms"]["microsoft_ads"]
    assert table["refresh_token"] == "file:.adoffboard/secrets/microsoft_ads.refresh_token"
    assert table["login_endpoint"] == msads.url
    assert table["access_token"] == ""
    assert table["developer_token"] == "sandbox:"  # already configured: not asked again
    assert mode(workspace / ".adoffboard" / "secrets" / "microsoft_ads.refresh_token") == 0o600

    # the connector signs in with the stored refresh token (a third exchange) and reads
    reader = build(
        "microsoft_ads",
        ConnectorContext(
            settings=load_workspace(workspace).platform_settings("microsoft_ads") or {},
            workspace_root=workspace,
            read_only=True,
            clock=FakeClock(),
            retry=RetryPolicy(attempts=2, timeout=10),
            agency_identities=[],
        ),
    )
    reader.read_state(manifest())
    assert "GetCampaignsByAccountId" in [e.method for e in sandbox.log]
    assert msads.oauth.grants == ["authorization_code", "refresh_token", "refresh_token"]


@pytest.mark.standins("microsoft_ads")
def test_a_refresh_token_microsoft_refuses_is_an_auth_error(sandbox, workspace, tmp_path):
    from adoffboard.connectors.microsoft_ads import oauth
    from adoffboard.errors import AuthError

    grant = oauth.grant_for("0f1e2d3c-agency-app", "", "production", "")
    with pytest.raises(AuthError, match="invalid_grant"):
        oauth.refresh(grant, sandbox.microsoft_ads.url, "a-revoked-refresh-token")


@pytest.mark.standins("meta")
def test_meta_token_checked_with_debug_token_then_stored_by_reference(sandbox, cli, workspace):
    sandbox.meta.app_secret = APP_SECRET
    toml = workspace / "adoffboard.toml"
    result = cli(
        "auth",
        "meta",
        "--store",
        "file",
        input=f"{APP_SECRET}\n{SYSTEM_TOKEN}\n",
    )
    assert result.exit_code == 0, result.output
    assert [e.method for e in sandbox.log] == ["debug_token"]
    assert "debug_token: valid, SYSTEM_USER, no expiry" in result.output
    text = toml.read_text()
    assert APP_SECRET not in text and SYSTEM_TOKEN not in text
    assert APP_SECRET not in result.output and SYSTEM_TOKEN not in result.output
    table = tomllib.loads(text)["platforms"]["meta"]
    assert table["access_token"] == "file:.adoffboard/secrets/meta.access_token"
    assert table["app_secret"] == "file:.adoffboard/secrets/meta.app_secret"
    assert secret_files(workspace) == {
        "meta.access_token": SYSTEM_TOKEN,
        "meta.app_secret": APP_SECRET,
    }


@pytest.mark.standins("meta")
@pytest.mark.parametrize(
    ("token", "secret", "message"),
    [
        ({"scopes": ["ads_read"]}, APP_SECRET, "lacks ads_management"),
        ({"is_valid": False}, APP_SECRET, "not valid"),
        ({}, "a-wrong-app-secret", "Invalid appsecret_proof"),
    ],
    ids=["missing-scope", "invalid-token", "wrong-app-secret"],
)
def test_a_meta_token_that_would_not_work_is_refused_and_nothing_changes(
    sandbox, cli, workspace, token, secret, message
):
    sandbox.meta.app_secret = APP_SECRET
    sandbox.meta.token = token
    before = (workspace / "adoffboard.toml").read_text()
    result = cli("auth", "meta", "--store", "file", input=f"{secret}\n{SYSTEM_TOKEN}\n")
    assert result.exit_code == 5, result.output
    assert message in result.output
    assert "Traceback" not in result.output and SYSTEM_TOKEN not in result.output
    assert (workspace / "adoffboard.toml").read_text() == before
    assert secret_files(workspace) == {}
