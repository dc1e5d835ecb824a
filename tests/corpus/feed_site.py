"""A real news site on 127.0.0.1 for the feed tests: RSS 2.0 and Atom feeds and the article pages they link to.

The pages are built like real news pages (navigation, cookie banner, ads, related links and a
footer around the article), each story with its own text, title, outlet and published time, so
extraction and the duplicate check meet what they meet on the web.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape

from aiohttp import web


@dataclass(frozen=True)
class Story:
    """One article: its headline, paragraphs, outlet and the moment it was published (ISO 8601)."""

    slug: str
    title: str
    paragraphs: tuple[str, ...]
    published: str | None = "2024-05-02T09:30:00Z"
    site: str = "The County Ledger"


STORIES = (
    Story(
        "ashford-audit",
        "Ashford audits its ballot scanners by hand",
        (
            "Election officials in Ashford County counted 4,212 paper ballots by hand on Tuesday to check the"
            " results reported by the county's optical scanners, the first such audit in the county's history.",
            "The hand count matched the scanner totals to within two ballots, county clerk Maria Obuya said,"
            " a difference she put down to ballots that voters had marked faintly.",
            "State law now requires every county to audit a random sample of precincts after each general"
            " election, and Ashford volunteered to audit all of its 31 precincts this year.",
        ),
        "2024-05-02T09:30:00Z",
    ),
    Story(
        "brixton-phishing",
        "Brixton election office hit by phishing emails",
        (
            "Staff at the Brixton election office received dozens of phishing emails in March that pretended to"
            " come from the company that supplies the county's voter registration software.",
            "Two employees entered their passwords on a fake login page, but the office's second factor stopped"
            " the attackers from signing in, according to the county's chief information officer Dev Raman.",
            "The county has since moved its staff to hardware security keys and asked the state's cyber"
            " response team to review its email filters before the November election.",
        ),
        "2024-04-18T14:00:00-05:00",
    ),
    Story(
        "carver-paper-trail",
        "Carver County buys voting machines with a paper trail",
        (
            "Carver County commissioners voted 4 to 1 on Monday to spend $2.3 million on new voting machines that"
            " print a paper record of every ballot, replacing touchscreens bought in 2005.",
            "Commissioner Luis Ortega, who cast the only vote against, said the county should have waited for"
            " the state to certify a second vendor so that it could compare prices.",
            "The new machines will be used for the first time in the August primary, and the county will train"
            " 600 poll workers to run them over the summer.",
        ),
        "2024-03-11T18:45:00Z",
    ),
    Story(
        "dunmore-registration",
        "Dunmore finds 1,300 duplicate voter registrations",
        (
            "A review of Dunmore's voter rolls found 1,300 duplicate registrations, most of them voters who had"
            " moved within the city and registered again at their new address, the registrar said on Friday.",
            "Registrar Helen Achebe said no duplicate registration had been used to vote twice, and that the"
            " records would be merged after each voter was sent a notice by mail.",
            "The review was the first since the city connected its rolls to the state's new registration"
            " database, which flags records that share a name and a date of birth.",
        ),
        None,  # no published time on the page
    ),
    Story(
        "elmwood-ransomware",
        "Ransomware attack delays Elmwood's election night results",
        (
            "A ransomware attack on Elmwood's county network delayed the posting of election night results by"
            " nine hours, although the voting machines themselves were never connected to the network.",
            "County administrator Priya Natarajan said the attackers encrypted the servers that run the results"
            " website and the county's email, and that the county did not pay the ransom.",
            "Results were finally posted at 7 a.m. from a laptop that had been kept offline, after officials"
            " checked the totals against the paper tapes printed by each precinct's scanner.",
        ),
        "2024-06-05T07:10:00Z",
    ),
    Story(
        "fairview-observers",
        "Fairview lets observers watch its ballot counting online",
        (
            "Fairview will stream video of its central ballot counting room during the November election so that"
            " anyone can watch the count, the city's election board decided on Wednesday.",
            "Board chair Tom Whitaker said the eight cameras would show the scanners and the tables where"
            " damaged ballots are duplicated, but not any ballot closely enough to read a voter's choices.",
            "The stream will run from the close of the polls until the count is certified, and recordings will"
            " be kept for 22 months as federal law requires for election records.",
        ),
        "2024-07-24T16:20:00Z",
    ),
)


def article_html(story: Story) -> str:
    """A realistic news page around ``story``: its metadata in the head, chrome around the article."""
    published = f'<meta property="article:published_time" content="{story.published}">' if story.published else ""
    paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
    return f"""<!doctype html>
<html lang="en"><head>
<meta charset="utf-8">
<title>{escape(story.title)} | {escape(story.site)}</title>
<meta property="og:site_name" content="{escape(story.site)}">
<meta property="og:title" content="{escape(story.title)}">
{published}
<script>window.dataLayer = [{{"page": "article"}}];</script>
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all cookies</button></div>
<nav><ul><li><a href="/">Home</a></li><li><a href="/politics">Politics</a></li><li><a href="/sports">Sports</a></li></ul></nav>
<div class="ad">ADVERTISEMENT: Best mortgage rates in town, click here</div>
<main><article>
<h1>{escape(story.title)}</h1>
{paragraphs}
<aside class="related"><h3>Related stories</h3><ul><li><a href="/a">High school team wins title</a></li></ul></aside>
</article></main>
<footer><p>Subscribe to our newsletter.</p><p>© 2024 {escape(story.site)}. All rights reserved.</p></footer>
</body></html>"""


def numbered_story(n: int) -> Story:
    """The ``n``-th of many distinct stories (for feeds of hundreds or thousands of entries)."""
    county = f"County {n:05d}"
    return Story(
        f"story-{n}",
        f"{county} certifies its election results",
        (
            f"Officials in {county} certified the results of the municipal election on Thursday after a recount"
            f" of {1000 + n} ballots in precinct {n % 97} changed no outcome.",
            f"The county's canvass board said turnout was {20 + n % 50} percent and that {n % 13} provisional"
            f" ballots were rejected because the voters were not registered in {county}.",
            f"Election director number {n} said the county would publish the recount's tally sheets on its"
            " website so that anyone can check the totals against the scanner tapes.",
        ),
        f"2023-{1 + n % 12:02d}-{1 + n % 28:02d}T12:00:00Z",
    )


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))


@dataclass
class Item:
    """One feed entry as a test writes it: any field may be missing or odd on purpose."""

    link: str  # "" for an entry without one
    title: str | None = None
    guid: str | None = None
    published: str | None = None  # ISO 8601; written as RFC 822 in RSS
    summary: str = "A short summary that is not the article."


def rss(items: list[Item], title: str = "The County Ledger: elections") -> str:
    """An RSS 2.0 feed of ``items``."""
    parts = []
    for item in items:
        fields = [f"<title>{escape(item.title)}</title>" if item.title else ""]
        fields.append(f"<link>{escape(item.link)}</link>" if item.link else "")
        fields.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>' if item.guid else "")
        fields.append(f"<pubDate>{_rfc822(item.published)}</pubDate>" if item.published else "")
        fields.append(f"<description>{escape(item.summary)}</description>")
        parts.append("<item>" + "".join(fields) + "</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://ledger.example/</link><description>Election news</description>"
        + "\n".join(parts)
        + "</channel></rss>"
    )


def atom(items: list[Item], title: str = "Election Desk") -> str:
    """An Atom 1.0 feed of ``items`` (published as ``<published>``, no ``<updated>`` on entries)."""
    parts = []
    for item in items:
        fields = [f"<title>{escape(item.title)}</title>" if item.title else ""]
        fields.append(f'<link rel="alternate" href="{escape(item.link)}"/>' if item.link else "")
        fields.append(f"<id>{escape(item.guid)}</id>" if item.guid else "")
        fields.append(f"<published>{item.published}</published>" if item.published else "")
        fields.append(f"<summary>{escape(item.summary)}</summary>")
        parts.append("<entry>" + "".join(fields) + "</entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:election-desk</id><updated>2024-07-24T16:20:00Z</updated>"
        + "\n".join(parts)
        + "</feed>"
    )


@dataclass
class Route:
    """What the site answers at one path."""

    body: bytes
    content_type: str
    status: int = 200
    etag: str | None = None
    location: str | None = None
    delay_s: float = 0.0
    gated: bool = False


@dataclass
class FeedSite:
    """The server: routes the test sets, the requests it saw, and a gate that holds gated pages back."""

    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        """The full address of ``path``."""
        return self.base + path

    def page(self, path: str, story: Story, **options: object) -> str:
        """Serve ``story`` as an article page at ``path``; its address."""
        self.routes[path] = Route(article_html(story).encode(), "text/html", **options)  # type: ignore[arg-type]
        return self.url(path)

    def feed(self, path: str, xml: str, content_type: str = "application/rss+xml", **options: object) -> str:
        """Serve a feed at ``path``; its address."""
        self.routes[path] = Route(xml.encode(), content_type, **options)  # type: ignore[arg-type]
        return self.url(path)

    def hits(self, path: str) -> int:
        """How often ``path`` was requested."""
        return sum(1 for p, _ in self.requests if p == path)


def serve_site() -> Generator[FeedSite, None, None]:
    """Run a :class:`FeedSite` on 127.0.0.1 for as long as the generator is open."""
    loop = asyncio.new_event_loop()
    site = FeedSite("")

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path_qs
        site.requests.append((path, dict(request.headers)))
        route = site.routes.get(path) or site.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.delay_s:
            await asyncio.sleep(route.delay_s)
        if route.gated:
            while not site.gate.is_set():
                await asyncio.sleep(0.05)
        if route.location:
            return web.Response(status=302, headers={"Location": route.location})
        if route.etag and request.headers.get("If-None-Match") == route.etag:
            return web.Response(status=304, headers={"ETag": route.etag})
        headers = {"Content-Type": route.content_type}
        if route.etag:
            headers["ETag"] = route.etag
            headers["Last-Modified"] = format_datetime(datetime(2024, 7, 24, 16, 20, tzinfo=UTC), usegmt=True)
        return web.Response(status=route.status, body=route.body, headers=headers)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(tcp.start())
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    site.base = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.gate.set()
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
