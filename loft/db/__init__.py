"""The store: one SQLAlchemy Core schema, run on SQLite (aiosqlite) or PostgreSQL (asyncpg)."""
