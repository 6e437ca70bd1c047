"""The store: one SQLAlchemy Core schema, run on SQLite (the sqlite3 module) or PostgreSQL (asyncpg)."""
