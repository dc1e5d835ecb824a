"""Extraction: metadata checked against the page's own, paywalls refused; pages served from 127.0.0.1.

The pages are small, built from real fragments of pages in trafilatura's evaluation corpus (the
head tags and a few article lines of each, named in its comment), so each rule is pinned on the
markup a real site serves.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from html import escape

import pytest
from aiohttp import web

from corpus.errors import BadInput
from corpus.extraction import Extracted, checked_date, checked_source, checked_title, extract_page
from corpus.fetching import allow_all, fetch_page
from tests.corpus.real_snippets import HAITIAN_TIMES, NATION_NEWS


def page(head: str, body: str) -> str:
    """A page from real head tags and body markup."""
    return f'<!doctype html><html lang="en"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'


def paragraphs_html(text: str) -> str:
    """Each paragraph of ``text`` as a <p>, as the page served it."""
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n"))


# telegraph.co.uk, "Plumber jailed after boiler killed millionaire's daughter": the JSON-LD headline
# is the name of the CMS (Escenic); og:title, which the page serves after its first </head>, and the
# <h1> hold the headline.
TELEGRAPH = page(
    """<title class="escenic-title">Plumber jailed after boiler killed millionaire's daughter </title>
<script type="application/ld+json">{"@context": "http://schema.org", "@type": "NewsArticle", "headline": "escenic",
 "isAccessibleForFree": false, "publisher": {"@type": "Organization", "name": "The Telegraph"}}</script>""",
    """<script>tmg.pianoCookie="_utp";</script>
<meta property="og:title" content="Plumber jailed after boiler killed millionaire's daughter  ">
<meta property="og:site_name" content="The Telegraph">
<article><h1 itemprop="headline">Plumber jailed after boiler killed millionaire's daughter </h1>
<p>Zoe Anderson, 24, was overcome by carbon monoxide fumes at the home of her wealthy father, Future Publishing
founder Chris Anderson.</p>
<p>The deadly fumes leaked out of the dodgy boiler flue pipe fitted 12 days earlier by Andrew Hartley and
"flooded" the sprawling Victorian town house.</p>
<p>Neuroscience graduate Zoe died within 30 minutes of being exposed to the poisoned air as she took a shower in
the property's en suite bathroom.</p></article>""",
)

# dw.com, "Berlin confronts Germany's colonial past with new initiative": og:title carries the site's
# name and the date after the headline.
DW = page(
    """<title>Berlin confronts Germany′s colonial past with new initiative | Germany| News and in-depth reporting
from Berlin and beyond | DW | 19.01.2020</title>
<link rel="canonical" href="https://www.dw.com/en/berlin-confronts-germanys-colonial-past-with-new-initiative/a-52060881">
<meta property="og:site_name" content="DW.COM"/>
<meta property="og:title" content="Berlin confronts Germany&#39;s colonial past with new initiative | DW | 19.01.2020"/>""",
    """<article><h1>Berlin confronts Germany's colonial past with new initiative</h1>
<p>Berlin's relationship with its colonial history is being reconsidered, despite opposition from far-right
politicians and some disgruntled locals unhappy at plans to change the names of their streets.</p>
<p>In January, the German capital is launching a new five-year project named "Postcolonial Remembrance in the
City" to reframe its postcolonial past, coinciding with the renaming of two streets and a square in the district
of Wedding.</p></article>""",
)

# nationalgeographic.co.uk, "Ravenous wild goats ruled this island for over a century": published on
# 3 January, updated on 6 January; the update's date is also the page's "date" and shows under the dek.
NATGEO = page(
    """<meta property="og:title" content="Ravenous wild goats ruled this island for over a century. Now, it&#x27;s being reborn."/>
<meta name="date" scheme="W3CDTF" content="2020-01-06T09:22:36Z"/>
<meta property="og:site_name" content="National Geographic"/>
<meta property="article:published_time" content="2020-01-03T09:48:24Z"/>
<meta property="article:modified_time" content="2020-01-06T09:22:36Z"/>""",
    """<article><h1>Ravenous wild goats ruled this island for over a century. Now, it's being reborn.</h1>
<p>The rocky island of Redonda, once stripped of its flora and fauna by invasive species, makes an astonishingly
quick comeback. What’s the secret to its recovery?<span>Monday, 6 January 2020</span></p>
<p>It takes four hours to sail to Redonda, but only two minutes of wandering around here before the first dragon
appears.</p>
<p>Redonda’s ground dragons were found nowhere else on Earth, and the island’s goats and rats had eaten almost
everything they needed to survive.</p></article>""",
)

# world.kbs.co.kr, "Colder Temperatures Forecast for Wed. after Cold Wave Alert Tues.": no date in the
# head; the page writes "Written: 2023-11-07" under the headline and older dates in the sidebar.
KBS_SIDEBAR = "".join(
    f'<h2><a href="/v?seq={n}">{escape(title)}</a></h2><p class="date">{day}</p>'
    for n, (title, day) in enumerate(
        [
            ("Music Bank Lineup (EP.1184 November 3rd)", "2023-11-03"),
            ("[4K] SEVENTEEN, RIIZE, CRAVITY | 뮤직뱅크 출근길 231103", "2023-11-03"),
            ("KBS WORLD TV YouTube | HOT Video Clip of the Week (OCT 30th - NOV. 6th)", "2023-11-06"),
        ]
    )
)
KBS = page(
    """<title>Colder Temperatures Forecast for Wed. after Cold Wave Alert Tues.</title>
<meta property="og:title" content="Colder Temperatures Forecast for Wed. after Cold Wave Alert Tues.">""",
    f"""<div class="title"><h1>Colder Temperatures Forecast for Wed. after Cold Wave Alert Tues.</h1>
<p class="date">Written: 2023-11-07 15:03:30<span class="hidden"> / </span>Updated: 2023-11-07 15:30:46</p></div>
<div class="content"><p>Anchor: After heavy downpours on Monday, Tuesday morning was met with strong, cold winds
that brought early winter temperatures. Although the first cold wave alerts of the season were issued in
anticipation of frigid morning lows on Tuesday, Wednesday is forecast to be even colder.</p>
<p>Report: People out on the streets were seen wearing layers throughout the day as Tuesday’s temperatures felt as
though winter had suddenly descended upon the nation.</p></div>
<aside class="sidebar">{KBS_SIDEBAR}</aside>""",
)

# msn.com, a Guardian story republished: the application name is the headline; the canonical link
# names the outlet.
MSN = page(
    """<title>UK university student halls too full to be safe, experts warn</title>
<meta name="application-name" content="UK university student halls too full to be safe, experts warn"/>
<link rel="canonical" href="https://www.theguardian.com/education/2020/oct/02/uk-university-student-halls-too-full-to-be-safe-experts-warn" />""",
    """<article><h1>UK university student halls too full to be safe, experts warn</h1>
<p>As increasing numbers of UK universities wrestle with Covid-19 outbreaks, experts are warning that student halls
are too full to be safe.</p>
<p>The reopening of universities has so far resulted in reports of coronavirus cases at more than 60 institutions,
with entire halls locked down at Manchester Metropolitan and Glasgow universities and thousands of students
self-isolating in their rooms.</p></article>""",
)

HAITIAN_PAGE = page(
    "<title>Family seeks funds to treat rising tennis star sidelined by rare illness</title>",
    f"<article><h1>Family seeks funds to treat rising tennis star sidelined by rare illness</h1>"
    f"{paragraphs_html(HAITIAN_TIMES.replace(chr(10) + '—', chr(10) + chr(10) + '—'))}</article>",
)
NATION_PAGE = page("<title>Tridents’ challenge</title>", f"<article>{paragraphs_html(NATION_NEWS)}</article>")

PAGES = {
    "/telegraph.html": TELEGRAPH,
    "/dw.html": DW,
    "/natgeo.html": NATGEO,
    "/kbs.html": KBS,
    "/msn.html": MSN,
    "/haitian.html": HAITIAN_PAGE,
    "/nation.html": NATION_PAGE,
}


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the pages; yields its base address."""
    loop = asyncio.new_event_loop()

    async def serve(request: web.Request) -> web.Response:
        return web.Response(text=PAGES[request.path], content_type="text/html")

    app = web.Application()
    for path in PAGES:
        app.router.add_get(path, serve)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def extracted(base: str, path: str) -> Extracted:
    """Fetch a page from the test server and extract it, as `add URL` does."""
    fetched = asyncio.run(fetch_page(base + path, policy=allow_all))
    return extract_page(fetched.body, fetched.content_type, fetched.charset, fetched.url)


def test_cms_name_as_title_falls_back_to_og_title(base: str) -> None:
    """A title that is the CMS's name ("escenic", from JSON-LD) gives way to og:title, the headline."""
    found = extracted(base, "/telegraph.html")
    assert found.title == "Plumber jailed after boiler killed millionaire's daughter"
    assert found.source == "The Telegraph"


def test_site_name_and_date_are_cut_from_the_title(base: str) -> None:
    """ "... | DW | 19.01.2020" loses the site's name (known from og:site_name and the canonical host) and the date."""
    found = extracted(base, "/dw.html")
    assert found.title == "Berlin confronts Germany's colonial past with new initiative"


def test_published_time_beats_the_date_shown_on_the_page(base: str) -> None:
    """article:published_time (3 January) is stored, not the update's date the page shows (6 January)."""
    assert extracted(base, "/natgeo.html").published == "2020-01-03"


def test_labelled_date_beats_sidebar_dates(base: str) -> None:
    """Without date metadata, "Written: 2023-11-07" under the headline beats the sidebar's 2023-11-03."""
    assert extracted(base, "/kbs.html").published == "2023-11-07"


def test_outlet_that_is_the_headline_falls_back_to_the_site(base: str) -> None:
    """An application name that is the headline is not the outlet; the canonical link's host is."""
    found = extracted(base, "/msn.html")
    assert found.title == "UK university student halls too full to be safe, experts warn"
    assert found.source == "theguardian.com"


def test_paywalled_page_refused_in_one_sentence(base: str) -> None:
    """A page that is mostly a subscription notice is refused, saying so; a teaser that is most of its page is not."""
    with pytest.raises(BadInput, match=r"^the page shows a subscription notice instead of the article"):
        extracted(base, "/haitian.html")
    teaser = extracted(base, "/nation.html")
    assert "Russell Latapy’s men" in teaser.text and "eNATION" in teaser.text  # stored; the chunker drops the notice


def test_cli_refuses_a_paywalled_page_and_adds_nothing(base: str, tmp_path, seeded_dir) -> None:
    """`add URL` of a paywalled page prints one error line, exits 1 and changes nothing."""
    from tests.test_cli import db_state, run_cli

    data_dir = tmp_path / "data"
    shutil.copytree(seeded_dir, data_dir)
    before = db_state(data_dir)
    result = run_cli("add", f"{base}/haitian.html", data_dir=data_dir, settings={"ALLOW_PRIVATE_URLS": "1"})
    assert result.returncode == 1
    assert result.stderr == "error: the page shows a subscription notice instead of the article; it was not added\n"
    assert db_state(data_dir) == before


@pytest.mark.parametrize(
    ("found", "page_meta", "expected"),
    [
        ("escenic", {"titles": ["Plumber jailed"], "sites": ["The Telegraph"]}, "Plumber jailed"),
        ("The Telegraph", {"titles": ["Plumber jailed"], "sites": ["The Telegraph"]}, "Plumber jailed"),
        (
            "Ghost",
            {"titles": ["Election night, live"], "sites": [], "generator": ["Ghost 5.0"]},
            "Election night, live",
        ),
        ("Title | Tone Deaf", {"titles": [], "sites": ["Tone Deaf"]}, "Title"),
        ("Title - WSVN 7News | Miami News, Weather, Sports | Fort Lauderdale", {"sites": ["wsvn.com"]}, "Title"),
        ("Streit ums Feuerholz - www.AussenGedanken.de", {"sites": ["www.aussengedanken.de"]}, "Streit ums Feuerholz"),
        ("Letters: Coddling criminals | Undermining road | Tax dollars", {"sites": ["The Mercury News"]}, None),
    ],
)
def test_title_checks(found: str, page_meta: dict, expected: str | None) -> None:
    """A CMS or site name gives way to the headline; a trailing site name goes; a headline's own bars stay."""
    assert checked_title(found, page_meta) == (expected or found)


def test_source_and_date_checks() -> None:
    """The outlet skips a headline; the date prefers a local published time, then a labelled date, then the body's."""
    page_meta = {"sites": ["Americas at risk", "Breaking Belize News"], "published": [], "labelled": []}
    assert checked_source("Americas at risk", ["Americas at risk"], page_meta, "https://x.example/a") == (
        "Breaking Belize News"
    )
    assert checked_source(None, [], {}, "https://www.example.com/a") == "example.com"
    # breakingbelizenews.com declares the time twice: in UTC and in Belize's own time.
    both = {"published": ["2022-04-22T04:11:44+00:00", "2022-04-21T22:11:44-06:00"]}
    assert checked_date("2022-04-20", both) == "2022-04-21"
    assert checked_date("2022-04-20", {"published": [], "labelled": ["2022-04-19"]}) == "2022-04-19"
    assert checked_date("2022-04-20", {"published": ["not a date"]}) == "2022-04-20"
