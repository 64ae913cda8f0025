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

from adoffboard.models import Plan, canonical_text

SCHEME = "hmac-sha256"


def sign(key: bytes, body: dict[str, Any]) -> str:
    """The signature of a document body, as stored beside it: `hmac-sha256:<hex>`."""
    return sign_text(key, canonical_text(body))


def verify(key: bytes, body: dict[str, Any], signature: object) -> bool:
    """Whether `signature` is this key's signature of `body` (constant-time comparison)."""
    return verify_text(key, canonical_text(body), signature)


def sign_plan(key: bytes, plan: Plan) -> str:
    """The signature of a plan, over its canonical text (`Plan.canonical`, computed once)."""
    return sign_text(key, plan.canonical)


def verify_plan(key: bytes, plan: Plan, signature: object) -> bool:
    """Whether `signature` is this key's signature of `plan` (constant-time comparison)."""
    return verify_text(key, plan.canonical, signature)


def sign_text(key: bytes, canonical: str) -> str:
    """The signature of a body's canonical text (`adoffboard.models.canonical_text`)."""
    digest = hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{SCHEME}:{digest}"


def verify_text(key: bytes, canonical: str, signature: object) -> bool:
    """Whether `signature` is this key's signature of the canonical text `canonical`."""
    if not isinstance(signature, str) or not signature.startswith(f"{SCHEME}:"):
        return False
    return hmac.compare_digest(sign_text(key, canonical), signature)
