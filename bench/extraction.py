"""Real news pages through ``add URL``: text kept, boilerplate leaked, metadata agreeing.

    python -m bench.extraction [--trafilatura PATH] [--pages english-news|english|all]

The pages and their annotations are trafilatura's hand-annotated evaluation corpus
(``tests/evaldata.json``: per page, snippets the main text must hold and snippets it must
not; the pages in ``tests/cache`` and ``tests/eval``). PATH (or ``TRAFILATURA_REPO``) is a
checkout of https://github.com/adbar/trafilatura or a bare git directory of it; nothing of
it is copied into this repository, and without it the step says so and is skipped.

A news page is one whose own markup says so: a JSON-LD ``NewsArticle`` (or one of its
kinds), or ``og:type`` article with an ``article:published_time``. A page is English when
at least a fifth of the words of trafilatura's text for it are the most frequent English
words (several pages declare ``lang="en"`` over German or Bengali text). Each page is
served by a real HTTP server on 127.0.0.1 and added as ``add URL`` adds it, with
``ALLOW_PRIVATE_URLS=1``: ``fetch_page``, ``extract_page``, ``make_article``,
``Library.add_article`` (one library for all pages, so the model loads once; the first
two pages also go through the real command line, which must store the same).

Reported per group of pages (English news pages carry issue 17's targets; ``--pages english``
adds the other English pages and ``--pages all`` every page, as a check that the rules
were not fitted to the news pages):

- accepted: pages stored, and why the others were refused;
- snippets kept: the expected snippets found in the stored passages, beside those found in
  trafilatura's own text for the page (``trafilatura.extract`` with the project's options);
  a snippet counts when its whitespace-normalised text lies inside the passages joined in
  order; lost points = trafilatura's share minus the passages' share (a refused page loses all);
- boilerplate leaked: the must-not snippets found in the stored passages (and in trafilatura's text);
- metadata agreement: the stored title, outlet and date against the page's own metadata,
  read here independently of the project's code (title: ``og:title``, else JSON-LD
  ``headline``, else the only ``<h1>``, less a trailing site name; outlet: ``og:site_name``
  or JSON-LD ``publisher.name``; date: any ``article:published_time``, JSON-LD
  ``datePublished`` or ``itemprop=datePublished`` the page declares), each over the pages
  that carry it; and, as a check that does not share those sources, against the title and
  date the corpus's annotators wrote down.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
ENV_VAR = "TRAFILATURA_REPO"
_NEWS_TYPES = re.compile(r'"@type"\s*:\s*\[?\s*"(?:News|Reportage|Analysis|Opinion|Background)\w*Article"')
_WS = re.compile(r"\s+")
# The most frequent English words: a page whose text is at least a fifth these is English, whatever
# its <html lang> says (several pages in the corpus declare "en" over German or Bengali text).
_ENGLISH = frozenset(
    "the of and to a in is that for it on was with as be by at are this have from or an but not his they which"
    " you were her she had has their we will would been its said who more".split()
)


def english(text: str) -> bool:
    """True when at least a fifth of the words of ``text`` are the most frequent English words."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    return bool(words) and sum(w in _ENGLISH for w in words) >= 0.2 * len(words)


def norm(text: str) -> str:
    """Whitespace-normalised text, as trafilatura's own evaluation compares snippets."""
    return _WS.sub(" ", text).strip()


class EvalCorpus:
    """trafilatura's evaluation corpus, read from a checkout or from a bare git directory."""

    def __init__(self, root: Path) -> None:
        """Open ``root``: a directory holding ``tests/evaldata.json`` or a git directory of the repository."""
        self.root = root
        self.git = not (root / "tests" / "evaldata.json").is_file()
        self._names: set[str] = set()
        if self.git:
            listing = self._git("ls-tree", "-r", "--name-only", "HEAD", "tests/cache", "tests/eval")
            self._names = set(listing.decode().splitlines())

    def _git(self, *args: str) -> bytes:
        git = shutil.which("git") or "git"
        return subprocess.run([git, "--git-dir", str(self.root), *args], check=True, capture_output=True).stdout

    def annotations(self) -> dict[str, dict[str, Any]]:
        """The annotations: ``{url: {"file", "with", "without", "title", "date", ...}}``."""
        if self.git:
            return json.loads(self._git("show", "HEAD:tests/evaldata.json"))
        return json.loads((self.root / "tests" / "evaldata.json").read_text(encoding="utf-8"))

    def page(self, name: str) -> bytes | None:
        """The page's bytes, from ``tests/cache`` or ``tests/eval``; None when neither holds it."""
        for folder in ("cache", "eval"):
            path = f"tests/{folder}/{name}"
            if self.git and path in self._names:
                return self._git("show", f"HEAD:{path}")
            if not self.git and (self.root / path).is_file():
                return (self.root / path).read_bytes()
        return None


def find_corpus(explicit: str | None) -> EvalCorpus | None:
    """The corpus named by the argument or ``TRAFILATURA_REPO``; None (and a message) when absent."""
    where = explicit or os.environ.get(ENV_VAR)
    if not where or not Path(where).exists():
        print(
            f"extraction: skipped, trafilatura's evaluation corpus was not found ({where or 'no path given'}); "
            f"pass --trafilatura PATH or set {ENV_VAR} to a checkout (or bare git directory) of "
            "https://github.com/adbar/trafilatura",
            flush=True,
        )
        return None
    return EvalCorpus(Path(where))


# -- the page's own metadata, read independently of the project's extraction --------------


@dataclass
class PageMeta:
    """What the page says about itself."""

    title: str | None = None
    outlets: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    lang: str | None = None
    news: bool = False


def _json_ld_articles(tree: Any) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object on the page whose type is some kind of article."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, list):
            for item in node:
                yield from walk(item)
        elif isinstance(node, dict):
            kinds = node.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if any(isinstance(k, str) and (k.endswith("Article") or k == "BlogPosting") for k in kinds):
                yield node
            for key in ("@graph", "mainEntity", "mainEntityOfPage"):
                if key in node:
                    yield from walk(node[key])

    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            yield from walk(json.loads(script.text or "", strict=False))
        except ValueError:
            continue


def page_meta(html: str) -> PageMeta:
    """The page's own headline, outlet names, publication dates and language, from its markup."""
    import lxml.etree
    import lxml.html

    try:
        tree = lxml.html.fromstring(html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (ValueError, lxml.etree.ParserError):
        return PageMeta()

    def meta(*keys: str) -> list[str]:
        found = []
        for key in keys:
            for attr in ("property", "name", "itemprop"):
                found += [norm(str(v)) for v in tree.xpath(f'//meta[@{attr}="{key}"]/@content') if str(v).strip()]
        return found

    articles = list(_json_ld_articles(tree))

    def ld(key: str) -> list[str]:
        values = []
        for item in articles:
            value = item.get(key)
            if isinstance(value, dict):
                value = value.get("name")
            if isinstance(value, str) and value.strip():
                values.append(norm(value))
        return values

    h1s = [h for h in (norm(h.text_content()) for h in tree.xpath("//h1")) if h]
    # The headline: og:title, else JSON-LD's, else the only <h1>.
    title = next(iter(meta("og:title") + ld("headline") + (h1s if len(h1s) == 1 else [])), None)
    # Sites name themselves in two places and not always alike ("pcgamer" and "PC Gamer"): either counts.
    outlets = meta("og:site_name") + ld("publisher")
    stamps = meta("article:published_time", "og:article:published_time") + ld("datePublished")
    stamps += [
        str(v) for v in tree.xpath('//*[@itemprop="datePublished"]/@content | //*[@itemprop="datePublished"]/@datetime')
    ]
    dates = sorted({m.group() for m in (re.match(r"\d{4}-\d{2}-\d{2}", s.strip()) for s in stamps) if m})
    urls = meta("og:url") + [str(v) for v in tree.xpath('//link[@rel="canonical"]/@href')]
    labels = [label for u in urls for label in (urlsplit(u).hostname or "").split(".")[:-1]]
    hosts = sorted({label for label in labels if len(label) >= 2 and label != "www"})
    lang = (tree.get("lang") or next(iter(meta("og:locale")), "")).lower()[:2] or None
    ogtype = next(iter(meta("og:type")), "").lower()
    news = bool(_NEWS_TYPES.search(html)) or (ogtype == "article" and bool(meta("article:published_time")))
    return PageMeta(title, outlets, dates, hosts, lang, news)


def _title_key(text: str) -> str:
    """A title compared without case, quotes, dashes or spacing."""
    text = text.casefold().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(re.findall(r"\w+", text))


def same_title(stored: str, own: str, sites: list[str]) -> bool:
    """The stored title is the page's own, or the page's own less a trailing site name ("... | Tone Deaf")."""
    if _title_key(stored) == _title_key(own):
        return True
    squashed = [re.sub(r"\W+", "", s.casefold()) for s in sites]
    for cut in re.finditer(r" (\||-|–|—|::|·) ", own):
        tail = re.sub(r"\W+", "", own[cut.end() :].casefold())
        names_site = any(s and tail and (tail.startswith(s) or s.startswith(tail)) for s in squashed)
        if names_site and _title_key(stored) == _title_key(own[: cut.start()]):
            return True
    return False


# -- serving the pages and adding them ----------------------------------------------------


class PageServer:
    """A real HTTP server on 127.0.0.1 that serves each page's bytes at ``/N/``."""

    def __init__(self, pages: list[bytes]) -> None:
        """Start serving ``pages`` on an ephemeral port, in a thread."""
        from aiohttp import web

        async def handler(request: web.Request) -> web.Response:
            index = int(request.match_info["n"])
            return web.Response(body=pages[index], headers={"Content-Type": "text/html"})

        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_get("/{n:\\d+}/", handler)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def url(self, index: int) -> str:
        """The address of page ``index``."""
        return f"http://127.0.0.1:{self.port}/{index}/"

    def close(self) -> None:
        """Stop serving."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@dataclass
class PageResult:
    """One page's outcome."""

    url: str
    file: str
    english: bool
    news: bool
    accepted: bool = False
    refusal: str | None = None
    passages: int = 0
    kept: list[bool] = field(default_factory=list)
    kept_by_trafilatura: list[bool] = field(default_factory=list)
    leaked: list[bool] = field(default_factory=list)
    leaked_by_trafilatura: list[bool] = field(default_factory=list)
    title: str | None = None
    outlet: str | None = None
    published: str | None = None
    own: dict[str, Any] = field(default_factory=dict)
    annotated: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)


def add_url(library: Any, url: str) -> tuple[Any, list[str]]:
    """What ``python run_bot.py add URL`` does, on an open library: the stored article and its passages."""
    from corpus.errors import DuplicateArticle
    from corpus.extraction import extract_page, make_article
    from corpus.fetching import fetch_page
    from index.settings import Settings

    page = asyncio.run(fetch_page(url, policy=Settings().address_policy))
    extracted = extract_page(page.body, page.content_type, page.charset, page.url)
    try:
        article_id = library.add_article(make_article(extracted, url=url)).id
    except DuplicateArticle as duplicate:
        # The corpus holds a few pages twice under two names (womencantalksports.com): the copy is
        # refused as a duplicate, as it should be, and scored on what the first one stored.
        article_id = duplicate.article_id
    article, passages = library.get_article(article_id)
    return article, [p.text for p in passages]


def trafilatura_alone(html: str) -> str:
    """Trafilatura's own text for the page, with the options the project passes."""
    import trafilatura

    return trafilatura.extract(html, include_comments=False, include_tables=False) or ""


def check_with_cli(server: PageServer, indices: list[int], library: Any, workdir: Path) -> int:
    """Add a few pages through the real command line too; the number whose passages differ from in-process."""
    differing = 0
    for index in indices:
        data_dir = workdir / f"cli-{index}"
        env = os.environ | {"ALLOW_PRIVATE_URLS": "1", "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(
            [sys.executable, str(REPO / "run_bot.py"), "add", server.url(index), "--data-dir", str(data_dir)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        show = subprocess.run(
            [sys.executable, str(REPO / "run_bot.py"), "list", "--json", "--data-dir", str(data_dir)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        rows = [json.loads(line) for line in show.stdout.splitlines() if line.strip()]
        cli = [(r["title"], r["source"], r["published"], r["passages"]) for r in rows if r["url"] == server.url(index)]
        mine = [
            (a.title, a.source, a.published, a.passage_count)
            for a in library.list_articles()
            if a.url == server.url(index)
        ]
        if done.returncode != 0 and not mine:
            continue  # refused by both
        if cli != mine:
            differing += 1
            print(f"  the command line and in-process differ on page {index}: {cli} vs {mine} {done.stderr.strip()}")
        shutil.rmtree(data_dir, ignore_errors=True)
    return differing


PAGE_SETS = ("english-news", "english", "all")


def measure(
    corpus: EvalCorpus, workdir: Path, *, pages: str = "english-news", limit: int | None = None
) -> list[PageResult]:
    """Serve every chosen page, add it by URL, and score what was stored."""
    from corpus.errors import BadInput
    from corpus.extraction import decode_html
    from index.library import Library

    annotations = corpus.annotations()
    chosen: list[tuple[str, dict[str, Any], bytes, PageMeta, str]] = []
    for url, item in sorted(annotations.items()):
        body = corpus.page(item["file"])
        if body is None:
            continue
        html = decode_html(body)
        own = page_meta(html)
        if pages == "english-news" and not own.news:
            continue
        reference = trafilatura_alone(html)
        if pages == "all" or english(reference):
            chosen.append((url, item, body, own, reference))
    chosen = chosen[:limit] if limit else chosen
    news = sum(c[3].news for c in chosen)
    print(f"  {len(chosen)} pages: {news} news pages, {sum(english(c[4]) for c in chosen)} English", flush=True)
    server = PageServer([body for _, _, body, _, _ in chosen])
    os.environ["ALLOW_PRIVATE_URLS"] = "1"
    library = Library.open(workdir / "extraction")
    results = []
    try:
        for index, (url, item, _body, own, text) in enumerate(chosen):
            served = server.url(index)
            result = PageResult(url, item["file"], english(text), own.news, own=asdict(own))
            result.annotated = {k: item.get(k) for k in ("title", "date", "sitename") if item.get(k)}
            reference = norm(text)
            result.kept_by_trafilatura = [norm(s) in reference for s in item["with"]]
            result.leaked_by_trafilatura = [norm(s) in reference for s in item["without"]]
            try:
                article, passages = add_url(library, served)
            except BadInput as refused:
                result.refusal = str(refused)
                result.kept = [False] * len(item["with"])
                result.leaked = [False] * len(item["without"])
                results.append(result)
                continue
            stored = norm(" ".join(passages))
            result.accepted, result.passages = True, len(passages)
            result.kept = [norm(s) in stored for s in item["with"]]
            result.leaked = [norm(s) in stored for s in item["without"]]
            result.missing = [
                s for s, a, b in zip(item["with"], result.kept, result.kept_by_trafilatura, strict=True) if b and not a
            ]
            result.leaks = [s for s, leaked in zip(item["without"], result.leaked, strict=True) if leaked]
            result.title, result.outlet, result.published = article.title, article.source, article.published
            results.append(result)
            if (index + 1) % 50 == 0:
                print(f"  {index + 1} pages", flush=True)
        differing = check_with_cli(server, list(range(min(2, len(chosen)))), library, workdir)
        print(f"  real command line on 2 pages: {differing} differ from in-process", flush=True)
    finally:
        library.close()
        server.close()
        del os.environ["ALLOW_PRIVATE_URLS"]
    return results


def _share(hits: int, total: int) -> float | None:
    return round(100 * hits / total, 1) if total else None


def _lost(results: list[PageResult]) -> float | None:
    expected = sum(len(r.kept) for r in results)
    lost = sum(sum(r.kept_by_trafilatura) - sum(r.kept) for r in results)
    return round(100 * lost / expected, 1) if expected else None


def summarise(results: list[PageResult]) -> dict[str, Any]:
    """The figures for a set of pages."""
    accepted = [r for r in results if r.accepted]
    expected = sum(len(r.kept) for r in results)
    must_not = sum(len(r.leaked) for r in results)
    agree: dict[str, list[bool]] = {"title": [], "outlet": [], "date": []}
    annotated: dict[str, list[bool]] = {"title": [], "date": []}
    for r in accepted:
        own = r.own
        if own.get("title"):
            agree["title"].append(same_title(r.title or "", own["title"], own["outlets"] + own["hosts"]))
        if own.get("outlets"):
            agree["outlet"].append(any(_title_key(r.outlet or "") == _title_key(o) for o in own["outlets"]))
        if own.get("dates"):
            agree["date"].append(r.published in own["dates"])
        if r.annotated.get("title"):
            annotated["title"].append(same_title(r.title or "", r.annotated["title"], own["outlets"] + own["hosts"]))
        if r.annotated.get("date"):
            annotated["date"].append(r.published == r.annotated["date"])
    kept = sum(sum(r.kept) for r in results)
    kept_alone = sum(sum(r.kept_by_trafilatura) for r in results)
    return {
        "pages": len(results),
        "accepted": len(accepted),
        "refused": Counter(r.refusal for r in results if not r.accepted),
        "expected_snippets": expected,
        "kept_by_trafilatura_%": _share(kept_alone, expected),
        "kept_in_passages_%": _share(kept, expected),
        "lost_points": round(100 * (kept_alone - kept) / expected, 1) if expected else None,
        "lost_points_on_accepted_pages": _lost(accepted),
        "must_not_snippets": must_not,
        "leaked_by_trafilatura_%": _share(sum(sum(r.leaked_by_trafilatura) for r in results), must_not),
        "leaked_in_passages_%": _share(sum(sum(r.leaked) for r in results), must_not),
        "metadata_agreement_%": {k: _share(sum(v), len(v)) for k, v in agree.items()},
        "metadata_pages": {k: len(v) for k, v in agree.items()},
        "annotator_agreement_%": {k: _share(sum(v), len(v)) for k, v in annotated.items()},
        "annotator_pages": {k: len(v) for k, v in annotated.items()},
        "passages_per_page": round(sum(r.passages for r in accepted) / len(accepted), 1) if accepted else None,
    }


GROUPS = {
    "english_news": lambda r: r.english and r.news,
    "english_other": lambda r: r.english and not r.news,
    "other_languages_news": lambda r: not r.english and r.news,
    "other_languages_other": lambda r: not r.english and not r.news,
}


def run(
    workdir: Path,
    *,
    corpus_path: str | None = None,
    pages: str = "english-news",
    details: Path | None = None,
) -> dict[str, object]:
    """The benchmark step: the figures for each group of pages (English news pages carry the targets)."""
    corpus = find_corpus(corpus_path)
    if corpus is None:
        return {"skipped": f"trafilatura's evaluation corpus not found; set {ENV_VAR}"}
    started = time.perf_counter()
    results = measure(corpus, workdir, pages=pages)
    report: dict[str, Any] = {"date": datetime.now(UTC).date().isoformat(), "pages": pages}
    for name, belongs in GROUPS.items():
        group = [r for r in results if belongs(r)]
        if group:
            report[name] = summarise(group)
    report["seconds"] = round(time.perf_counter() - started, 1)
    if details is not None:
        details.parent.mkdir(parents=True, exist_ok=True)
        details.write_text(json.dumps([asdict(r) for r in results], indent=1, ensure_ascii=False))
    return report


def main() -> None:
    """Run the step alone and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trafilatura", help=f"checkout or git directory of trafilatura (default: ${ENV_VAR})")
    parser.add_argument("--pages", choices=PAGE_SETS, default="english-news", help="which pages (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "extraction.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        details = args.out.with_name(args.out.stem + "-pages.json")
        report = run(Path(tmp), corpus_path=args.trafilatura, pages=args.pages, details=details)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
