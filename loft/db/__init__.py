"""The store: one SQLAlchemy Core schema, run on SQLite (the sqlite3 module) or PostgreSQL (asyncpg).

:mod:`loft.db.engine` is what services see (connections, transactions, submitted works and their contract);
:mod:`loft.db.sqlite` and :mod:`loft.db.postgres` drive each backend; :mod:`loft.db.private` holds the private
parts of SQLAlchemy they rely on."""
