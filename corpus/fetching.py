"""Fetch a web page that a moderator named, without letting anyone probe the host's network.

Every hop (the first address and each of at most 3 redirects) is checked the
same way before any connection is made: http or https only, no credentials, and
a host that resolves only to public addresses. The host is resolved once and
the connection goes to that vetted address (TLS still checks the name), so a
second DNS answer cannot rebind it. 15 s in all, at most 5 MB read, only HTML,
XHTML or plain text, and no proxy from the environment.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from corpus.errors import BadInput

MAX_REDIRECTS = 3
TIMEOUT_S = 15.0
MAX_BYTES = 5_000_000
ACCEPTED_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
#: What a feed may be served as; web pages too, so that a page given as a feed is told apart, not refused unread.
FEED_TYPES = ACCEPTED_TYPES | {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/feed+xml",
}
USER_AGENT = "election-news-bot/0.1 (+article fetcher)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], str | None]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class FetchRefused(BadInput):
    """The URL or the page was refused; the message is one sentence for the user."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv4-mapped, 6to4 or NAT64 IPv6 address, if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def public_only(address: IPAddress) -> str | None:
    """None for a public unicast address; otherwise why it is refused."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return public_only(inner)
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "carrier-grade NAT"),
        (address.is_multicast, "multicast"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not global"),
    )
    return next((reason for failed, reason in checks if failed), None)


def allow_all(address: IPAddress) -> str | None:
    """The ``ALLOW_PRIVATE_URLS=1`` policy: no address check at all."""
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, in any spelling (``2130706433``, ``0x7f000001``, ``127.1``, ``[::1]``)."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # the C library's lenient IPv4 forms, which getaddrinfo would also accept
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):  # ValueError: a NUL in the name
        return None


# Spaces, control characters and DEL: no host name holds them, and the C resolver stops at a NUL.
_UNSAFE_IN_HOST = re.compile(r"[\x00-\x20\x7f-\x9f]")


def _refuse_unsafe(host: str) -> None:
    if _UNSAFE_IN_HOST.search(host):
        raise FetchRefused("that is not a valid web address (its host name holds a space or a control character)")


def internet_name(host: str) -> str:
    """``host`` as the connection will name it (IDNA, lower case); a refusal when no resolver could take it.

    aiohttp connects to the name as yarl spells it (IDNA 2008), and getaddrinfo encodes with
    Python's IDNA codec, which refuses an empty label or one over 63 characters; a name either
    cannot take, or one holding a space or a control character, is refused here in one
    sentence, before any lookup.
    """
    _refuse_unsafe(host)
    try:
        name = yarl.URL.build(scheme="http", host=host).raw_host or ""
        name.encode("idna")
    except (UnicodeError, ValueError):
        name = ""
    if not name or len(name.rstrip(".")) > 253:
        raise FetchRefused("that is not a valid web address (its host name is not a valid internet name)")
    return name


@dataclass(frozen=True, slots=True)
class Target:
    """A vetted hop: where to connect and what to call it."""

    url: str
    host: str
    port: int
    address: str


async def vet(url: str, policy: AddressPolicy) -> Target:
    """Check one URL and resolve its host once; refuse anything but a public http(s) page."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise FetchRefused(f"that is not a valid web address ({exc})") from None
    if parts.scheme not in {"http", "https"}:
        raise FetchRefused("only http and https addresses can be fetched")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("addresses with a user name or password are not fetched")
    host = parts.hostname
    if not host:
        raise FetchRefused("that address has no host name")
    _refuse_unsafe(host)
    literal = literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        host = internet_name(host)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise FetchRefused(f"the host {host} could not be found") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if policy(address) is not None:
            raise FetchRefused("that address is not on the public internet")
    return Target(url, host, port, str(addresses[0]))


class PinnedResolver(AbstractResolver):
    """Answer every lookup with the one address that was vetted, so DNS cannot rebind it."""

    def __init__(self, target: Target) -> None:
        """Pin ``target.host`` to ``target.address``."""
        self.target = target

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The vetted address, for the vetted host only."""
        if host != self.target.host:
            raise OSError(f"{host} was not vetted")
        address = ipaddress.ip_address(self.target.address)
        return [
            {
                "hostname": host,
                "host": self.target.address,
                "port": port,
                "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        """Nothing to close."""


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """What came back: the final URL, its content type and charset, and the bytes.

    For a conditional request (``If-None-Match`` / ``If-Modified-Since``), ``not_modified`` says the
    server answered 304 (no body); ``etag`` and ``last_modified`` are the validators it sent.
    """

    url: str
    content_type: str
    charset: str | None
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


async def _get_once(
    target: Target,
    timeout: aiohttp.ClientTimeout,
    max_bytes: int,
    accepted: frozenset[str] = ACCEPTED_TYPES,
    headers: dict[str, str] | None = None,
) -> tuple[Any, FetchedPage | None]:
    """One request to a vetted hop: (redirect location or None, the page or None)."""
    connector = aiohttp.TCPConnector(resolver=PinnedResolver(target), use_dns_cache=False, force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session,
        session.get(
            target.url, allow_redirects=False, headers={"User-Agent": USER_AGENT} | (headers or {})
        ) as response,
    ):
        if response.status == 304 and headers:
            return None, FetchedPage(str(response.url), "", None, b"", not_modified=True)
        if response.status in {301, 302, 303, 307, 308}:
            location = response.headers.get("Location")
            if not location:
                raise FetchRefused("the page redirected without saying where")
            return urljoin(target.url, location), None
        if response.status >= 400:
            raise FetchRefused(f"the page answered with HTTP {response.status}")
        content_type = response.content_type.lower()
        if content_type not in accepted:
            raise FetchRefused(f"that address serves {content_type or 'an unknown type'}, not a web page or text")
        declared = response.content_length
        if declared is not None and declared > max_bytes:
            raise FetchRefused(f"the page is larger than {max_bytes // 1_000_000} MB")
        body = bytearray()
        async for chunk in response.content.iter_chunked(65536):
            body += chunk
            if len(body) > max_bytes:
                raise FetchRefused(f"the page is larger than {max_bytes // 1_000_000} MB")
        return None, FetchedPage(
            str(response.url),
            content_type,
            response.charset,
            bytes(body),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )


async def fetch_page(
    url: str,
    *,
    policy: AddressPolicy = public_only,
    timeout_s: float = TIMEOUT_S,
    max_bytes: int = MAX_BYTES,
    accepted: frozenset[str] = ACCEPTED_TYPES,
    headers: dict[str, str] | None = None,
) -> FetchedPage:
    """Fetch ``url``, following at most 3 redirects, each hop vetted before any connection.

    ``accepted`` are the content types taken (a feed's differ from a page's); ``headers`` are sent
    with every hop (a feed's conditional request: a 304 answer comes back as ``not_modified``).
    """
    timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def follow() -> FetchedPage:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            target = await vet(current, policy)
            location, page = await _get_once(target, timeout, max_bytes, accepted, headers)
            if page is not None:
                return page
            current = location
        raise FetchRefused(f"the page redirected more than {MAX_REDIRECTS} times")

    try:
        return await asyncio.wait_for(follow(), timeout_s)
    except TimeoutError:
        raise FetchRefused(f"the page did not arrive within {timeout_s:.0f} s") from None
    except aiohttp.ClientError as exc:
        raise FetchRefused(f"the page could not be fetched ({type(exc).__name__})") from None
