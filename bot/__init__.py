"""The Discord layer: a thin shell over :class:`index.library.Library`."""
