"""Read articles from text files and bulk-import files (CSV or JSON Lines, gzipped or not)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from corpus.store import NewArticle


class BadInput(ValueError):
    """Input that cannot become an article; the message is one sentence for the user."""


_DATE_FORMATS = ("%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%m/%d/%Y")
# "WASHINGTON (Reuters) - ", "(Reuters) - " or "LONDON (AP) — ": the outlet named in a wire story's dateline.
_DATELINE = re.compile(r"^(?:[A-Z][A-Z .,'/-]{1,60} )?\(([A-Z][\w .&-]{1,40})\) [-—–]")


def parse_date(value: str | None, *, strict: bool = False) -> str | None:
    """A date as YYYY-MM-DD; unparseable text is kept as written, or refused when ``strict``."""
    if value is None or not value.strip():
        return None
    text = " ".join(value.split())
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    if strict:
        raise BadInput(f"could not read the date {value!r}; write it as YYYY-MM-DD")
    return text


def outlet_from_dateline(text: str) -> str | None:
    """The outlet a wire story names in its dateline ("WASHINGTON (Reuters) - ..."), if any."""
    match = _DATELINE.match(text)
    return match.group(1).strip() if match else None


def _decode(data: bytes, name: str) -> str:
    """Decode text, refusing binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BadInput(f"{name} is not readable text") from exc
    if b"\x00" in data[:8192]:
        raise BadInput(f"{name} is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()  # cp1252, Latin-1, Shift-JIS and the rest
    if best is None:
        raise BadInput(f"{name} is not readable text")
    return str(best)


def read_file_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when gzipped; a missing or unreadable file is refused in one sentence."""
    return _read_bytes(path)


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise BadInput(f"no such file: {path}") from exc
    except IsADirectoryError as exc:
        raise BadInput(f"{path} is a directory, not a file") from exc
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from exc
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise BadInput(f"{path} is a damaged gzip file") from exc
    return data


@dataclass(frozen=True, slots=True)
class TextDocument:
    """An article's text and the title its first line suggests."""

    text: str
    suggested_title: str | None


def read_text(data: bytes, name: str) -> TextDocument:
    """Decode a plain-text or Markdown article, refusing binary and empty input."""
    text = _decode(data, name)
    if not text.strip():
        raise BadInput(f"{name} is empty")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first.lstrip("#").strip() or None
    if title and len(title) > 200:
        title = None
    return TextDocument(text, title)


@dataclass(frozen=True, slots=True)
class RowError:
    """A row of an import file that could not be read; the rest of the file still goes in."""

    line: int
    reason: str


ImportRow = tuple[int, NewArticle] | RowError


def _row_to_article(row: dict[str, object], line: int, default_source: str | None) -> ImportRow:
    def field(*names: str) -> str | None:
        for name in names:
            value = row.get(name)
            if value is not None and not isinstance(value, str):
                value = str(value)
            if value and value.strip():
                return value.strip()
        return None

    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        return RowError(line, "the text is empty")
    title = field("title")
    if not title:
        return RowError(line, "the title is empty")
    source = field("source", "outlet") or outlet_from_dateline(text) or default_source
    published = parse_date(field("date", "published"))
    return line, NewArticle(title=title, text=text, source=source, url=field("url"), published=published)


def read_import_file(path: Path, *, default_source: str | None = None) -> Iterator[ImportRow]:
    """Yield ``(line, article)`` or :class:`RowError` for every row of a CSV or JSON Lines file.

    A file that cannot be read at all (missing, binary, no ``title``/``text``
    columns) raises :class:`BadInput` before the first row is yielded.
    """
    text = _decode(_read_bytes(path), str(path))
    if not text.strip():
        raise BadInput(f"{path} is empty")
    first = text.lstrip()[:1]
    if first in "{[":
        return _read_jsonl(text, default_source)
    return _read_csv(text, path, default_source)


def _read_jsonl(text: str, default_source: str | None) -> Iterator[ImportRow]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RowError(number, f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            yield RowError(number, "not a JSON object")
            continue
        yield _row_to_article(row, number, default_source)


def _read_csv(text: str, path: Path, default_source: str | None) -> Iterator[ImportRow]:
    csv.field_size_limit(1 << 30)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    if not {"title", "text"} <= columns:
        raise BadInput(f"{path} has no 'title' and 'text' columns (found: {', '.join(sorted(columns)) or 'none'})")

    def rows() -> Iterator[ImportRow]:
        start = reader.line_num + 1
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RowError(start, f"not valid CSV ({exc})")
                start = reader.line_num + 1
                continue
            row = {(k or "").strip().lower(): v for k, v in raw.items()}
            if None in raw.values() or row.get(""):
                yield RowError(start, "the row has the wrong number of columns")
            else:
                yield _row_to_article(row, start, default_source)
            start = reader.line_num + 1

    return rows()
