"""Embedding, vector search and composing answers; :class:`index.library.Library` ties them together."""
