"""Articles: storage, chunking into quotable passages, reading files, the built-in article."""
