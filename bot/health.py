"""Watch the event loop: if anything blocks it, the gateway heartbeat and every command suffer."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("bot.health")

#: Above this 99th-percentile lag the report is a warning.
LAG_WARNING_S = 0.100


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def watch_event_loop(report_every_s: float, tick_s: float = 0.05) -> None:
    """Tick every ``tick_s``; every ``report_every_s`` log how late the ticks came (p50, p99, max)."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    next_report = loop.time() + report_every_s
    while True:
        expected = loop.time() + tick_s
        await asyncio.sleep(tick_s)
        lags.append(max(0.0, loop.time() - expected))
        if loop.time() >= next_report and lags:
            p99 = percentile(lags, 99)
            level = logging.WARNING if p99 > LAG_WARNING_S else logging.INFO
            log.log(
                level,
                "event loop lag over %d ticks: p50=%.1fms p99=%.1fms max=%.1fms",
                len(lags),
                percentile(lags, 50) * 1000,
                p99 * 1000,
                max(lags) * 1000,
            )
            lags.clear()
            next_report = loop.time() + report_every_s
