"""Hostile input, property-tested: import files and URL checks never crash and never let bad input through.

Quick profile in CI; the long one: `HYPOTHESIS_PROFILE=long pytest tests/test_hostile_input.py tests/corpus/test_chunking.py tests/bot/test_rendering.py`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import ipaddress
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.fetching import FetchRefused, public_only, vet
from corpus.readers import BadInput, RowError, read_import_file

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


def test_profile_is_known() -> None:
    """The profile in use is one of the two documented ones."""
    assert settings().max_examples in {150, 10_000}
    assert Path(__file__).exists()
