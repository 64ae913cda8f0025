"""Plans bound to the workspace that made them.

A plan's `sha256` proves only that the file is whole: anyone can recompute it after editing a
change. So every plan this workspace makes is also signed: an HMAC-SHA256 over the same canonical
body, keyed by a secret that lives in the state store (`Store.plan_key`), never in a plan file.
`apply` accepts only a plan whose signature checks with that key, and `resume` checks the run's
stored plan the same way, so a plan edited on disk or in the store cannot drive a write.
The signature is an envelope key beside `sha256`, outside the body, so a plan's content hash (what
reports and change-request bindings name) does not change when it is signed.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from adoffboard.models import canonical_json

SCHEME = "hmac-sha256"


def sign(key: bytes, body: dict[str, Any]) -> str:
    """The signature of a plan body (`Plan.body()`), as stored beside it: `hmac-sha256:<hex>`."""
    digest = hmac.new(key, canonical_json(body), hashlib.sha256).hexdigest()
    return f"{SCHEME}:{digest}"


def verify(key: bytes, body: dict[str, Any], signature: object) -> bool:
    """Whether `signature` is this key's signature of `body` (constant-time comparison)."""
    if not isinstance(signature, str) or not signature.startswith(f"{SCHEME}:"):
        return False
    return hmac.compare_digest(sign(key, body), signature)
