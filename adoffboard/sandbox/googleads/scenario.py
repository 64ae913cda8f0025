"""Google Ads stand-in: the checks of scenario values (one clear line per bad value)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from adoffboard.sandbox.googleads.model import _enum_names


def _mapping(where: str, raw: Any, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a mapping, got {type(raw).__name__}")
    unknown = set(raw) - required - optional
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(required | optional)}"
        )
    missing = required - set(raw)
    if missing:
        raise ValueError(f"{where}: missing key(s) {sorted(missing)}")
    return dict(raw)


def _cid(where: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{10}", value):
        raise ValueError(
            f"{where}: customer id must be a quoted string of 10 digits without "
            f"dashes, got {value!r}"
        )
    return value


def _id(where: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,19}", value):
        raise ValueError(f"{where}: id must be a quoted string of digits, got {value!r}")
    return value


def _choice(where: str, value: Any, gaql_field: str) -> str:
    allowed = _enum_names(gaql_field)
    if value not in allowed:
        raise ValueError(f"{where}: {value!r} is not one of {sorted(allowed)}")
    return str(value)


def _micros(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{where}: must be a positive integer of micros, got {value!r}")
    return value


def _when(where: str, value: Any) -> dt.datetime:
    """ISO datetime (naive = UTC), a YAML timestamp, or relative to now: -3d, -5h, -30m."""
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, str) and (m := re.fullmatch(r"-(\d+)([dhm])", value.strip())):
        unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
        when = dt.datetime.now(dt.UTC) - dt.timedelta(**{unit: int(m.group(1))})
    else:
        try:
            when = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError(
                f"{where}: 'at' must be an ISO datetime or -Nd/-Nh/-Nm, got {value!r}"
            ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
