"""Alembic environment for the adoffboard state store.

`adoffboard.store.Store.open` configures Alembic in code (no alembic.ini) and hands over the
connection it already holds, inside the transaction that serialises concurrent upgrades; this file
then only runs the migrations on that connection. The fallbacks (a `sqlalchemy.url` main option, or
`--sql` offline mode) exist so an operator can also drive the same scripts with the `alembic`
tool, e.g. to hand a DBA the SQL for a shared PostgreSQL store.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from adoffboard.database import all_tables

metadata = all_tables()  # every package's tables (adoffboard.database.ALL_TABLE_MODULES)

config = context.config


def run_offline() -> None:
    """Emit SQL instead of executing it (`alembic upgrade head --sql`)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Use the caller's connection when given one (the normal path), else connect to the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            run_on(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
