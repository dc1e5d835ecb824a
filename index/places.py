"""The countries, nationalities and U.S. states a question names: an article that answers it mentions them.

A near miss often names a place the articles do not cover ("did russia interfere in the french
election", "who won the mexican election") while every other word matches a U.S. story well. Each
place is known by its name, its adjective and common other names; an article mentions the place
when it holds any of them. The United States is left out: every article of an election-security
collection is about it, and "us" is mostly a pronoun.
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
chad|chadian
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
poland|polish|poles
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
united kingdom|uk|u.k.|britain|british|england|scotland|scottish|wales|welsh|london|brexit
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


def _load() -> tuple[dict[str, str], re.Pattern[str]]:
    place_of: dict[str, str] = {}
    for line in _PLACES.strip().splitlines():
        names = line.split("|")
        for name in names:
            place_of[name] = names[0]
    longest_first = sorted(place_of, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w'’.])(" + "|".join(re.escape(n) for n in longest_first) + r")(?![\w])")
    return place_of, pattern


_PLACE_OF, _NAMED = _load()
_NAMES_OF: dict[str, tuple[str, ...]] = {}
for _name, _place in _PLACE_OF.items():
    _NAMES_OF[_place] = (*_NAMES_OF.get(_place, ()), _name)


@lru_cache(maxsize=4096)
def places_named(text: str) -> tuple[str, ...]:
    """The places ``text`` names (each by its first name in the list), in order, each once."""
    return tuple(dict.fromkeys(_PLACE_OF[m.group(1)] for m in _NAMED.finditer(text.casefold())))


def display(place: str) -> str:
    """How a refusal names the place: "Mexico", "United Kingdom"."""
    return place.title()


def mentions(text: str, place: str) -> bool:
    """Whether ``text`` names ``place`` by any of its names ("Mexico City" and "Mexican" both name Mexico)."""
    folded = text.casefold()
    return any(re.search(r"(?<![\w])" + re.escape(name) + r"(?![\w])", folded) for name in _NAMES_OF[place])
