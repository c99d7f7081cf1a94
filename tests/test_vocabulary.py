import json
from collections import Counter

import pytest

from search.corpus.facts import drug_facts
from search.corpus.parsing import parse_monograph, read_monograph
from search.corpus.vocabulary import DATA_DIR, default_vocabulary
from tests.conftest import DATA, SEED


def test_seed_indications_are_exactly_the_three_conditions():
    facts = drug_facts(read_monograph(SEED), default_vocabulary())
    assert facts["indications"] == [
        ("rheumatoid-arthritis", "Rheumatoid arthritis"),
        ("covid-19", "COVID-19"),
        ("alopecia-areata", "Alopecia areata"),
    ]


@pytest.mark.parametrize("text, expected", [
    ("Used for rheumatoid arthritis (RA).", ["rheumatoid-arthritis"]),
    ("Used for RA in adults.", ["rheumatoid-arthritis"]),
    ("Treats RHEUMATOID   ARTHRITIS and Asthma.", ["rheumatoid-arthritis", "asthma"]),
    ("Treats alopecia areata.", ["alopecia-areata"]),  # longest match wins over alopecia
    ("Treats alopecia.", ["alopecia"]),
    ("Metformin is not used for type 1 diabetes. It treats type 2 diabetes.",
     ["type-2-diabetes"]),
    ("Treats MS and AS.", []),  # ambiguous abbreviations need the full name
    ("Treats multiple sclerosis (MS).", ["multiple-sclerosis"]),
    ("It helps hair loss.", []),  # lay terms expand queries, they do not tag drugs
    ("Paraffin is not a drug for anything; gasthma is not a word.", []),
    ("Treats ra in lower case.", []),  # abbreviations are matched as written
])
def test_extract_indications(text, expected):
    assert default_vocabulary().extract_indications(text) == expected


def test_front_matter_indications_override_usage_text():
    monograph = read_monograph(DATA / "corpus" / "atorvastatin.md")
    facts = drug_facts(monograph, default_vocabulary())
    assert facts["indications"] == [("hyperlipidemia", "Hyperlipidemia"),
                                    ("heart-attack-prevention", "Heart attack prevention")]
    # "HMG-CoA reductase inhibitor" is a synonym of Statin; membership adds the umbrella.
    assert facts["drug_class"] == [("statin", "Statin"),
                                   ("cholesterol-lowering", "Cholesterol-lowering")]


def test_unknown_front_matter_indication_keeps_its_label():
    monograph = parse_monograph("---\nindications: [Rare Thing X, high blood pressure]\n---\n"
                                "# T\n### Usage\nx\n", "t.md")
    assert drug_facts(monograph, default_vocabulary())["indications"] == [
        ("rare-thing-x", "Rare Thing X"), ("hypertension", "Hypertension")]


def test_conditions_file_structure():
    conditions = json.loads((DATA_DIR / "conditions.json").read_text())["conditions"]
    slugs = Counter(c["slug"] for c in conditions)
    assert [s for s, n in slugs.items() if n > 1] == []
    claimed: dict[str, set[str]] = {}
    for condition in conditions:
        assert condition["label"] and condition["slug"]
        ambiguous = {a.lower() for a in condition.get("ambiguous_abbreviations", [])}
        for term in (condition["label"], *condition["synonyms"], *condition["abbreviations"],
                     *condition["lay_terms"]):
            if term.lower() not in ambiguous:
                claimed.setdefault(term.lower(), set()).add(condition["slug"])
    assert {t: s for t, s in claimed.items() if len(s) > 1} == {}


def test_grouped_matcher_equals_a_plain_alternation():
    """The first-letter grouping of the condition regex finds exactly what one flat
    longest-first alternation finds, on text made of condition names in any case."""
    import random
    import re

    vocabulary = default_vocabulary()
    names = sorted(vocabulary._by_name, key=len, reverse=True)
    abbreviations = sorted(vocabulary._by_abbreviation, key=len, reverse=True)

    def flat(terms, plurals):
        suffix = "(?:e?s)?" if plurals else ""
        return "|".join(r"\s+".join(map(re.escape, t.split()))
                        + (suffix if t[-1:].isalpha() else "") for t in terms)

    plain_names = re.compile(rf"(?<!\w)(?:{flat(names, True)})(?!\w)", re.IGNORECASE)
    plain_abbreviations = re.compile(rf"(?<!\w)(?:{flat(abbreviations, False)})(?!\w)")
    rng = random.Random(3)
    for _ in range(200):
        words = []
        for _ in range(12):
            pick = rng.choice(names + abbreviations + ["and", "of", "the", "x"])
            words.append(rng.choice([pick, pick.upper(), pick.title(), pick + "s"]))
        text = " ".join(words)
        assert [(m.start(), m.group(0)) for m in vocabulary._names_re.finditer(text)] == \
            [(m.start(), m.group(0)) for m in plain_names.finditer(text)]
        assert [(m.start(), m.group(0)) for m in vocabulary._abbr_re.finditer(text)] == \
            [(m.start(), m.group(0)) for m in plain_abbreviations.finditer(text)]
