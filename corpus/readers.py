"""Read articles from text files and bulk-import files (CSV or JSON Lines, gzipped or not)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from corpus.errors import BadInput
from corpus.records import NewArticle

#: The longest title an article may have: headlines run to 100 or 200 characters.
MAX_TITLE_CHARS = 1_000
#: The longest outlet, web address or date an article may have (longer addresses fail in most browsers).
MAX_FIELD_CHARS = 2_000
#: The longest text an article may have: some 150,000 words, over a hundred times a long news story.
MAX_TEXT_CHARS = 1_000_000
#: The most an import file may hold, un-gzipped: some 40,000 news articles, hours of embedding on a CPU.
MAX_IMPORT_BYTES = 200_000_000
#: The most ``ask -`` reads from standard input: some 100,000 questions.
MAX_QUESTION_BYTES = 10_000_000
_CHUNK_BYTES = 1 << 20
_GZIP_PIECE_BYTES = 1 << 16
# Control characters other than tab, line feed, vertical tab, form feed and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


_DATE_FORMATS = ("%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%m/%d/%Y")
# "WASHINGTON (Reuters) - ", "(Reuters) - " or "LONDON (AP) — ": the outlet named in a wire story's dateline.
_DATELINE = re.compile(r"^(?:[A-Z][A-Z .,'/-]{1,60} )?\(([A-Z][\w .&-]{1,40})\) [-—–]")


def excerpt(value: str, limit: int = 60) -> str:
    """``value`` quoted for a message, cut to ``limit`` characters: no message grows with its input."""
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def plural(n: int, noun: str) -> str:
    """``n`` and ``noun`` for a message: "1 passage", "2 passages" (regular plurals only)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def article_size_problem(article: NewArticle) -> str | None:
    """Why an article's title, text or another field is too long to store, or None."""
    if len(article.title) > MAX_TITLE_CHARS:
        return f"the title is longer than {MAX_TITLE_CHARS:,} characters"
    if len(article.text) > MAX_TEXT_CHARS:
        return f"the text is longer than {MAX_TEXT_CHARS:,} characters"
    for name, value in (("outlet", article.source), ("address", article.url), ("date", article.published)):
        if value is not None and len(value) > MAX_FIELD_CHARS:
            return f"the {name} is longer than {MAX_FIELD_CHARS:,} characters"
    return None


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
        raise BadInput(f"could not read the date {excerpt(value)}; write it as YYYY-MM-DD")
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
        text = _utf16_without_bom(data)
        if text is None:
            raise BadInput(f"{name} is a binary file, not text")
        return text
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()  # cp1252, Latin-1, Shift-JIS and the rest
    if best is None:
        raise BadInput(f"{name} is not readable text")
    return str(best)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text that has no byte-order mark, or None for anything else that holds NUL bytes.

    Text in a Latin script has a NUL in nearly every high byte of UTF-16 and almost none in the
    low ones, where binary data has its NULs anywhere; the decoded text must hold no control
    characters either.
    """
    sample = data[:8192]
    if len(data) % 2:
        return None
    for encoding, high, low in (("utf-16-le", sample[1::2], sample[0::2]), ("utf-16-be", sample[0::2], sample[1::2])):
        if high.count(0) * 2 > len(high) and low.count(0) * 100 <= len(low):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            return None if _CONTROL.search(text) else text
    return None


def read_file_bytes(path: Path, *, max_bytes: int) -> bytes:
    """A regular file's bytes, gunzipped when gzipped, refused in one sentence when missing or over ``max_bytes``.

    Devices (``/dev/zero``), FIFOs and sockets are refused before anything is read from them,
    so nothing can make this read forever or wait for a writer.
    """
    try:
        # Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as exc:
        raise BadInput(f"no such file: {path}") from exc
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise BadInput(f"{path} is a directory, not a file" if stat.S_ISDIR(mode) else f"{path} is not a regular file")
    with open(fd, "rb") as handle:
        try:
            return read_stream(handle, str(path), max_bytes=max_bytes)
        except OSError as exc:
            raise BadInput(f"cannot read {path}: {exc.strerror}") from exc


def read_stream(stream: BinaryIO, name: str, *, max_bytes: int) -> bytes:
    """At most ``max_bytes`` from a file or a pipe, gunzipped when gzipped; more is refused in one sentence.

    Reading stops one byte past the limit, and a gzip stream is unpacked only that far, so
    neither an endless stream nor a gzip bomb can fill the memory first.
    """
    chunks, size = [], 0
    while size <= max_bytes:
        chunk = stream.read(min(_CHUNK_BYTES, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    data = b"".join(chunks)
    if size <= max_bytes and data[:2] == b"\x1f\x8b":
        data = _gunzip(data, name, max_bytes)
    if size > max_bytes or len(data) > max_bytes:
        raise BadInput(f"{name} is larger than the {max_bytes / 1_000_000:.1f} MB limit")
    return data


def _gunzip(data: bytes, name: str, max_bytes: int) -> bytes:
    """Every gzip member of ``data`` unpacked, stopping one byte past ``max_bytes``."""
    unpacked = bytearray()
    view, position = memoryview(data), 0
    while position < len(data):
        if view[position : position + 2] != b"\x1f\x8b":
            if bytes(view[position:]).strip(b"\x00"):  # gzip allows NUL padding after the last member, nothing else
                raise BadInput(f"{name} is a damaged gzip file")
            break
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        while not inflater.eof:
            # Fed a piece at a time, so what is left over after a member is never a copy of the whole rest.
            piece = view[position : position + _GZIP_PIECE_BYTES]
            if not piece:
                raise BadInput(f"{name} is a damaged gzip file")
            try:
                unpacked += inflater.decompress(piece, max_bytes + 1 - len(unpacked))
            except zlib.error as exc:
                raise BadInput(f"{name} is a damaged gzip file") from exc
            if len(unpacked) > max_bytes:
                return bytes(unpacked)
            position += len(piece) - len(inflater.unused_data)
    return bytes(unpacked)


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
    article = NewArticle(title=title, text=text, source=source, url=field("url"), published=published)
    too_long = article_size_problem(article)
    return RowError(line, too_long) if too_long else (line, article)


def read_import_file(path: Path, *, default_source: str | None = None) -> Iterator[ImportRow]:
    """Yield ``(line, article)`` or :class:`RowError` for every row of a CSV or JSON Lines file.

    A file that cannot be read at all (missing, binary, no ``title``/``text``
    columns) raises :class:`BadInput` before the first row is yielded.
    """
    text = _decode(read_file_bytes(path, max_bytes=MAX_IMPORT_BYTES), str(path))
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
        except RecursionError:  # the decoder recurses once per level of nesting
            yield RowError(number, "not valid JSON (nested too deeply)")
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
