"""Follow-up questions: reading a question in the light of the one asked before it in a conversation.

Members in a thread ask "what about russia?", "and when was that", "who else said so": questions
that name no subject of their own. Such a question *leans on* the one before, and it is searched
with the earlier question's subject carried over (:func:`followup_query`). A question with a subject
of its own is searched alone. Pure functions of the two texts, so the rules can be tested on their own
(tests/index/test_followups.py) and were chosen on the tuning half of the follow-up pair set
(``python -m bench.followups``).
"""

from __future__ import annotations

import re

from index.answers import content_words

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
#: How a follow-up opens: "and ...", "what about X", "who else", "why", "so ...".
_OPENER = re.compile(
    r"^(and|but|also|so|then|ok|okay|what about|how about|and what about|what else|who else|where else|"
    r"why|how come|since when|when was that|when did that|is that|was that|were they|did they|does it|did it)\b",
    re.IGNORECASE,
)
#: Words that point back at something said before.
_POINTER = frozenset(
    "he she it they them him his her hers its their theirs that this those these then"
    " same other guy one ones before after next".split()
)
#: Words of asking that say nothing about the subject: a question made only of these names none.
_ASKING = frozenset(
    "what when where which who whom whose why how much many long did do does is are was were has have had will"
    " would can could should a an the and but so also then else about of on in at to for with from by over into"
    " against out up any anyone get got"
    " know tell me us pls please ok okay really actually exactly again though tho still yet now happen happened"
    " say said says mean means think thinks".split()
)
#: A question with at most this many words of its own leans on the one before (pair set, tuning half:
#: 2 answered one more follow-up but made "who is john ratcliffe" lean too).
OWN_WORDS = 1
#: ... and one that opens like a follow-up or points back, unless it names more than this many things
#: itself ("why was the virginia lottery drawing postponed" stands alone).
POINTING_OWN_WORDS = 3


def own_words(question: str) -> list[str]:
    """The words of ``question`` that name something: not question words, pointers or filler."""
    return [w for w in _WORD.findall(question.casefold()) if w not in _ASKING and w not in _POINTER and not w.isdigit()]


def leans_on_previous(question: str) -> bool:
    """Whether ``question`` makes sense only after the question before it.

    It does when it names almost nothing of its own ("how many pleaded guilty"), or opens like a
    follow-up ("and", "what about", "who else", "why") or points back ("he", "it", "that", "said so")
    and names only a few things of its own.
    """
    text = " ".join(question.split()).strip()
    if not text:
        return False
    words = _WORD.findall(text.casefold())
    own = len(own_words(text))
    # "so" points back only at the end: "who else said so", not "cost so far".
    points = any(w in _POINTER for w in words) or words[-1:] == ["so"]
    return own <= OWN_WORDS or ((bool(_OPENER.match(text)) or points) and own <= POINTING_OWN_WORDS)


def _carried(question: str, previous: str) -> list[str]:
    """The earlier question's words that name something and that ``question`` does not already hold."""
    have = content_words(question)
    carried: list[str] = []
    for word in own_words(previous):
        if word not in carried and not (content_words(word) <= have):
            carried.append(word)
    return carried


def followup_query(question: str, previous: str | None) -> str:
    """What to search for ``question`` asked after ``previous``: itself, or with the earlier subject carried over.

    A question with a subject of its own is searched alone. One that leans on the earlier question
    is searched as its own words followed by the earlier question's naming words it lacks ("and
    when did he say that" after "who did ratcliffe blame for the voter data" searches "and when did
    he say that ratcliffe blame voter data"): its own words come first, so what it asks ("when",
    "how many") is read from it.
    """
    text = " ".join(question.split())
    if not previous or not previous.strip() or not leans_on_previous(text):
        return text
    earlier = " ".join(previous.split())
    carried = _carried(text, earlier)
    return " ".join([text, *carried]) if carried else text
