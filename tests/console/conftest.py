"""The console's tests take their fixtures from `console_support` (and the store's from
`store_support`, for PostgreSQL)."""

from console_support import browser, console, console_clock, console_workspace  # noqa: F401
from store_support import empty_pg_url, pg_url  # noqa: F401
