"""The countries, nationalities and U.S. states a question names: an article that answers it mentions them.

A near miss often names a place the articles do not cover ("did russia interfere in the french
election", "who won the mexican election") while every other word matches a U.S. story well. Each
place is known by its name, its adjective and common other names; an article mentions the place
when it holds any of them. The United States is left out: every article of an election-security
collection is about it, and "us" is mostly a pronoun. So are words that are mostly something
else in questions ("chad", "polish"), and newspapers' names ("the New York Times") name no place.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: One place per line: its name, then the other words that mean it ("|" between them).
_PLACES = """
afghanistan|afghan|afghans
albania|albanian
algeria|algerian
andorra|andorran
angola|angolan
argentina|argentine|argentinian
armenia|armenian
australia|australian|australians
austria|austrian
azerbaijan|azerbaijani|azeri
bahamas|bahamian
bahrain|bahraini
bangladesh|bangladeshi
barbados|barbadian
belarus|belarusian|belarussian
belgium|belgian
belize|belizean
benin|beninese
bhutan|bhutanese
bolivia|bolivian
bosnia|bosnian|herzegovina
botswana
brazil|brazilian|brazilians
brunei
bulgaria|bulgarian
burkina faso|burkinabe
burundi|burundian
cambodia|cambodian
cameroon|cameroonian
canada|canadian|canadians
cape verde|cabo verde
central african republic
chile|chilean
china|chinese|beijing|prc
colombia|colombian
comoros
congo|congolese
costa rica|costa rican
croatia|croatian
cuba|cuban|cubans
cyprus|cypriot
czech republic|czechia|czech
denmark|danish|dane|danes
djibouti
dominican republic|dominican
ecuador|ecuadorian|ecuadorean
egypt|egyptian|egyptians
el salvador|salvadoran|salvadorian
equatorial guinea
eritrea|eritrean
estonia|estonian
eswatini|swaziland
ethiopia|ethiopian
fiji|fijian
finland|finnish|finn|finns
france|french|paris
gabon|gabonese
gambia|gambian
georgia|georgian
germany|german|germans|berlin
ghana|ghanaian
greece|greek|greeks
guatemala|guatemalan
guinea|guinean
guyana|guyanese
haiti|haitian
honduras|honduran
hong kong
hungary|hungarian
iceland|icelandic
india|indian|indians|new delhi
indonesia|indonesian
iran|iranian|iranians|tehran
iraq|iraqi|iraqis|baghdad
ireland|irish|dublin
israel|israeli|israelis
italy|italian|italians|rome
ivory coast|cote d'ivoire|ivorian
jamaica|jamaican
japan|japanese|tokyo
jordan|jordanian
kazakhstan|kazakh
kenya|kenyan|kenyans
kosovo|kosovar
kuwait|kuwaiti
kyrgyzstan|kyrgyz
laos|lao|laotian
latvia|latvian
lebanon|lebanese
lesotho
liberia|liberian
libya|libyan
liechtenstein
lithuania|lithuanian
luxembourg
madagascar|malagasy
malawi|malawian
malaysia|malaysian
maldives|maldivian
mali|malian
malta|maltese
mauritania|mauritanian
mauritius|mauritian
mexico|mexican|mexicans
moldova|moldovan|moldovas
monaco|monegasque
mongolia|mongolian
montenegro|montenegrin
morocco|moroccan
mozambique|mozambican
myanmar|burma|burmese
namibia|namibian
nepal|nepali|nepalese
netherlands|dutch|holland
new zealand|new zealander
nicaragua|nicaraguan
niger|nigerien
nigeria|nigerian|nigerians
north korea|north korean|pyongyang
korea|korean|koreans
north macedonia|macedonia|macedonian
norway|norwegian
oman|omani
pakistan|pakistani|pakistanis
palestine|palestinian|palestinians
panama|panamanian
papua new guinea
paraguay|paraguayan
peru|peruvian
philippines|philippine|filipino|filipinos
poland|poles
portugal|portuguese
qatar|qatari
romania|romanian
russia|russian|russians|moscow|kremlin
rwanda|rwandan
saudi arabia|saudi|saudis
senegal|senegalese
serbia|serbian|serb|serbs
sierra leone
singapore|singaporean
slovakia|slovak
slovenia|slovenian
somalia|somali
south africa|south african
south korea|south korean|seoul
south sudan
spain|spanish|madrid|catalonia|catalan
sri lanka|sri lankan
sudan|sudanese
suriname
sweden|swedish|swede|swedes
switzerland|swiss
syria|syrian|syrians|damascus
taiwan|taiwanese
tajikistan|tajik
tanzania|tanzanian
thailand|thai
togo|togolese
trinidad|tobago
tunisia|tunisian
turkey|turkish|ankara
turkmenistan|turkmen
uganda|ugandan
ukraine|ukrainian|ukrainians|kiev|kyiv
united arab emirates|uae|emirati|dubai|abu dhabi
united kingdom|uk|u.k.|u.k|britain|british|england|scotland|scottish|wales|welsh|london|brexit
uruguay|uruguayan
uzbekistan|uzbek
venezuela|venezuelan|venezuelans
vietnam|vietnamese
yemen|yemeni
zambia|zambian
zimbabwe|zimbabwean
european union|eu
alabama|alabaman
alaska|alaskan
arizona|arizonan
arkansas
california|californian|californians
colorado
connecticut
delaware
florida|floridian|floridians
hawaii|hawaiian
idaho
illinois
indiana
iowa|iowan|iowans
kansas
kentucky
louisiana
maine
maryland
massachusetts
michigan
minnesota
mississippi
missouri
montana
nebraska
nevada
new hampshire
new jersey
new mexico
new york
north carolina
north dakota
ohio
oklahoma
oregon
pennsylvania
rhode island
south carolina
south dakota
tennessee
texas|texan|texans
utah
vermont
virginia|virginian|virginians
washington state
west virginia
wisconsin
wyoming
puerto rico|puerto rican
"""


#: Places named "the ..." in a sentence.
_WITH_THE = frozenset(
    "united kingdom|netherlands|european union|philippines|bahamas|gambia|united arab emirates|czech republic"
    "|dominican republic|central african republic|maldives|comoros".split("|")
)
#: Newspapers whose names hold a place's.
_PRESS_NAMES = ("new york times", "new york post", "new york daily news", "new york magazine")
_PRESS = re.compile(r"\b(" + "|".join(_PRESS_NAMES) + r")\b")


def _load() -> tuple[dict[str, str], re.Pattern[str]]:
    place_of: dict[str, str] = {}
    for line in _PLACES.strip().splitlines():
        names = line.split("|")
        for name in names:
            place_of[name] = names[0]
    longest_first = sorted(place_of, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(n) for n in longest_first) + r")(?!\w)")
    return place_of, pattern


_PLACE_OF, _NAMED = _load()


def places_in(text: str) -> tuple[str, ...]:
    """The places ``text`` names (each by its first name in the list), in order, each once.

    The longest name wins: "New Mexico" names New Mexico, not Mexico.
    """
    folded = _PRESS.sub(" ", text.casefold())
    return tuple(dict.fromkeys(_PLACE_OF[m.group(1)] for m in _NAMED.finditer(folded)))


@lru_cache(maxsize=4096)
def places_named(question: str) -> tuple[str, ...]:
    """The places a question names (see :func:`places_in`)."""
    return places_in(question)


@lru_cache(maxsize=512)
def _names_pattern(place: str) -> re.Pattern[str]:
    """The place's names and, before them, every longer name holding one of them ("new mexico" for Mexico)."""
    own = [name for name, of in _PLACE_OF.items() if of == place]
    longer = [
        name
        for name in (*_PLACE_OF, *_PRESS_NAMES)
        if _PLACE_OF.get(name) != place and any(re.search(rf"(?<!\w){re.escape(o)}(?!\w)", name) for o in own)
    ]
    names = sorted({*own, *longer}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(n) for n in names) + r")(?!\w)")


def mentions(text: str, place: str) -> bool:
    """Whether ``text`` names ``place`` by any of its names, not only inside a longer one (see :func:`places_in`).

    Much faster than :func:`places_in` on a whole article: it looks for one place's names only.
    """
    return any(_PLACE_OF.get(m.group(1)) == place for m in _names_pattern(place).finditer(text.casefold()))


def display(place: str) -> str:
    """How a refusal names the place: "Mexico", "the United Kingdom"."""
    return ("the " if place in _WITH_THE else "") + place.title()
