"""Short real snippets of news pages, as trafilatura extracts them (one paragraph per line).

Each comes from a page of trafilatura's hand-annotated evaluation corpus
(https://github.com/adbar/trafilatura, tests/evaldata.json; the page named above it), a few
lines each: the annotators marked the article lines as text to keep and the pitches as text
that must not be kept. They pin the chunker's rules on the forms real sites use.
"""

from __future__ import annotations

# -- short real sentences and subheads (kept) -------------------------------------------

# jamaica-gleaner.com, "Deceased Clarendon crash victims identified": a 5-word closing sentence,
# then the paper's social pitch.
GLEANER = (
    "All five crash victims were taken to a hospital where Grant and Ambersley were pronounced dead.\n\n"
    "The other three were admitted.\n\n"
    "Follow The Gleaner on Twitter and Instagram @JamaicaGleaner and on Facebook @GleanerJamaica. "
    "Send us a message on WhatsApp at 1-876-499-0169 or email us at onlinefeedback@gleanerjm.com or "
    "editors@gleanerjm.com"
)

# timesofisrael.com, "State of Washington swears in first Native American Jewish Supreme Court justice".
TIMES_OF_ISRAEL = (
    "She also served on the Washington Superior Court from January 2015 to December 2019.\n\n"
    "Her appointment was announced in December 2019.\n\n"
    "Get The Times of Israel's Daily Edition by email and never miss our top stories Free Sign Up\n\n"
    "Montoya-Lewis is an enrolled member of the Pueblo of Isleta Indian tribe, and a descendant of the "
    "Pueblo of Laguna Indian tribe through her father. Her mother is Jewish."
)

# dw.com, "Berlin confronts Germany's colonial past with new initiative": a link to another
# story, then a subhead and the paragraph it heads.
DW = (
    "Lüderitzstrasse will become Cornelius-Fredericks-Strasse, after a southwest African tribal leader, "
    "and Nachtigalplatz is to become Manga-Bell-Platz, named after a Cameroonian anti-colonialist leader.\n\n"
    "Read more: Looted colonial art: Germany to set up new contact office\n\n"
    "Right-wing resistance\n\n"
    "The move has been met with resistance from Germany's far right. In December, two lawmakers from the "
    "right-wing populist Alternative for Germany (AfD) invited US historian Bruce Gilley to Berlin to deliver "
    "a lecture on German colonialism."
)

# pcgamer.com, "An Illusionist in Skyrim: Part 1": the headline and its dek open the text; a
# subhead and a newsletter pitch inside it.
PC_GAMER_TITLE = "An Illusionist in Skyrim: Part 1"
PC_GAMER = (
    "An Illusionist in Skyrim: Part 1\n\n"
    "Playing Skyrim with no armour, weapons, non-Illusion spells, or punching.\n\n"
    "Skyrim does have a school of magic comprised entirely of illusions, so I'm sticking strictly to this. "
    "Yes. This is an excellent idea.\n\n"
    "Straight outta Helgen\n\n"
    "I create a High Elf, since they're good with magicks, and give her a good magician's name: Sarah The "
    "Implausible.\n\n"
    "PC Gamer Newsletter\n\n"
    "Sign up to get the best content of the week, and great gaming deals, as picked by the editors.\n\n"
    "Stormcloaks! I hide in a corner while Hadvar deals with them. Spiders! I hide in a cave while Hadvar "
    "deals with them."
)

# pythonspeed.com, "Faster Docker builds with pipenv, poetry, or pip-tools": a subhead, a lead-in
# and the list it introduces (one line per item, as the extraction stores a list).
PYTHONSPEED = (
    "If you want a best-practices Dockerfile and build system, check out my Production-Ready Python "
    "Containers product.\n\n"
    "The takeaway\n\n"
    "To get fast, reproducible builds for your application:\n\n"
    "- Separate dependencies from your setup.py.\n"
    "- Separate logical and pinned dependencies (using pip-tools, pipenv, or poetry).\n"
    "- Install dependencies separately and earlier in your Dockerfile to ensure faster builds."
)

# womencantalksports.com, "Top 10 Women Talking Sports": a numbered entry heads its paragraph.
WOMEN_TALK_SPORTS = (
    "Amazing wife, mother, professional businesswoman, and one of main reasons WCTS became a reality.\n\n"
    "5. Kristi Dosh\n\n"
    "The Sports Biz Miss. Attorney, Sports Business Analyst, Author. You can find her work on ESPN and Forbes."
)

# -- pitches, links and notices (dropped) -----------------------------------------------

# Each is a whole line of a real page, between two real paragraphs when it is tested (paywall
# notices, which end the article, are below).
PITCH_LINES = {
    # nationnews.com: app pitch after a paywalled teaser
    "app": "For the latest stories and breaking news updates download the Nationnews apps for iOS and Android.",
    # corkbeo.ie: newsletter pitch
    "newsletter": "Never miss the latest news by signing up to our newsletter today!",
    # blog.amp.dev
    "newsletter-then": "Then sign up for our email newsletter to get the latest updates, event announcements, "
    "community discussions, and advanced tutorials straight to your inbox.",
    # thepointsguy.com
    "newsletter-free": "Sign up for the free daily TPG newsletter for more airline news!",
    # edition.cnn.com: a newsletter announced, then "Sign up here."
    "newsletter-here": "CNN will soon launch Royal News, a weekly newsletter bringing you the inside track on the "
    "royal family, what they are up to in public and what's happening behind palace walls. Sign up here.",
    # diem25.org: a question, then the pitch
    "question-pitch": "Do you want to be informed of DiEM25's actions? Sign up here",
    # github.blog
    "social": "Want to know more about Erin Spiceland? Follow them on GitHub or Twitter.",
    # theatlantic.com
    "feedback": "We want to hear what you think about this article. Submit a letter to the editor or write to "
    "letters@theatlantic.com.",
    # mercurynews.com
    "letters": "Submit your letter to the editor via this form. Read more Letters to the Editor.",
    # thepointsguy.com: affiliate notice
    "affiliate": "This post contains references to products from one or more of our advertisers. We may receive "
    "compensation when you click on links to those products. Terms apply to the offers listed on this page.",
    # abc7news.com
    "app-click": "If you're on the ABC7 News app, click here to watch live",
    # wsvn.com
    "copyright": "Copyright 2023 Sunbeam Television Corp. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed.",
    # reuters.com
    "standards": "Our Standards: The Thomson Reuters Trust Principles.",
    # breakingbelizenews.com: an advert spelt with Cyrillic look-alike letters
    "lookalike-ad": "Аdvеrtіѕе wіth thе most visited news site in Веlіzе ~ Wе оffеr fullу сuѕtоmіzаblе аnd "
    "flехіblе dіgіtаl mаrkеtіng расkаgеѕ. Yоur соntеnt іѕ dеlіvеrеd іnѕtаntlу tо thоuѕаndѕ оf uѕеrѕ іn Веlіzе "
    "аnd аbrоаd!",
    # plantcaretoday.com: a link to another story
    "related": "Related: What Is The Best Soil For Bougainvillea?",
    # bbc.com
    "video-link": "- VIDEO: The 20-second hand wash",
    # salon.com: a photo credit
    "credit": "(Credit: Clayton Aldern / Grist)",
    # bahamaslocal.com: the post's filing line
    "filing": "News date : 04/21/2022 Category : Press Releases",
    # knowtechie.com: the label of a related-stories list
    "recommendations": "Editors’ Recommendations:",
}

# corkbeo.ie: a newsletter box that goes on talking to the reader after its pitch.
CORKBEO_BOX = (
    "Sign up for the CorkBeo newsletter\n\n"
    "Never miss the latest news by signing up to our newsletter today!\n\n"
    "Simply pop your email into the box at the top of this article and get all the latest news and "
    "entertainment direct to you\n\n"
    "You can unsubscribe from this service at any time. And rest assured that your data will not be shared "
    "with any other party."
)

# -- reporting that mentions the same words (kept) ---------------------------------------

# Article sentences the annotators marked as text, though they name Instagram, Twitter, comments,
# downloads and copyright.
REPORTING = [
    # thelocal.se
    "Agerblad said he was inspired to get the tattoo after Tastas advertised the design for a temporary "
    "rub-on tattoo on Instagram.",
    # blog.gaijinpot.com
    "Drawing from his very own experience, Twitter user @keizi666 wrote a series of tweets giving advice on "
    "how to safely apprehend a train groper.",
    # knowtechie.com
    "What do you think? Interested in the new Rocket Pass in Rocket League? Let us know down below in the "
    "comments or carry the discussion over to our Twitter or Facebook.",
    # blog.python.org
    "You can download Python 3.6.0 here. Also, most third-party distributors of Python should be making 3.6.0 "
    "packages available soon.",
    # creativecommons.org
    "With a network of staff, board, and affiliates around the world, Creative Commons provides free, "
    "easy-to-use copyright licenses to make a simple and standardized way to give the public permission to "
    "share and use your creative work–on conditions of your choice.",
]

# -- paywalls -------------------------------------------------------------------------------

# haitiantimes.com, "Family seeks funds to treat rising tennis star": the teaser (its first
# paragraph here) and the subscription notice that is most of the page.
HAITIAN_TIMES = (
    "WEST PALM BEACH — The family of a ranked junior tennis player, diagnosed with a rare form of an illness, "
    "has launched a crowdfunding effort to help with his treatment. Mekhi Gbedey, 20, was diagnosed with "
    "muscular dystrophy.\n\n"
    "To view the full story, please subscribe to The Haitian Times. You can choose a $60 Annual Subscription "
    "or a $5 Weekly Pass.\n\n"
    "When you join The Haitian Times family, you’ll get unlimited digital access to high-quality journalism "
    "about Haiti and Haitians you won’t get anywhere else.\n\n"
    "Join now or renew to get:\n\n"
    "— Instant access to one-of-kind stories and special reports\n"
    "— Local news from our communities (especially New York and Florida)\n"
    "— Profiles of Haitians at the top of their fields\n\n"
    "First-time subscribers also receive a special welcome gift handmade in Haiti by expert artisans! Do it "
    "for the culture and support Black-owned businesses.\n\n"
    "If you’re seeing this message but you’re already a subscriber, you can log in for immediate access to "
    "this story."
)

# nationnews.com, "Tridents' challenge": a teaser that is most of the page, then the notice.
NATION_NEWS = (
    "With venues still to be determined, the Bajans will oppose Antigua and Barbuda on June 2 followed by an "
    "away fixture to Cuba three days later.\n\n"
    "Guadeloupe will be the Tridents’ next opponents on June 9 and the return fixture between the two sides is "
    "slated for June 12.\n\n"
    "Head coach Russell Latapy’s men have just over a month to prepare for the crucial fixtures, but the "
    "continued absence of local competition is a tremendous hindrance to the team’s chances. (NM)\n\n"
    "Subscribe now to our eNATION edition for the full story.\n\n"
    "For the latest stories and breaking news updates download the Nationnews apps for iOS and Android."
)
