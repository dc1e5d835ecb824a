"""Hostile input, property-tested: import files and URL checks never crash and never let bad input through.

Import files of any nesting depth and field size, and host names of any labels, as well as address spellings.

Quick profile in CI; the long one: `HYPOTHESIS_PROFILE=long pytest tests/test_hostile_input.py tests/corpus/test_chunking.py tests/bot/test_rendering.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import ipaddress
import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yarl
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.errors import BadInput
from corpus.fetching import FetchRefused, internet_name, literal_address, public_only, vet
from corpus.readers import MAX_FIELD_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, RowError, read_import_file

cells = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=300)
rows = st.lists(st.tuples(cells, cells, cells), max_size=12)


@given(rows=rows, extra=st.lists(st.text(max_size=40), max_size=3))
def test_csv_import_keeps_good_rows_and_reports_bad_ones(tmp_path_factory, rows, extra) -> None:
    """Any CSV with title/text columns: every row is either an article with both fields or a numbered error."""
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["title", "text", "date"])
    writer.writerows(rows)
    for line in extra:  # ragged garbage lines too
        buffer.write(line.replace("\n", " ") + "\n")
    path.write_text(buffer.getvalue(), encoding="utf-8")
    if "\x00" in buffer.getvalue():  # a NUL byte marks a binary file: refused whole, by design
        with pytest.raises(BadInput, match="binary"):
            read_import_file(path)
        return
    results = list(read_import_file(path))
    good = [r for r in results if not isinstance(r, RowError)]
    for line, article in good:
        assert line >= 2 and article.title.strip() and article.text.strip()
    for title, text, _ in rows:
        if title.strip() and text.strip():
            assert any(a.text == text for _, a in good)
    assert all(r.line >= 2 for r in results if isinstance(r, RowError))


@given(
    lines=st.lists(
        st.one_of(st.text(max_size=200), st.dictionaries(st.text(max_size=10), st.text(max_size=50))), max_size=10
    )
)
def test_jsonl_import_never_crashes(tmp_path_factory, lines) -> None:
    """Any JSON Lines file: good objects become articles, anything else a numbered error, never an exception."""
    path = tmp_path_factory.mktemp("jsonl") / "rows.jsonl"
    path.write_text(
        "{}\n" + "\n".join(json.dumps(x) if isinstance(x, dict) else x.replace("\n", " ") for x in lines),
        encoding="utf-8",
    )
    try:
        results = list(read_import_file(path))
    except BadInput:
        return  # a file that is not JSONL at all is refused whole
    for result in results:
        if not isinstance(result, RowError):
            assert result[1].title.strip() and result[1].text.strip()


@given(st.ip_addresses())
def test_any_address_is_public_or_refused_consistently(address) -> None:
    """Every IPv4 and IPv6 address gets a verdict, and a refused one is never global unicast in disguise."""
    verdict = public_only(address)
    if verdict is None:
        assert address.is_global and not address.is_multicast
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            assert address.ipv4_mapped.is_global


hosts = st.one_of(
    st.ip_addresses(v=4).map(lambda a: str(int(a))),  # decimal spelling
    st.ip_addresses(v=4).map(lambda a: hex(int(a))),  # hex spelling
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.ip_addresses(v=4).map(str),
)


@given(host=hosts, scheme=st.sampled_from(["http", "https", "ftp", "file", "gopher"]), creds=st.booleans())
def test_url_vetting_never_lets_a_non_public_address_through(host: str, scheme: str, creds: bool) -> None:
    """Whatever the spelling, a URL passes only if it is http(s), has no credentials, and names a public address."""
    url = f"{scheme}://{'u:p@' if creds else ''}{host}/story"
    try:
        target = asyncio.run(vet(url, public_only))
    except FetchRefused:
        return
    assert scheme in {"http", "https"} and not creds
    assert public_only(ipaddress.ip_address(target.address)) is None


class Raw(str):
    """A line written as it is (not through json.dumps)."""


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)
depths = st.one_of(st.integers(1, 2_000), st.sampled_from([5_000, 100_000, 200_000]))
jsonl_lines = st.one_of(
    st.fixed_dictionaries({"title": cells, "text": cells}, optional={"source": json_values, "extra": json_values}),
    json_values,
    depths.map(lambda n: Raw("[" * n)),  # never closed
    depths.map(lambda n: Raw("[" * n + "]" * n)),
    depths.map(lambda n: Raw('{"title": "Deep", "text": "Nested below.", "extra": ' + "[" * n + "]" * n + "}")),
    depths.map(lambda n: Raw('{"a": ' * n + "1" + "}" * n)),
)


def decoded(line: object) -> object:
    """What a line holds once read as JSON, or a Raw for a line that cannot be read."""
    if not isinstance(line, Raw):
        return line
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return line


@given(lines=st.lists(jsonl_lines, max_size=8))
def test_jsonl_with_any_nesting_keeps_every_good_row(tmp_path_factory, lines) -> None:
    """Any JSON, nested to any depth or never closed: each object with a title and text is an article, every other line a numbered error."""
    path = tmp_path_factory.getbasetemp() / "nested.jsonl"  # one file, rewritten for each example
    first = {"title": "Head", "text": "A first row, so the file reads as JSON Lines."}
    encoded = [x if isinstance(x, Raw) else json.dumps(x) for x in [first, *lines]]
    path.write_text("\n".join(encoded), encoding="utf-8")
    results = list(read_import_file(path))
    assert [r.line if isinstance(r, RowError) else r[0] for r in results] == list(range(1, len(encoded) + 1))
    for line, result in zip([first, *lines], results, strict=True):
        value = decoded(line)
        title = "" if not isinstance(value, dict) or value.get("title") is None else str(value["title"]).strip()
        text = value.get("text") if isinstance(value, dict) else None
        good = isinstance(text, str) and bool(text.strip()) and 0 < len(title) <= MAX_TITLE_CHARS
        assert isinstance(result, RowError) != good, (value, result)


LIMITS = {"title": MAX_TITLE_CHARS, "text": MAX_TEXT_CHARS, "source": MAX_FIELD_CHARS, "url": MAX_FIELD_CHARS}
# A field and its size: any size around the title and outlet limits; a text of a few sizes, up to 3 MB.
changed_fields = st.one_of(
    st.tuples(st.sampled_from(["title", "source", "url", "date"]), st.integers(0, MAX_FIELD_CHARS + 100)),
    st.tuples(st.just("text"), st.sampled_from([0, 1, 500, MAX_TEXT_CHARS, MAX_TEXT_CHARS + 1])),
)


@given(changes=st.lists(changed_fields, min_size=1, max_size=3), form=st.sampled_from(["csv", "jsonl"]))
def test_huge_fields_are_numbered_errors_never_stored(tmp_path_factory, changes, form) -> None:
    """A field of any size around its limit: a row past a limit is a numbered error, every other row an article within the limits."""
    rows = []
    for name, size in changes:
        row = {"title": "Turnout report", "text": "Turnout reached 40 percent, officials said.", "date": "2017-11-02"}
        row[name] = "x" * size
        rows.append(row)
    path = tmp_path_factory.getbasetemp() / f"huge.{form}"  # one file, rewritten for each example
    if form == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["title", "text", "source", "url", "date"])
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    else:
        path.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    results = list(read_import_file(path))
    assert len(results) == len(rows)
    for (name, size), result in zip(changes, results, strict=True):
        too_long = size > LIMITS.get(name, MAX_FIELD_CHARS)
        empty = size == 0 and name in {"title", "text"}
        assert isinstance(result, RowError) == (too_long or empty), (name, size, result)
        if not isinstance(result, RowError):
            article = result[1]
            assert len(article.title) <= MAX_TITLE_CHARS and len(article.text) <= MAX_TEXT_CHARS
            assert all(len(v or "") <= MAX_FIELD_CHARS for v in (article.source, article.url, article.published))


# Host labels as a hostile URL might hold them: empty, over 63 characters, a NUL, spaces, any Unicode.
labels = st.one_of(
    st.text(st.characters(exclude_characters="/?#@:[]\\\t\r\n%"), max_size=70),
    st.sampled_from(["", "x" * 63, "x" * 64, "xn--", "-", "a\x00b", " ", "é" * 30, "\u200b", "ß", "EXAMPLE"]),
)


@given(labels=st.lists(labels, min_size=1, max_size=5))
def test_odd_host_names_are_refused_before_any_lookup_or_taken_by_the_resolver(labels: list[str]) -> None:
    """Any host labels: refused in one sentence with no lookup made, or a name Python's resolver and aiohttp both take."""
    url = f"http://{'.'.join(labels)}/story"
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return
    if not host or literal_address(host) is not None:
        return  # no name to look up (the literal spellings are covered above)
    try:
        name = internet_name(host)
    except FetchRefused:
        with pytest.raises(FetchRefused, match="not a valid web address"):
            asyncio.run(vet(url, public_only))  # refused before it would look anything up
        return
    assert yarl.URL.build(scheme="http", host=name).raw_host == name
    name.encode("idna")
    with contextlib.suppress(socket.gaierror):  # numeric-only: the name is checked, nothing is looked up
        socket.getaddrinfo(name, 80, flags=socket.AI_NUMERICHOST)


def test_profile_is_known() -> None:
    """The profile in use is one of the two documented ones."""
    assert settings().max_examples in {150, 10_000}
    assert Path(__file__).exists()
