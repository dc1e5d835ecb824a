"""The near-copy test on real Reuters text: syndicated copies merge, other and updated stories do not."""

from __future__ import annotations

import csv
import gzip

import pytest
from datasketch import MinHashLSH

from corpus import nearcopy
from corpus.nearcopy import bands, resemblance, same_outlet
from tests.conftest import REUTERS

SAVE_ACT = "Senators to introduce bill to boost cyber defenses of voting systems"
HARVARD = "Bipartisan Harvard panel recommends hacking safeguards for elections"
KASPERSKY = "Trump signs into law U.S. government ban on Kaspersky Lab software"


@pytest.fixture(scope="module")
def reuters() -> dict[str, str]:
    """The real Reuters articles' texts by title."""
    csv.field_size_limit(1 << 30)
    with gzip.open(REUTERS, "rt", encoding="utf-8", newline="") as f:
        return {row["title"].strip(): row["text"] for row in csv.DictReader(f)}


def syndicated(text: str) -> str:
    """The story as another outlet runs it: its dateline, an outlet line on top, a closing paragraph."""
    body = text.replace("WASHINGTON (Reuters) - ", "NEW YORK (The Sentinel) - ", 1)
    return (
        f"By Jane Doe, The Sentinel\n\n{body}\n\n"
        "(Reporting by Jane Doe; Additional reporting by Patricia Zengerle; Editing by Jonathan Oatis)"
    )


def test_a_syndicated_copy_is_a_copy(reuters: dict[str, str]) -> None:
    """The same Reuters story with a new dateline, an outlet line and a credit paragraph is judged a copy."""
    original = reuters[SAVE_ACT]
    found = resemblance(syndicated(original), original)
    assert found.is_copy and found.jaccard > 0.9
    assert set(bands(syndicated(original))) & set(bands(original))  # LSH makes it a candidate


def test_a_different_story_on_the_same_topic_is_not(reuters: dict[str, str]) -> None:
    """Two real Reuters stories on election cyber security share words but are not copies, nor LSH candidates."""
    found = resemblance(reuters[HARVARD], reuters[SAVE_ACT])
    assert not found.is_copy and found.jaccard < 0.1
    assert not set(bands(reuters[HARVARD])) & set(bands(reuters[SAVE_ACT]))


def test_an_updated_story_is_not_a_copy(reuters: dict[str, str]) -> None:
    """The story with substantial new paragraphs (half as long again) holds the old one but is stored on its own."""
    original = reuters[SAVE_ACT]
    first, rest = original.split(". ", 1)
    new = " ".join(reuters[KASPERSKY].split(". ")[:5])  # about half the story's length, news of the same week
    updated = f"{first}. {new}.\n\n{rest}"
    found = resemblance(updated, original)
    assert found.old_in_new > 0.9 and found.new_in_old < nearcopy.COPY_CONTAINMENT
    assert not found.is_copy


def test_the_band_layout_is_what_datasketch_picks_for_the_lsh_threshold() -> None:
    """BANDS x ROWS is datasketch's own optimum for LSH_THRESHOLD over 128 permutations."""
    lsh = MinHashLSH(threshold=nearcopy.LSH_THRESHOLD, num_perm=nearcopy.PERMUTATIONS)
    assert (lsh.b, lsh.r) == (nearcopy.BANDS, nearcopy.ROWS)


def test_outlet_names_compare_loosely() -> None:
    """Case, spacing and a leading "The" do not make another outlet; an unknown outlet is none."""
    assert same_outlet("The Sentinel", " sentinel ") and same_outlet("REUTERS", "Reuters")
    assert not same_outlet("Reuters", "AP") and not same_outlet("Reuters", None)
