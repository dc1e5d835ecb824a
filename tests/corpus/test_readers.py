"""Reading article files and bulk-import files: good rows in, bad rows reported by line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from corpus.errors import BadInput
from corpus.readers import (
    MAX_FIELD_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    RowError,
    outlet_from_dateline,
    parse_date,
    read_file_bytes,
    read_import_file,
    read_text,
)

TEXT = "WASHINGTON (Reuters) - Election officials said on Monday that the new voting machines passed audits."


def test_csv_bad_rows_reported_by_line_good_rows_kept(tmp_path: Path) -> None:
    """A CSV with an empty text and a missing title reports those lines and keeps the rest."""
    path = tmp_path / "a.csv"
    path.write_text(
        'title,text,date\n"Good one","' + TEXT + '","December 29, 2017"\n'
        '"No text","",\n'
        ',"Text without a title at all, long enough to count as an article.",\n'
        '"Multi\nline title","' + TEXT.replace("Monday", "Tuesday") + '",2017-12-30\n',
        encoding="utf-8",
    )
    rows = list(read_import_file(path))
    errors = [r for r in rows if isinstance(r, RowError)]
    good = [r for r in rows if not isinstance(r, RowError)]
    assert [(e.line, e.reason) for e in errors] == [(3, "the text is empty"), (4, "the title is empty")]
    assert [line for line, _ in good] == [2, 5]
    assert good[0][1].source == "Reuters" and good[0][1].published == "2017-12-29"


def test_gzipped_json_lines(tmp_path: Path) -> None:
    """JSON Lines, gzipped, with url/source/published, and a malformed line reported."""
    lines = [
        json.dumps(
            {"title": "T", "text": TEXT, "url": "https://example.org/a", "source": "AP", "published": "2017-11-02"}
        ),
        "{oops",
    ]
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    first, second = read_import_file(path)
    assert not isinstance(first, RowError)
    assert first[1].url == "https://example.org/a" and first[1].source == "AP"
    assert isinstance(second, RowError) and second.line == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,body\nx,y\n", "no 'title' and 'text' columns"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary file"),
        (b"", "is empty"),
        (b"\x1f\x8b\x08\x00garbage", "damaged gzip"),
    ],
)
def test_unreadable_import_files_refused_whole(tmp_path: Path, content: bytes, message: str) -> None:
    """A file that is not a usable CSV/JSONL is refused before any row is read."""
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(BadInput, match=message):
        read_import_file(path)


def read_text_file(path: Path):
    """Read a text file the way `add FILE` does."""
    return read_text(read_file_bytes(path, max_bytes=2_000_000), path.name)


def test_text_file_encodings_and_title(tmp_path: Path) -> None:
    """UTF-16 and cp1252 files decode; the first line suggests the title; binary is refused."""
    utf16 = tmp_path / "a.txt"
    utf16.write_text("# Voting machines audited\n\n" + TEXT, encoding="utf-16")
    document = read_text_file(utf16)
    assert document.suggested_title == "Voting machines audited" and TEXT in document.text
    cp1252 = tmp_path / "b.txt"
    cp1252.write_bytes("Caf\xe9 owners vote \x93yes\x94 on the new polling place today.".encode("latin-1"))
    assert "“yes”" in read_text_file(cp1252).text
    binary = tmp_path / "c.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(BadInput, match="binary"):
        read_text_file(binary)
    with pytest.raises(BadInput, match="no such file"):
        read_text_file(tmp_path / "missing.txt")


def test_dates_and_datelines() -> None:
    """Dates in the usual news forms become YYYY-MM-DD; a wire dateline names the outlet."""
    assert parse_date("December 29, 2017 ") == "2017-12-29"
    assert parse_date("2020-10-22T10:00:00") == "2020-10-22"
    assert parse_date("sometime in 2017") == "sometime in 2017"
    with pytest.raises(BadInput, match="YYYY-MM-DD"):
        parse_date("next tuesday", strict=True)
    assert outlet_from_dateline(TEXT) == "Reuters"
    assert outlet_from_dateline("No dateline here (Reuters) - at all") is None


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_text_not_binary(encoding: str) -> None:
    """UTF-16 text without a byte-order mark decodes (its NUL bytes fall in every other byte), binary stays refused."""
    document = read_text(("# Voting machines audited\n\n" + TEXT + " Café ☑").encode(encoding), "a.txt")
    assert document.suggested_title == "Voting machines audited" and document.text.endswith(TEXT + " Café ☑")
    for binary in (
        b"\x00\x01\x02" * 100,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        b"a\x00" * 50 + b"\x00\x00",
    ):
        with pytest.raises(BadInput, match="binary"):
            read_text(binary, "b.txt")


def test_deeply_nested_json_is_one_bad_row_and_good_rows_still_go_in(tmp_path: Path) -> None:
    """A line of 100,000 nested `[`, or an object holding one, is a numbered bad row; the file's good rows go in."""
    nested = "[" * 100_000 + "]" * 100_000
    lines = [
        json.dumps({"title": "First", "text": TEXT}),
        "[" * 100_000,
        '{"title": "Deep", "text": "' + TEXT + '", "extra": ' + nested + "}",
        json.dumps({"title": "Last", "text": TEXT.replace("Monday", "Friday")}),
    ]
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    rows = list(read_import_file(path))
    assert [r[1].title for r in rows if not isinstance(r, RowError)] == ["First", "Last"]
    assert [(r.line, r.reason) for r in rows if isinstance(r, RowError)] == [
        (2, "not valid JSON (nested too deeply)"),
        (3, "not valid JSON (nested too deeply)"),
    ]


def test_huge_titles_texts_and_fields_are_bad_rows(tmp_path: Path) -> None:
    """A title, text or outlet over its limit is a numbered bad row, refused before any chunking; good rows go in."""
    path = tmp_path / "huge.csv"
    path.write_text(
        "title,text,source\n"
        f'"{"T" * (MAX_TITLE_CHARS + 1)}","{TEXT}",\n'
        f'"Huge text","{"word " * (MAX_TEXT_CHARS // 5 + 1)}",\n'
        f'"Huge outlet","{TEXT}","{"O" * (MAX_FIELD_CHARS + 1)}"\n'
        f'"Fine","{TEXT}",\n',
        encoding="utf-8",
    )
    rows = list(read_import_file(path))
    assert [(r.line, r.reason) for r in rows if isinstance(r, RowError)] == [
        (2, f"the title is longer than {MAX_TITLE_CHARS:,} characters"),
        (3, f"the text is longer than {MAX_TEXT_CHARS:,} characters"),
        (4, f"the outlet is longer than {MAX_FIELD_CHARS:,} characters"),
    ]
    assert [r[1].title for r in rows if not isinstance(r, RowError)] == ["Fine"]


def test_messages_quote_at_most_an_excerpt_of_the_input() -> None:
    """A 3,000-character date is refused with a message that quotes only the start of it."""
    with pytest.raises(BadInput, match="YYYY-MM-DD") as refused:
        parse_date("2017-" + "9" * 3000, strict=True)
    assert len(str(refused.value)) < 150 and "2017-999" in str(refused.value)


def test_directories_are_refused_in_one_sentence(tmp_path: Path) -> None:
    """An import or a file to add that names a directory is refused as one, not with a traceback."""
    with pytest.raises(BadInput, match="is a directory, not a file"):
        read_import_file(tmp_path)
    with pytest.raises(BadInput, match="is a directory, not a file"):
        read_file_bytes(tmp_path, max_bytes=1_000)
