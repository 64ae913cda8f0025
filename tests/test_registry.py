"""The registry is built from the platforms' declarations: cheap to import, one declaration per
platform, and the workspace's settings and manifest models composed from it."""

from __future__ import annotations

import subprocess
import sys

from adoffboard.config import MANIFEST_PLATFORMS, PLATFORM_SETTINGS, Manifest
from adoffboard.connectors import REGISTRY, connector_class


def test_listing_platforms_imports_no_vendor_sdk(tmp_path):
    sdk = sorted({name.split(".")[0] for d in REGISTRY.values() for name in d.sdk})
    code = (
        "import sys, adoffboard.connectors, adoffboard.config, adoffboard.runbook; "
        f"print([m for m in {sdk!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout.strip()
    assert out == "[]"


def test_each_connector_is_its_declaration():
    for platform, declaration in REGISTRY.items():
        cls = connector_class(platform)
        assert cls.declaration is declaration
        assert not hasattr(cls, "actions")  # declared once, in the declaration
        assert declaration.module == f"adoffboard.connectors.{platform}.connector"


def test_workspace_and_manifest_are_composed_from_the_declarations():
    assert {p: d.settings for p, d in REGISTRY.items()} == PLATFORM_SETTINGS
    sections = {s.name for d in REGISTRY.values() for s in d.manifest}
    assert sections <= set(Manifest.model_fields)
    assert set(MANIFEST_PLATFORMS) == {
        s.name for d in REGISTRY.values() for s in d.manifest if s.model is not None
    }


def test_credential_fields_are_marked_secret():
    words = ("token", "secret", "password", "api_key", "headers")
    for platform, declaration in REGISTRY.items():
        fields = set(declaration.settings.model_fields)
        # an OAuth token endpoint's address (`token_uri`) names where, not what: not a secret
        credentials = {f for f in fields if any(w in f for w in words) and f != "token_uri"}
        assert credentials <= declaration.secrets, platform
    assert {"developer_token", "refresh_token", "client_secret"} <= REGISTRY["google_ads"].secrets
    assert "endpoint" not in REGISTRY["meta"].secrets
    assert {"client_id", "client_secret", "refresh_token"} <= REGISTRY["ga4"].secrets
