"""Fetching and extraction: real pages from a real server on 127.0.0.1; refusals proven on the listener."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from corpus.errors import BadInput
from corpus.extraction import extract_file, extract_page, make_article
from corpus.fetching import FetchRefused, allow_all, fetch_page, literal_address, public_only, vet
from corpus.records import normalise_url

ARTICLE_HTML = """<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Georgia to replace touchscreen voting machines | The Atlanta Ledger</title>
<meta property="og:site_name" content="The Atlanta Ledger">
<meta property="og:title" content="Georgia to replace touchscreen voting machines">
<meta property="article:published_time" content="2019-03-28T09:30:00Z">
<meta name="author" content="Dana Whitfield">
<script>window.dataLayer = [{"page": "article"}]; function track() { return "Subscribe now"; }</script>
<style>.cookie { position: fixed; }</style>
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all cookies</button></div>
<nav><ul><li><a href="/">Home</a></li><li><a href="/politics">Politics</a></li><li><a href="/sports">Sports</a></li></ul></nav>
<div class="ad">ADVERTISEMENT: Best mortgage rates in Atlanta, click here</div>
<main><article>
<h1>Georgia to replace touchscreen voting machines</h1>
<p class="byline">By Dana Whitfield, March 28, 2019</p>
<p>Georgia lawmakers voted on Thursday to replace the state's 17-year-old touchscreen voting machines with a new system that prints a paper record of every ballot, after years of warnings from security researchers.</p>
<p>The bill sets aside $150 million for the new machines, which Secretary of State Brad Raffensperger said would be in place for the 2020 presidential primary in every one of the state's 159 counties.</p>
<!-- a comment that must never be quoted: internal editor notes -->
<p>Critics said the machines, which print a barcode that voters cannot read, would still leave the count open to tampering, and urged the state to adopt hand-marked paper ballots instead.</p>
<aside class="related"><h3>Related stories</h3><ul><li><a href="/a">Falcons sign new quarterback</a></li><li><a href="/b">Weekend weather: rain expected</a></li></ul></aside>
</article></main>
<footer><p>Subscribe to our newsletter.</p><p>Follow us on Facebook and Twitter.</p><p>© 2019 The Atlanta Ledger. All rights reserved.</p></footer>
</body></html>"""
NAV_ONLY_HTML = (
    "<html><head><title>Home</title></head><body><nav><a href=/>Home</a> <a href=/x>Politics</a></nav></body></html>"
)


@dataclass
class Site:
    """The test web server's address and what it saw."""

    base: str
    port: int


class CountingListener:
    """A TCP listener that only counts the connections it accepts."""

    def __init__(self, host: str) -> None:
        """Listen on an ephemeral port of ``host``."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        """Stop listening."""
        self._stop = True
        self._thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[CountingListener]:
    """A listener on 127.0.0.1 that must never see a connection."""
    counting = CountingListener("127.0.0.1")
    yield counting
    counting.close()


@pytest.fixture(scope="module")
def second_listener() -> Iterator[CountingListener]:
    """A listener on 127.0.0.2, which the redirect test's policy refuses."""
    counting = CountingListener("127.0.0.2")
    yield counting
    counting.close()


@pytest.fixture(scope="module")
def site(listener: CountingListener, second_listener: CountingListener) -> Iterator[Site]:
    """A real HTTP server on 127.0.0.1 serving article pages, redirects and hostile responses."""
    loop = asyncio.new_event_loop()

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(7):  # 7 MB, streamed without a Content-Length
            await response.write(b"<p>" + b"x" * 1_000_000 + b"</p>")
        return response

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text=ARTICLE_HTML, content_type="text/html")

    def page(body: str | bytes, content_type: str = "text/html"):
        async def handler(request: web.Request) -> web.Response:
            data = body.encode() if isinstance(body, str) else body
            return web.Response(body=data, headers={"Content-Type": content_type})

        return handler

    def redirect(location: str):
        async def handler(request: web.Request) -> web.Response:
            raise web.HTTPFound(location.format(port=request.url.port, second=second_listener.port))

        return handler

    app = web.Application()
    app.router.add_get("/article.html", page(ARTICLE_HTML))
    app.router.add_get(
        "/plain.txt",
        page("Georgia will count paper ballots by hand in the audit, officials said on Monday.", "text/plain"),
    )
    app.router.add_get("/nav-only.html", page(NAV_ONLY_HTML))
    app.router.add_get("/report.pdf", page(b"%PDF-1.7 binary", "application/pdf"))
    app.router.add_get("/photo.png", page(b"\x89PNG\r\n", "image/png"))
    app.router.add_get("/huge", huge)
    app.router.add_get("/slow", slow)
    app.router.add_get("/to-article", redirect("/article.html"))
    app.router.add_get("/loop", redirect("/loop"))
    app.router.add_get("/to-file", redirect("file:///etc/passwd"))
    app.router.add_get("/to-credentials", redirect("http://admin:secret@127.0.0.1:{port}/article.html"))
    app.router.add_get("/to-private", redirect("http://2130706434:{second}/"))  # 127.0.0.2, spelt as a number
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(tcp.start())
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{port}", port)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def fetch(url: str, **kwargs) -> object:
    """Run the async fetcher from a synchronous test."""
    return asyncio.run(fetch_page(url, **kwargs))


def only_127_0_0_1(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """A test policy: the test server's address is allowed, everything else is checked as usual."""
    return None if str(address) == "127.0.0.1" else public_only(address) or "refused"


def test_article_page_body_quoted_chrome_dropped(site: Site) -> None:
    """A realistic news page yields its article paragraphs, title, outlet, date; no nav, ads, banners or footer."""
    page = fetch(f"{site.base}/article.html", policy=allow_all)
    extracted = extract_page(page.body, page.content_type, page.charset, page.url)  # type: ignore[attr-defined]
    assert extracted.title == "Georgia to replace touchscreen voting machines"
    assert extracted.source == "The Atlanta Ledger"
    assert extracted.published == "2019-03-28"
    assert "$150 million for the new machines" in extracted.text
    assert "hand-marked paper ballots instead" in extracted.text
    for chrome in (
        "cookies",
        "ADVERTISEMENT",
        "Subscribe",
        "Follow us",
        "Falcons",
        "Weekend weather",
        "editor notes",
        "dataLayer",
        "Home",
    ):
        assert chrome not in extracted.text, chrome
    article = make_article(extracted, source="Ledger (override)", url=f"{site.base}/article.html?utm_source=x")
    assert article.source == "Ledger (override)" and article.title == extracted.title


def test_redirect_followed_and_plain_text_accepted(site: Site) -> None:
    """A same-site redirect is followed to the article; a text/plain page is taken as it is."""
    page = fetch(f"{site.base}/to-article", policy=allow_all)
    assert page.url.endswith("/article.html")  # type: ignore[attr-defined]
    text = fetch(f"{site.base}/plain.txt", policy=allow_all)
    assert extract_page(text.body, text.content_type, text.charset, text.url).text.startswith("Georgia will count")  # type: ignore[attr-defined]


LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "localhost",
    "2130706433",
    "0x7f000001",
    "127.1",
    "0177.0.0.1",
    "0.0.0.0",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_spellings_refused_without_any_connection(listener: CountingListener, host: str) -> None:
    """With ALLOW_PRIVATE_URLS off, every spelling of loopback is refused and the listener sees nothing."""
    before = listener.accepted
    with pytest.raises(FetchRefused, match="not on the public internet"):
        fetch(f"http://{host}:{listener.port}/article.html")
    time.sleep(0.3)
    assert listener.accepted == before == 0


def test_ipv6_loopback_refused_without_any_connection() -> None:
    """[::1] is refused too; a listener on ::1 sees no connection."""
    try:
        six = CountingListener("::1")
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    try:
        with pytest.raises(FetchRefused, match="not on the public internet"):
            fetch(f"http://[::1]:{six.port}/")
        time.sleep(0.3)
        assert six.accepted == 0
    finally:
        six.close()


def test_redirect_to_refused_address_makes_no_connection(site: Site, second_listener: CountingListener) -> None:
    """A redirect from an allowed page to a refused address (127.0.0.2 written as 2130706434) never connects."""
    with pytest.raises(FetchRefused, match="not on the public internet"):
        fetch(f"{site.base}/to-private", policy=only_127_0_0_1)
    time.sleep(0.3)
    assert second_listener.accepted == 0


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/to-file", "only http and https"),
        ("/to-credentials", "user name or password"),
        ("/loop", "redirected more than 3 times"),
        ("/report.pdf", "serves application/pdf"),
        ("/photo.png", "serves image/png"),
        ("/huge", "larger than 5 MB"),
    ],
)
def test_hostile_responses_refused(site: Site, path: str, message: str) -> None:
    """Bad redirects, non-text types and pages past the size cap each get one clear sentence."""
    with pytest.raises(FetchRefused, match=message):
        fetch(f"{site.base}{path}", policy=allow_all)


def test_slow_page_stops_at_the_time_limit(site: Site) -> None:
    """A page slower than the limit is abandoned at the limit."""
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="did not arrive within 1 s"):
        fetch(f"{site.base}/slow", policy=allow_all, timeout_s=1.0)
    assert time.monotonic() - started < 3


def test_page_without_article_text_refused(site: Site) -> None:
    """A page that is all navigation is refused instead of becoming an empty article."""
    page = fetch(f"{site.base}/nav-only.html", policy=allow_all)
    with pytest.raises(BadInput, match="no article text"):
        extract_page(page.body, page.content_type, page.charset, page.url)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "private"),
        ("0.0.0.0", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:a00:1::", "private"),  # 6to4 around 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 around 169.254.169.254
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_address_classifier(address: str, refused: str | None) -> None:
    """Non-public ranges are refused by name, IPv4 hidden in IPv6 included; public addresses pass (no traffic)."""
    assert public_only(ipaddress.ip_address(address)) == refused


def test_literal_spellings_are_recognised() -> None:
    """Decimal, hex, octal and short IPv4 spellings are read as the address they mean."""
    for spelling in ("2130706433", "0x7f000001", "127.1", "0177.0.0.1", "017700000001"):
        assert str(literal_address(spelling)) == "127.0.0.1"
    assert literal_address("news.example.com") is None


def test_files_html_utf16_binary_and_size() -> None:
    """An .html file goes through extraction; UTF-16 text decodes; binary and oversized files are refused."""
    assert "$150 million" in extract_file("story.html", ARTICLE_HTML.encode(), max_bytes=2_000_000).text
    utf16 = "Georgia’s audit counted 5 million ballots by hand, officials said.".encode("utf-16")
    assert extract_file("audit.txt", utf16, max_bytes=2_000_000).text.startswith("Georgia’s audit")
    with pytest.raises(BadInput, match="binary"):
        extract_file("blob.txt", b"\x00\x01\x02\x03" * 100, max_bytes=2_000_000)
    with pytest.raises(BadInput, match="larger than"):
        extract_file("big.txt", b"a" * 3_000_001, max_bytes=2_000_000)
    with pytest.raises(BadInput, match=r"only \.txt, \.md and \.html"):
        extract_file("report.pdf", b"%PDF", max_bytes=2_000_000)


def test_pathological_pages_are_bounded() -> None:
    """Extraction stops at its time limit, and a page with a huge tree is refused rather than parsed forever."""
    from corpus.extraction import extract_html

    deep = "<html><body>" + "<div><p>vote</p></div>" * 60_000 + "</body></html>"
    started = time.monotonic()
    with pytest.raises(BadInput, match=r"no article text|took longer than 3 s"):
        extract_html(deep, timeout_s=3)  # refused by the tree-size cap or the clock, whichever comes first
    assert time.monotonic() - started < 6
    with pytest.raises(BadInput, match="took longer than"):
        extract_html(ARTICLE_HTML * 200, timeout_s=0.05)
    assert "$150 million" in extract_html(ARTICLE_HTML).text  # the worker is replaced and works again


def test_tracking_parameters_do_not_make_a_new_url() -> None:
    """The canonical URL drops tracking parameters, fragments, default ports and trailing slashes."""
    canonical = "https://news.example.com/2019/georgia-machines?id=7"
    for variant in (
        "https://news.example.com/2019/georgia-machines/?id=7&utm_source=twitter&utm_medium=social",
        "HTTPS://News.Example.com:443/2019/georgia-machines?fbclid=abc&id=7#comments",
        "https://news.example.com/2019/georgia-machines?id=7&gclid=1",
    ):
        assert normalise_url(variant) == canonical


def test_cli_adds_a_page_by_url_and_catches_the_duplicate(site: Site, tmp_path, seeded_dir, encoder) -> None:
    """`add URL` quotes the page with its title, outlet and date; the URL with tracking parameters is a duplicate."""
    import os
    import shutil

    from index.library import Library
    from tests.test_cli import run_cli

    data_dir = tmp_path / "data"
    shutil.copytree(seeded_dir, data_dir)
    os.environ["ALLOW_PRIVATE_URLS"] = "1"
    try:
        added = run_cli("add", f"{site.base}/article.html", data_dir=data_dir)
        again = run_cli("add", f"{site.base}/article.html/?utm_source=newsletter&fbclid=x#top", data_dir=data_dir)
    finally:
        del os.environ["ALLOW_PRIVATE_URLS"]
    assert added.returncode == 0, added.stderr
    assert (
        added.stdout.startswith("Added article #2 (")
        and "Georgia to replace touchscreen voting machines" in added.stdout
    )
    assert again.returncode == 1 and again.stderr == "error: already in the articles as #2\n"
    library = Library.open(data_dir, encoder)
    quotes = library.ask("how much money is set aside for georgia's new voting machines").quotes
    assert any("$150 million" in q.text for q in quotes)
    quote = quotes[0]
    assert (quote.title, quote.source, quote.published) == (
        "Georgia to replace touchscreen voting machines",
        "The Atlanta Ledger",
        "2019-03-28",
    )
    assert quote.url == f"{site.base}/article.html"
    library.close()


def test_cli_refuses_loopback_url_without_connecting(listener: CountingListener, tmp_path, seeded_dir) -> None:
    """Without ALLOW_PRIVATE_URLS, `add http://127.1:PORT/` fails in one line and nothing connects."""
    import shutil

    from tests.test_cli import db_state, run_cli

    data_dir = tmp_path / "data"
    shutil.copytree(seeded_dir, data_dir)
    before = db_state(data_dir)
    result = run_cli("add", f"http://127.1:{listener.port}/story", data_dir=data_dir)
    assert result.returncode == 1
    assert result.stderr == "error: that address is not on the public internet\n"
    assert listener.accepted == 0 and db_state(data_dir) == before


def test_cli_replace_updates_in_place(tmp_path, seeded_dir, encoder) -> None:
    """`--replace` swaps an article's passages in one go: same id, new text quoted, old text gone."""
    import shutil

    from index.library import Library
    from tests.test_cli import run_cli

    data_dir = tmp_path / "data"
    shutil.copytree(seeded_dir, data_dir)
    page = tmp_path / "story.html"
    page.write_text(ARTICLE_HTML, encoding="utf-8")
    url = "https://news.example.com/georgia"
    assert run_cli("add", str(page), "--url", url, data_dir=data_dir).returncode == 0
    page.write_text(ARTICLE_HTML.replace("$150 million", "$107 million"), encoding="utf-8")
    refused = run_cli("add", str(page), "--url", url + "?utm_campaign=x", data_dir=data_dir)
    assert refused.returncode == 1 and "already in the articles as #2" in refused.stderr
    replaced = run_cli("add", str(page), "--url", url, "--replace", data_dir=data_dir)
    assert replaced.returncode == 0 and replaced.stdout.startswith("Replaced article #2 (")
    library = Library.open(data_dir, encoder)
    text = "\n".join(q.text for q in library.ask("how much money for georgia's new voting machines", k=5).quotes)
    assert "$107 million" in text and "$150 million" not in text
    assert library.vectors.size() == library.store.counts()[1] and [a.id for a in library.list_articles()] == [1, 2]
    library.close()


@pytest.mark.parametrize(
    "host", ["a..b", ".example", "x" * 64 + ".example", "a\x00b.example", "exa mple.com", "a\u200bb.example", "é" * 70]
)
def test_malformed_host_names_refused_in_one_sentence(host: str) -> None:
    """An empty or over-long label, a NUL, a space or a character no resolver takes: one refusal, no connection, no traceback."""
    with pytest.raises(FetchRefused, match="not a valid web address"):
        asyncio.run(vet(f"http://{host}/story", public_only))
