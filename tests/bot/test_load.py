"""Load while changing: 200 questions from 20 users while a moderator adds and removes and an admin rebuilds."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

from tests.bot.test_bot_process import Bot, callback, embed_text, running_bot

QUESTIONS = [
    "who is sponsoring the SAVE act",
    "what did the appeals court decide about the voter fraud commission",
    "how many russian officials could be charged over the dnc hack",
    "which antivirus company was banned from us government computers",
    "what does the harvard guidebook tell campaigns to use",
    "who did Ratcliffe blame?",
    "how many states did dhs say were targeted by russia",
    "how do I bake sourdough bread",
    "did russia hack the election",
    "what is quillfeather county doing about its ballots",
]
QUILLFEATHER = (
    "Quillfeather County will count every paper ballot twice by hand this year, its election director said on Monday."
    " The Quillfeather recount will be open to observers from both parties."
)


def test_two_hundred_questions_while_articles_change_and_the_index_rebuilds(tmp_path: Path, reuters_dir: Path) -> None:
    """First responses inside 3 s, loop lag p99 under 100 ms, no blocked heartbeat, removals final, floods cooled."""
    with running_bot(tmp_path, reuters_dir, ASK_COOLDOWN_SECONDS="1", LAG_REPORT_SECONDS="2") as bot:
        run_load(bot)


def run_load(bot: Bot) -> None:
    """Drive the load and check every promise."""
    d, a = bot.discord, bot.a
    users = [bot.member(a) for _ in range(20)]
    moderator, admin, flooder, prober = bot.moderator(a), bot.member(a, a.admin_role), bot.member(a), bot.member(a)
    sent = []
    removal_ack_at: float | None = None
    added = removal = flood = None
    rebuild = d.slash(a, admin, "index", "rebuild")
    load_started = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    for round_number in range(10):
        if round_number == 1:
            added = d.slash(a, moderator, "article", "add", text=QUILLFEATHER, title="Quillfeather recount")
        if round_number == 3:
            flood = [d.slash(a, flooder, "ask", question="who did Ratcliffe blame?") for _ in range(5)]
        if round_number == 5:
            assert added is not None
            article_id = int(d.reply_to(added).body["content"].split("#")[1].split(" ")[0])
            # Acknowledged, so a question asked now is answered from it: proof that it was quotable before the removal
            # (the load's own quillfeather questions may all be answered before the add commits or after the removal).
            probe = d.slash(a, prober, "ask", question="what is quillfeather county doing about its ballots")
            assert "Quillfeather County will count" in embed_text(d.reply_to(probe, timeout=240))
            removal = d.slash(a, moderator, "article", "remove", article=article_id)
            removal_ack_at = d.reply_to(removal).at
        round_started = time.monotonic()
        for i, user in enumerate(users):
            question = QUESTIONS[(i + round_number) % len(QUESTIONS)]
            sent.append((d.slash(a, user, "ask", question=question), question))
        time.sleep(max(0.0, 2.3 - (time.monotonic() - round_started)))  # each user stays outside the cooldown

    answered = 0
    answer_seconds = []  # from the question to the quoted answer (reported, not asserted: machines are noisy)
    for interaction, question in sent:
        first = callback(bot, interaction)
        assert first.body["type"] == 5 and first.at - interaction.at < 3, (question, first.at - interaction.at)
        reply = d.reply_to(interaction, timeout=240)
        answered += 1
        answer_seconds.append(reply.at - interaction.at)
        if "quillfeather" in question and removal_ack_at is not None and interaction.at > removal_ack_at:
            assert "Quillfeather County will count" not in embed_text(reply), "a removed article was quoted"
    assert answered == 200

    assert flood is not None
    refused = [s for s in flood if "try again in" in str(d.reply_to(s).body)]
    assert len(refused) == 4  # the first of the flood is answered, the rest wait for the cooldown
    final = d.wait_for(
        lambda calls: next((c for c in calls if rebuild.token in c.path and "Rebuilt the index" in str(c.body)), None),
        300,
    )
    assert final is not None

    time.sleep(2.5)  # let the last lag report be written
    log = bot.log.read_text()
    assert "heartbeat blocked" not in log
    reports = re.findall(
        r"^(\S+ \S+),\d+ \S+ bot.health: event loop lag over \d+ ticks: p50=[\d.]+ms p99=([\d.]+)ms", log, re.M
    )
    p99s = [float(p99) for at, p99 in reports if at >= load_started]
    assert len(p99s) >= 5 and max(p99s) < 100, p99s
    answer_seconds.sort()
    print(
        f"\n200 questions from 20 users answered; event-loop lag p99 per 2 s window: max {max(p99s):.1f} ms;"
        f" question to answer: p50 {answer_seconds[100]:.2f} s, p95 {answer_seconds[190]:.2f} s, max {answer_seconds[-1]:.2f} s"
    )
