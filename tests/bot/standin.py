"""A stand-in Discord on 127.0.0.1: the REST API and the gateway, enough to run the real bot against.

It behaves like Discord where the bot can tell: real snowflakes, the exact
``Content-Type: application/json``, HELLO / IDENTIFY / READY / GUILD_CREATE and
heartbeat ACKs on the gateway, member permissions computed from roles (with
Administrator implying everything), interaction callbacks answered the way
discord.py asks for them (``with_response``), followups and edits through the
webhook routes, and attachments served from a CDN path. Every REST call the
bot makes is recorded for the tests to assert on.

Sharding as Discord does it: any number of gateway sessions at once, from one
process or several; each IDENTIFY's ``shard: [shard_id, shard_count]`` (absent:
``[0, 1]``) picks the session's guilds, those with ``(guild_id >> 22) %
shard_count == shard_id``. READY lists only them, GUILD_CREATE follows only for
them, and every guild event goes to the sessions whose shard holds the guild;
DMs go to shard 0. An invalid shard is closed with 4010, as Discord does.
``GET /gateway/bot`` recommends one shard per 1,000 guilds (or
:attr:`StandInDiscord.recommended_shards`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1420070400000
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
MANAGE_MESSAGES = 1 << 13
# View channel, send messages, embed links, attach files, read history, use application commands.
MEMBER_BASE = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31)
ALL_PERMISSIONS = (1 << 50) - 1

_counter = itertools.count(1)


def snowflake() -> int:
    """A real-shaped snowflake: milliseconds since the Discord epoch, then a counter."""
    return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(_counter) & 0xFFF)


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events: ``(guild_id >> 22) % shard_count``, as Discord routes them."""
    return (guild_id >> 22) % shard_count


def snowflake_on_shard(shard_id: int, shard_count: int) -> int:
    """A fresh snowflake whose guild would land on ``shard_id`` of ``shard_count`` (drawn until one does)."""
    while shard_of(candidate := snowflake(), shard_count) != shard_id:
        time.sleep(0.001)  # the timestamp bits are what move a snowflake to another shard
    return candidate


def now_iso() -> str:
    """The current time as Discord writes timestamps."""
    return datetime.now(UTC).isoformat()


def user_json(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


@dataclass
class Role:
    """A role with its permission bits."""

    id: int
    name: str
    permissions: int
    position: int = 1

    def to_json(self) -> dict[str, Any]:
        """As Discord sends it."""
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
            "icon": None,
            "unicode_emoji": None,
        }


@dataclass
class Member:
    """A member of a guild."""

    id: int
    name: str
    roles: list[Role] = field(default_factory=list)


@dataclass
class Guild:
    """A guild with @everyone, a moderator role, an admin role and one text channel."""

    id: int
    name: str
    channel_id: int
    everyone: Role
    moderator_role: Role
    admin_role: Role
    curator_role: Role
    members: dict[int, Member] = field(default_factory=dict)

    def permissions(self, member: Member) -> int:
        """Computed like Discord: @everyone, OR each role; Administrator means all."""
        bits = self.everyone.permissions
        for role in member.roles:
            bits |= role.permissions
        return ALL_PERMISSIONS if bits & ADMINISTRATOR else bits

    def channel_json(self) -> dict[str, Any]:
        """The text channel."""
        return {
            "id": str(self.channel_id),
            "type": 0,
            "guild_id": str(self.id),
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }

    def member_json(self, member: Member) -> dict[str, Any]:
        """A member object as it comes inside an interaction."""
        return {
            "user": user_json(member.id, member.name),
            "roles": [str(r.id) for r in member.roles],
            "permissions": str(self.permissions(member)),
            "joined_at": now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "pending": False,
        }


@dataclass
class Call:
    """One REST request the bot made."""

    method: str
    path: str
    body: Any
    at: float
    query: dict[str, str]
    response: Any = None  # the message object Discord answered with, if any


@dataclass
class Sent:
    """An interaction or message the stand-in sent to the bot."""

    id: int
    token: str
    at: float
    channel_id: int
    delivered: int = 1  # how many gateway sessions it went to (0: no connected shard holds its guild)


@dataclass
class Session:
    """One gateway connection: its socket, the shard it identified as, its own sequence numbers."""

    ws: web.WebSocketResponse
    number: int
    shard: tuple[int, int] | None = None  # [shard_id, shard_count] from IDENTIFY; None until READY
    ready: bool = False  # READY and every GUILD_CREATE of its shard sent
    seq: int = 0
    burst: asyncio.Lock = field(default_factory=asyncio.Lock)  # held while READY and the GUILD_CREATEs go out

    def holds(self, guild_id: int | None) -> bool:
        """Whether this session receives the events of ``guild_id`` (None: a DM, which shard 0 receives)."""
        if self.shard is None or self.ws.closed:
            return False
        shard_id, shard_count = self.shard
        return shard_id == (0 if guild_id is None else shard_of(guild_id, shard_count))


class StandInDiscord:
    """Serve a fake Discord in a background thread; drive it from synchronous tests."""

    def __init__(self) -> None:
        """Create the bot's identity; nothing listens until :meth:`start`."""
        self.app_id = snowflake()
        self.bot_user_id = self.app_id
        self.guilds: dict[int, Guild] = {}
        self.calls: list[Call] = []
        self.heartbeats: list[float] = []
        self.identified = threading.Event()
        self.synced = threading.Event()
        self.attachments: dict[str, tuple[bytes, str]] = {}
        self.pages: dict[str, str] = {}
        self.downloads: list[str] = []
        self.reject_token = False  # answer 401 to the bot's login, as Discord does for a bad token
        self.recommended_shards: int | None = None  # what GET /gateway/bot says (None: one per 1,000 guilds)
        self.sessions: list[Session] = []  # every gateway connection, in the order they came
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self.port = 0
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="standin-discord")

    # -- set-up -----------------------------------------------------------------------

    def add_guild(self, name: str, *, shard: tuple[int, int] | None = None) -> Guild:
        """A guild whose @everyone can talk, with a moderator and an admin role (before the bot connects).

        ``shard=(shard_id, shard_count)`` draws its id so that it lands on that shard.
        """
        guild_id = snowflake() if shard is None else snowflake_on_shard(*shard)
        guild = Guild(
            id=guild_id,
            name=name,
            channel_id=snowflake(),
            everyone=Role(guild_id, "@everyone", MEMBER_BASE, 0),
            moderator_role=Role(snowflake(), "Moderators", MANAGE_MESSAGES),
            admin_role=Role(snowflake(), "Admins", ADMINISTRATOR, 2),
            curator_role=Role(snowflake(), "Curators", 0, 3),  # no permissions: a moderator only by setting
        )
        self.guilds[guild_id] = guild
        return guild

    def add_member(self, guild: Guild, name: str, *roles: Role) -> Member:
        """A member of ``guild`` with these roles."""
        member = Member(snowflake(), name, list(roles))
        guild.members[member.id] = member
        return member

    def add_attachment(self, filename: str, content: bytes, content_type: str) -> dict[str, Any]:
        """An attachment object whose URL this server serves."""
        attachment_id = snowflake()
        self.attachments[f"{attachment_id}/{filename}"] = (content, content_type)
        url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}"
        return {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(content),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }

    @property
    def api_base(self) -> str:
        """What the bot uses as ``discord.http.Route.BASE``."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """What the bot uses as ``DiscordWebSocket.DEFAULT_GATEWAY``."""
        return f"ws://127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Listen on an ephemeral port on 127.0.0.1."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)

    def stop(self) -> None:
        """Close everything."""

        async def shutdown() -> None:
            for session in list(self.sessions):
                await session.ws.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/", self._gateway)
        app.router.add_get("/attachments/{id}/{name}", self._attachment)
        app.router.add_get("/pages/{name}", self._page)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    # -- the gateway ------------------------------------------------------------------

    async def _dispatch(self, event: str, data: dict[str, Any], guild_id: int | None = None) -> int:
        """Send an event to every session whose shard holds ``guild_id`` (a DM: shard 0); how many got it."""
        sessions = [session for session in self.sessions if session.holds(guild_id)]
        for session in sessions:
            async with session.burst:
                await self._send_to(session, event, data)
        return len(sessions)

    async def _send_to(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        await session.ws.send_str(json.dumps({"op": 0, "t": event, "s": session.seq, "d": data}))

    def shards_connected(self) -> set[tuple[int, int]]:
        """The ``(shard_id, shard_count)`` of every open session that has been sent READY and its guilds."""
        with self._lock:
            return {s.shard for s in self.sessions if s.shard is not None and s.ready and not s.ws.closed}

    def guild_create(self, guild: Guild) -> dict[str, Any]:
        """The GUILD_CREATE payload for ``guild``."""
        roles = [guild.everyone, guild.moderator_role, guild.admin_role, guild.curator_role]
        bot_member = {
            "user": user_json(self.bot_user_id, "NewsBot", bot=True),
            "roles": [],
            "joined_at": now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "owner_id": str(next(iter(guild.members), self.bot_user_id)),
            "roles": [r.to_json() for r in roles],
            "channels": [guild.channel_json()],
            "members": [bot_member],
            "member_count": len(guild.members) + 1,
            "features": [],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "joined_at": now_iso(),
            "mfa_level": 0,
            "verification_level": 0,
            "explicit_content_filter": 0,
            "default_message_notifications": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "nsfw_level": 0,
            "afk_timeout": 300,
            "afk_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "splash": None,
            "discovery_splash": None,
        }

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        with self._lock:
            session = Session(ws, len(self.sessions) + 1)
            self.sessions.append(session)
        # A short interval makes a blocked event loop show up within the tests' time.
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 1000}}))
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            if payload["op"] == 1:
                self.heartbeats.append(time.monotonic())
                await ws.send_str(json.dumps({"op": 11}))
            elif payload["op"] == 2:
                await self._identify(session, payload["d"])
        return ws

    async def _identify(self, session: Session, identify: dict[str, Any]) -> None:
        """READY with this shard's guilds as unavailable stubs, then a GUILD_CREATE for each of them."""
        shard = identify.get("shard")
        if shard is None:
            shard = [0, 1]
        elif not (
            isinstance(shard, list)
            and len(shard) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in shard)
            and 0 <= shard[0] < shard[1]
        ):
            await session.ws.close(code=4010, message=b"Invalid shard.")
            return
        shard_id, shard_count = shard
        mine = [g for g in self.guilds.values() if shard_of(g.id, shard_count) == shard_id]
        ready: dict[str, Any] = {
            "v": 10,
            "user": user_json(self.bot_user_id, "NewsBot", bot=True),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in mine],
            "session_id": f"standin-session-{session.number}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.app_id), "flags": 0},
        }
        if "shard" in identify:
            ready["shard"] = [shard_id, shard_count]
        # Events of this shard's guilds from now on wait for READY and the GUILD_CREATEs, as on Discord.
        async with session.burst:
            with self._lock:
                session.shard = (shard_id, shard_count)
            await self._send_to(session, "READY", ready)
            for guild in mine:
                await self._send_to(session, "GUILD_CREATE", self.guild_create(guild))
            session.ready = True
        self.identified.set()

    # -- REST -------------------------------------------------------------------------

    def _json(self, data: Any, status: int = 200) -> web.Response:
        return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})

    def message_json(self, channel_id: int, body: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        """A message object for what the bot sent."""
        return {
            "id": str(message_id or snowflake()),
            "channel_id": str(channel_id),
            "type": 0,
            "author": user_json(self.bot_user_id, "NewsBot", bot=True),
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "tts": False,
            "pinned": False,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "flags": body.get("flags", 0),
        }

    def gateway_json(self, *, bot: bool) -> dict[str, Any]:
        """GET /gateway: the URL; /gateway/bot adds the recommended shards and the session start limit.

        Discord recommends a shard per 1,000 guilds and allows 1,000 sessions a day, one starting at a time.
        """
        if not bot:
            return {"url": self.gateway_url.rstrip("/")}
        shards = self.recommended_shards or max(1, -(-len(self.guilds) // 1000))
        limit = {"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}
        return {"url": self.gateway_url.rstrip("/"), "shards": shards, "session_start_limit": limit}

    def add_page(self, name: str, html: str) -> str:
        """Serve a web page (a news site, for `/article add url:`); return its URL."""
        self.pages[name] = html
        return f"http://127.0.0.1:{self.port}/pages/{name}"

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(body=self.pages[request.match_info["name"]].encode(), headers={"Content-Type": "text/html"})

    async def _attachment(self, request: web.Request) -> web.Response:
        self.downloads.append(request.match_info["name"])
        content, content_type = self.attachments[f"{request.match_info['id']}/{request.match_info['name']}"]
        return web.Response(body=content, headers={"Content-Type": content_type})

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
            else:  # multipart: keep the JSON part
                reader = await request.multipart()
                async for part in reader:
                    if part.name == "payload_json":  # type: ignore[union-attr]
                        body = json.loads(await part.text())  # type: ignore[union-attr]
        call = Call(request.method, path, body, time.monotonic(), dict(request.query))
        response = self._route(call, body or {})
        with self._lock:
            self.calls.append(call)
        return response

    def _message(self, call: Call, channel_id: int, body: dict[str, Any]) -> web.Response:
        call.response = self.message_json(channel_id, body)
        return self._json(call.response)

    def _route(self, call: Call, body: Any) -> web.Response:
        method, path = call.method, call.path
        parts = path.strip("/").split("/")
        if path in {"/gateway", "/gateway/bot"}:
            return self._json(self.gateway_json(bot=path == "/gateway/bot"))
        if path == "/users/@me":
            if self.reject_token:
                return self._json({"message": "401: Unauthorized", "code": 0}, status=401)
            return self._json(user_json(self.bot_user_id, "NewsBot", bot=True))
        if path in {"/applications/@me", "/oauth2/applications/@me"}:
            return self._json(
                {
                    "id": str(self.app_id),
                    "name": "NewsBot",
                    "description": "",
                    "icon": None,
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": user_json(snowflake(), "owner"),
                    "verify_key": "0" * 64,
                    "flags": 0,
                    "team": None,
                }
            )
        if parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            self.synced.set()
            return self._json(
                [{**c, "id": str(snowflake()), "application_id": str(self.app_id), "version": "1"} for c in body]
            )
        if parts[0] == "interactions" and parts[-1] == "callback":
            interaction_id = int(parts[1])
            kind = body.get("type")
            message = None
            if kind in (4, 7):
                message = call.response = self.message_json(0, body.get("data") or {})
            return self._json(
                {
                    "interaction": {
                        "id": str(interaction_id),
                        "type": 2,
                        "response_message_id": message["id"] if message else None,
                        "response_message_loading": kind == 5,
                        "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & 64),
                    },
                    "resource": {"type": kind, "message": message} if message else {"type": kind},
                }
            )
        if parts[0] == "webhooks":
            if method == "DELETE":
                return web.Response(status=204)
            return self._message(call, 0, body)
        if parts[0] == "channels" and parts[-1] == "typing":
            return web.Response(status=204)
        if parts[0] == "channels" and parts[-1] == "messages" and method == "POST":
            return self._message(call, int(parts[1]), body)
        return self._json({"message": f"stand-in has no route for {method} {path}", "code": 0}, status=404)

    # -- what the tests drive ---------------------------------------------------------

    def _send(self, event: str, data: dict[str, Any], guild_id: int | None) -> int:
        """Send a guild's event (None: a DM) to the sessions that hold it; how many got it (0: none is connected)."""
        return asyncio.run_coroutine_threadsafe(self._dispatch(event, data, guild_id), self._loop).result(10)

    def interaction(
        self,
        guild: Guild | None,
        member: Member,
        data: dict[str, Any],
        *,
        kind: int = 2,
        message: dict[str, Any] | None = None,
    ) -> Sent:
        """Send INTERACTION_CREATE from ``member`` (in ``guild``, or a DM when None)."""
        interaction_id = snowflake()
        token = f"token-{interaction_id}"
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.app_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "app_permissions": str(ALL_PERMISSIONS),
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild is not None:
            channel_id = guild.channel_id
            payload |= {
                "guild_id": str(guild.id),
                "channel_id": str(channel_id),
                "channel": guild.channel_json(),
                "member": guild.member_json(member),
                "guild_locale": "en-US",
                "authorizing_integration_owners": {"0": str(guild.id)},
                "context": 0,
            }
        else:
            channel_id = snowflake()
            payload |= {
                "channel_id": str(channel_id),
                "channel": {"id": str(channel_id), "type": 1, "recipients": [user_json(member.id, member.name)]},
                "user": user_json(member.id, member.name),
                "authorizing_integration_owners": {"1": str(member.id)},
                "context": 1,
            }
        if message is not None:
            payload["message"] = message
        delivered = self._send("INTERACTION_CREATE", payload, guild.id if guild is not None else None)
        return Sent(interaction_id, token, time.monotonic(), channel_id, delivered)

    def slash(self, guild: Guild | None, member: Member, name: str, *sub: str, **options: Any) -> Sent:
        """A slash command, e.g. ``slash(g, m, "article", "add", text="...")``."""
        attachments = {o["id"]: o for o in options.values() if isinstance(o, dict) and "filename" in o}
        opts = [
            {
                "name": k,
                "type": 11 if isinstance(v, dict) else 4 if isinstance(v, int) else 3,
                "value": v["id"] if isinstance(v, dict) else v,
            }
            for k, v in options.items()
        ]
        data: dict[str, Any] = {"id": str(snowflake()), "name": name, "type": 1}
        data["options"] = [{"name": sub[0], "type": 1, "options": opts}] if sub else opts
        if attachments:
            data["resolved"] = {"attachments": attachments}
        return self.interaction(guild, member, data)

    def press(self, guild: Guild, member: Member, message: Call, custom_id: str) -> Sent:
        """Press a button on a message the bot sent (Discord includes that message, components and all)."""
        data = {"custom_id": custom_id, "component_type": 2}
        return self.interaction(guild, member, data, kind=3, message=message.response)

    def mention(self, guild: Guild, member: Member, text: str) -> Sent:
        """A channel message from ``member`` that mentions the bot."""
        message_id = snowflake()
        delivered = self._send(
            "MESSAGE_CREATE",
            {
                **self.message_json(guild.channel_id, {"content": f"<@{self.bot_user_id}> {text}"}, message_id),
                "author": user_json(member.id, member.name),
                "member": {k: v for k, v in guild.member_json(member).items() if k != "user"},
                "guild_id": str(guild.id),
                "mentions": [user_json(self.bot_user_id, "NewsBot", bot=True)],
            },
            guild.id,
        )
        return Sent(message_id, "", time.monotonic(), guild.channel_id, delivered)

    def calls_for(self, sent: Sent) -> list[Call]:
        """The REST calls that answered one interaction (callback, followups, edits)."""
        with self._lock:
            return [c for c in self.calls if f"/{sent.id}/" in c.path or f"/{sent.token}" in c.path]

    def wait_for(self, check: Callable[[list[Call]], Any], timeout: float = 60) -> Any:
        """Poll the recorded calls until ``check`` returns something truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                calls = list(self.calls)
            result = check(calls)
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"timed out; the last calls were {[(c.method, c.path) for c in self.calls[-8:]]}")

    def reply_to(self, sent: Sent, timeout: float = 60) -> Call:
        """The message that completes an interaction: the first followup, or a type-4/7 callback."""

        def done(calls: list[Call]) -> Call | None:
            for call in calls:
                if sent.token in call.path and call.method in {"POST", "PATCH"} and call.path.startswith("/webhooks"):
                    return call
                if f"/interactions/{sent.id}/" in call.path and call.body.get("type") in (4, 7, 8):
                    return call
            return None

        return self.wait_for(done, timeout)
