"""The embedded backend: SQLite for articles and activity, FTS5 for lexical search (the default)."""
