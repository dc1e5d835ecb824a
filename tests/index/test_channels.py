"""Channel modes and the bot's threads, as the core keeps them, on both backends."""

from __future__ import annotations

import pytest

from corpus.errors import BadInput
from index.library import Library


def test_a_channel_mode_is_kept_listed_per_server_and_defaults_to_mention(any_library: Library) -> None:
    """Set, change and list modes; a channel nobody set answers mentions; another server's are not listed."""
    assert any_library.channel_mode(11) == "mention"
    any_library.set_channel_mode(guild_id=1, channel_id=11, mode="auto", actor="7")
    any_library.set_channel_mode(guild_id=1, channel_id=12, mode="off", actor="7")
    any_library.set_channel_mode(guild_id=2, channel_id=21, mode="off", actor="8")
    any_library.set_channel_mode(guild_id=1, channel_id=11, mode="mention", actor="7")
    assert any_library.channel_mode(12) == "off" and any_library.channel_mode(11) == "mention"
    assert any_library.channel_modes(guild_id=1) == {11: "mention", 12: "off"}
    assert any_library.channel_modes(guild_id=None) == {11: "mention", 12: "off", 21: "off"}


@pytest.mark.parametrize(("mode", "channel_id"), [("loud", 11), ("", 11), ("auto", 0), ("auto", 2**63)])
def test_a_bad_mode_or_channel_is_refused_and_nothing_changes(library: Library, mode: str, channel_id: int) -> None:
    """Only auto, mention and off, for real channel ids."""
    with pytest.raises(BadInput):
        library.set_channel_mode(guild_id=1, channel_id=channel_id, mode=mode, actor="7")
    assert library.channel_modes(guild_id=1) == {}


def test_a_thread_keeps_its_latest_question(any_library: Library) -> None:
    """A thread the bot started answers with its last question; any other channel with None."""
    assert any_library.thread_question(500) is None
    any_library.remember_thread(500, guild_id=1, channel_id=11, question="who did Ratcliffe blame?")
    any_library.remember_thread(500, guild_id=1, channel_id=None, question="and when was that")
    assert any_library.thread_question(500) == "and when was that"
    assert any_library.thread_question(501) is None
