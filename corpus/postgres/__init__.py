"""The server backend: PostgreSQL with pgvector, shared by every process that names it in DATABASE_URL."""
