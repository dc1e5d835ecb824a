"""Reading a question the way members type it: chat filler, a time in it, "latest", who is acting, places named.

Nothing here knows the articles except through the dates it is handed, so the rules can be tested
on their own (tests/index/test_questions.py) and weighed on the news development set's tuning half
(bench/news.py).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from index.places import places_named

#: Chat filler that says nothing about the topic ("so like", "anyone know", "rn", "lol").
_FILLER = re.compile(
    r"\b(so like|like,|anyone know|does anyone know|any ?one know|can someone tell me|quick question|"
    r"lol|lmao|tbh|imo|pls|plz|rn|right now|ok so|hey|smh|ngl|idk|btw|fwiw|iirc|tho)\b[,:]?",
    re.IGNORECASE,
)
#: Chat shorthand and the words news copy uses for it. A shorthand news copy never prints is replaced (it
#: would be a word no article mentions); an agency's initials that copy uses too keep their place, the name
#: follows, so either spelling is found.
_SHORTHAND = {
    "dem": "Democrat",
    "dems": "Democrats",
    "repub": "Republican",
    "repubs": "Republicans",
    "potus": "President",
    "scotus": "Supreme Court",
    "prez": "President",
    "admin": "administration",
    "govt": "government",
    "gov't": "government",
    "feds": "federal authorities",
    "insta": "Instagram",
    "oppo": "opposition research",
    "ag": "Attorney General",
    "sen": "Senator",
    "rep": "Representative",
    "gop": "GOP Republican",
    "dept": "Department",
    "docs": "documents",
    "thru": "through",
    "reorg": "reorganization",
    "intel": "intelligence",
    "doj": "DOJ Justice Department",
    "dhs": "DHS Homeland Security",
    "nyt": "New York Times",
    "wapo": "Washington Post",
    "wsj": "Wall Street Journal",
    "abt": "about",
    "ppl": "people",
    "hrs": "hours",
    "wut": "what",
    "wat": "what",
    "wich": "which",
    "teh": "the",
    # Contractions typed without the apostrophe, which no article holds as one word.
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "cant": "cannot",
    "couldnt": "could not",
    "wouldnt": "would not",
    "shouldnt": "should not",
    "isnt": "is not",
    "arent": "are not",
    "wasnt": "was not",
    "werent": "were not",
    "hasnt": "has not",
    "havent": "have not",
    "hadnt": "had not",
    "wont": "will not",
    "ive": "I have",
    "youre": "you are",
    "theyre": "they are",
    "yall": "you all",
}
#: ... alone or with a possessive "'s" ("the ag's excuse", "the nyt's story"), which is kept.
_SHORT = re.compile(
    r"(?<![\w'’])(" + "|".join(re.escape(w) for w in _SHORTHAND) + r")((?:'|’)s)?(?![\w'’])", re.IGNORECASE
)
#: Asking for the newest state of a story.
_LATEST = re.compile(
    r"\b(latest|most recent|newest|recent(ly)?|lately|these days|currently|current(ly)? status|"
    r"any (news|update)s?|update on|still|yet|anymore|whats? new|what'?s new|now)\b",
    re.IGNORECASE,
)
_LATEST_LEAD = re.compile(
    r"^(so )?(what'?s|whats|what is) (the )?(latest|most recent|newest)( news| update)?( on| with| in| about)?\s+|"
    r"^(any (news|update)s?|update)( on| with| about)?\s+|^(what'?s|whats) (happening|going on) (now )?with\s+",
    re.IGNORECASE,
)
_MONTHS = {name.casefold(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.casefold(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTHS |= {"sept": 9}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_PART = (
    r"(?P<part>early|beginning of|start of|the start of|the beginning of|mid|middle of|the middle of|late|end of"
    r"|the end of)[- ]"
)
_DAY = r"(?P<day>[0-3]?\d)(st|nd|rd|th)?"
_YEAR = r"(?P<year>(19|20)\d\d)"
_ONLY_YEAR = r"(?P<only_year>(19|20)\d\d)"
_TIME = re.compile(
    rf"\b(in |on |at |during |around |from )?(({_PART}\s*)?{_MONTH}(\s+{_DAY}(?!\d))?(,?\s+{_YEAR})?|{_ONLY_YEAR})\b",
    re.IGNORECASE,
)
#: A year the question names ("the 2020 election"): an article that answers it mentions it or is from then.
#: Not a count ("more than 2000 ballots").
_NAMED_YEAR = re.compile(
    r"(?<!\bthan )(?<!\babout )(?<!\bover )(?<!\bnearly )(?<!\balmost )(?<!\baround )(?<!\bsome )"
    r"(?<!\bleast )\b(?:19|20)\d\d\b(?!\s*(?:people|votes|ballots|voters|emails|accounts|ads|posts|times)\b)",
    re.IGNORECASE,
)
_RELATIVE = re.compile(r"\b(last|this|past) (week|month)\b|\b(yesterday|today)\b", re.IGNORECASE)
#: "who did X blame", "who has X accused": X is the one acting.
_WHO_DID = re.compile(r"\bwho(m)? (did|does|do|has|have|had|will|would) (?P<rest>.+)$", re.I)
#: "X blamed who", "so X blamed who exactly".
_DID_WHO = re.compile(r"^((so|and|but|wait|ok|okay),? )?(?P<actor>\w+( \w+)?) (?P<verb>\w+ed) who(m)?\b", re.I)
_VERBS = (
    r"say|tell|claim|accuse|blame|thank|hire|fire|sue|endorse|critici[sz]e|charge|warn|urge|ask|call|praise|attack|"
    r"name|nominate|appoint|meet|interview|subpoena|pick|back|support|want|text|email|pay|send|invite|beat|defeat"
)
#: A word that reads as the verb after "who did X": a known verb of dealing with people, or a plain verb form.
_VERBISH = re.compile(rf"({_VERBS})\b", re.I)
#: ... or one in the past ("X blamed who", "who has X told"): X is named as acting, for refusing an absent X.
_KNOWN_VERB = re.compile(rf"({_VERBS})(d|ed)?|said|told|met|paid|sent", re.I)


@dataclass(frozen=True, slots=True)
class Window:
    """Publication dates a question points at (one range per year when it names no year).

    ``exact`` when it named a day or a month, not a vaguer time ("early december", "2017").
    """

    ranges: tuple[tuple[date, date], ...]
    exact: bool


@dataclass(frozen=True, slots=True)
class Reading:
    """What a question asks, beyond its words."""

    text: str  # the question without chat filler and without its time expression, for searching
    window: Window | None = None  # the time it names, resolved against the collection's months
    latest: bool = False  # asks for the newest state of a story
    actor: str | None = None  # "who did X blame": X, who must be the one acting
    verb: str | None = None
    #: The countries, nationalities and states it names, and the years: an article that answers it mentions them.
    places: tuple[str, ...] = ()
    years: tuple[str, ...] = ()

    @property
    def named_actor(self) -> str | None:
        """The actor when a known verb of saying or dealing follows it ("who did X blame"), else None.

        Not a guess: "who will win the 2024 election" reads "win" as an actor only for want of a verb.
        """
        return self.actor if self.verb is not None and _KNOWN_VERB.fullmatch(self.verb) else None


def _strip(text: str) -> str:
    return " ".join(text.replace(" ,", ",").split()).strip(" ,")


def read_question(question: str, months: frozenset[tuple[int, int]], present: date | None) -> Reading:
    """Read ``question`` against the (year, month) pairs the collection holds and its newest date."""
    text = _SHORT.sub(lambda m: _SHORTHAND[m.group(1).casefold()] + (m.group(2) or ""), _FILLER.sub(" ", question))
    latest = bool(_LATEST.search(text))
    text = _LATEST_LEAD.sub("", _strip(text))
    window = None
    match = _TIME.search(text)
    if match:
        window = _window(match, months, present)
        if window is not None:
            text = text[: match.start()] + " " + text[match.end() :]
    elif present is not None and (relative := _RELATIVE.search(text)):
        window = _relative(relative.group(0).casefold(), present)
        text = text[: relative.start()] + " " + text[relative.end() :]
    actor, verb = _actor(_strip(text))
    places = places_named(_strip(text))
    years = tuple(dict.fromkeys(_NAMED_YEAR.findall(question)))
    return Reading(_strip(text) or question, window, latest and window is None, actor, verb, places, years)


def _actor(text: str) -> tuple[str | None, str | None]:
    """Who acts in "who did X blame ...", "who has X accused", "X blamed who": (X, the verb)."""
    if (who := _WHO_DID.search(text)) is not None:
        words = who.group("rest").split()
        # The actor is the words before the verb: before the first word that is no name of one or two words.
        for n in (1, 2, 3):
            if len(words) > n and _VERBISH.match(words[n]):
                return " ".join(words[:n]), words[n]
        return (words[0], words[1]) if len(words) > 1 else (None, None)
    if (after := _DID_WHO.search(text)) is not None:
        return after.group("actor"), after.group("verb")
    return None, None


def _window(match: re.Match[str], months: frozenset[tuple[int, int]], present: date | None) -> Window | None:
    if match.group("only_year"):
        year = int(match.group("only_year"))
        return Window(((date(year, 1, 1), date(year, 12, 31)),), exact=False)
    word = match.group("month").casefold()
    bare = not (match.group(1) or match.group("day") or match.group("part") or match.group("year"))
    if word in ("may", "march") and bare:  # "what may happen", "the march on washington": a verb or a noun
        return None
    month = _MONTHS[word]
    if match.group("year"):
        years = [int(match.group("year"))]
    else:  # every such month the collection holds, up to its present
        years = sorted(
            y for y, m in months if m == month and (present is None or (y, m) <= (present.year, present.month))
        )
        if not years:
            return None
    return Window(
        tuple(_part_of_month(year, month, match) for year in years),
        exact=bool(match.group("day")) or not match.group("part"),
    )


def _part_of_month(year: int, month: int, match: re.Match[str]) -> tuple[date, date]:
    last = calendar.monthrange(year, month)[1]
    if match.group("day"):
        on = date(year, month, min(max(int(match.group("day")), 1), last))
        return on, on + timedelta(days=2)  # reported that day or the next
    part = (match.group("part") or "").casefold()
    if "early" in part or "start" in part or "beginning" in part:
        return date(year, month, 1), date(year, month, 12)
    if "mid" in part:
        return date(year, month, 8), date(year, month, 23)
    if "late" in part or "end" in part:
        return date(year, month, 18), date(year, month, last) + timedelta(days=2)
    return date(year, month, 1), date(year, month, last) + timedelta(days=1)


def _relative(phrase: str, present: date) -> Window:
    if phrase in ("yesterday", "today"):
        return Window(((present - timedelta(days=2), present),), exact=False)
    days = 7 if phrase.endswith("week") else 31
    return Window(((present - timedelta(days=days), present),), exact=False)


@lru_cache(maxsize=65_536)
def published_date(published: str | None) -> date | None:
    """A stored publication date ("2017-12-31", "2020-10" or "2020") as a date (a month or year: its first day)."""
    if not published:
        return None
    parts = published.split("-")
    try:
        numbers = [int(p) for p in parts[:3]]
        return date(numbers[0], numbers[1] if len(numbers) > 1 else 1, numbers[2] if len(numbers) > 2 else 1)
    except ValueError:
        return None


def in_window(published: str | None, window: Window) -> bool:
    """Whether an article published then falls inside ``window`` (a month-only date counts if its month overlaps)."""
    when = published_date(published)
    if when is None:
        return False
    end = when
    if published is not None and published.count("-") == 1:  # only a month is known
        end = date(when.year, when.month, calendar.monthrange(when.year, when.month)[1])
    return any(when <= last and end >= first for first, last in window.ranges)
