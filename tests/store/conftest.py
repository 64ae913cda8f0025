"""The store's tests take their database fixtures from `store_support`."""

from store_support import clock, empty_pg_url, pg_url, store, store_url  # noqa: F401
