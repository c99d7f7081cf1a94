"""Real-corpus naming on a small index: brands and international names from the drug
dictionary, a drug's own monograph before its variants and combinations, salt and route
words, lay product names, split words, and the fallbacks that avoid dead ends.

The monographs are written here in the seed's format with neutral text, so that only
the names decide which monograph comes first."""

import re

import pytest

from search.request import SearchRequest
from search.whoosh.backend import WhooshBackend
from search.whoosh.indexer import reindex
from web import create_app

TITLES = [
    "Furosemide", "Furosemide + Potassium Chloride", "Furosemide + Spironolactone",
    "Metoprolol Succinate", "Metoprolol Tartrate", "Metoprolol Succinate + Amlodipine",
    "Beclomethasone (Nasal)", "Beclomethasone (Oral Inhalation)", "Cefalexin",
    "Paracetamol", "Paracetamol + Caffeine", "Oxycodone + Paracetamol",
    "Rosuvastatin Calcium", "Rosuvastatin + Vitamin D", "Calcium Citrate Malate",
    "Fluvoxamine Maleate", "Influenza Virus Vaccine", "Zoster Vaccine Recombinant",
    "Levetiracetam", "Salbutamol", "Caffeine",
]
SECTIONS = ["Generic Name", "Usage", "Dosage", "Side Effects", "How it Works",
            "Precautions", "FAQs"]


def slug(title: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", title.lower()))


def monograph(title: str) -> str:
    parts = ["---", "layout: minimal-medicine", f"title: {title}", "---", "", f"# {title}", ""]
    for heading in SECTIONS:
        text = title if heading == "Generic Name" else (
            f"This section of the {title} page says what readers of this test need to "
            f"know about its {heading.lower()}, in plain neutral words.")
        parts += [f"### {heading}", text, ""]
    return "\n".join(parts + ["**Disclaimer:** Test text only; not medical advice.", ""])


@pytest.fixture(scope="module")
def names_backend(tmp_path_factory):
    folder = tmp_path_factory.mktemp("names")
    corpus = folder / "corpus"
    corpus.mkdir()
    for title in TITLES:
        (corpus / f"{slug(title)}.md").write_text(monograph(title), encoding="utf-8")
    assert reindex(corpus, folder / "index").errors == []
    backend = WhooshBackend(folder / "index")
    yield backend
    backend.close()


def search(backend, q, **kwargs):
    return backend.search(SearchRequest(q=q, **kwargs))


def drugs(body) -> list[str]:
    return list(dict.fromkeys(hit["drug"] for hit in body["results"]))


@pytest.mark.parametrize("q, first", [
    ("lasix", "furosemide"),
    ("furosemide side effects", "furosemide"),
    ("keflex", "cefalexin"),
    ("cephalexin dose", "cefalexin"),
    ("tylenol", "paracetamol"),
    ("acetaminophen", "paracetamol"),
    ("ventolin", "salbutamol"),
    ("albuterol inhaler", "salbutamol"),
    ("percocet", "oxycodone-paracetamol"),
    ("furosemide potassium chloride", "furosemide-potassium-chloride"),
    ("paracetamol and caffeine", "paracetamol-caffeine"),
    ("rosuvastatin calcium side effects", "rosuvastatin-calcium"),
    ("crestor", "rosuvastatin-calcium"),
    ("fluvoxamine malate", "fluvoxamine-maleate"),
    ("luvox", "fluvoxamine-maleate"),
    ("beclomethasone nasal spray", "beclomethasone-nasal-"),
    ("nasal beclomethasone", "beclomethasone-nasal-"),
    ("qvar inhaler", "beclomethasone-oral-inhalation-"),
    ("flu shot", "influenza-virus-vaccine"),
    ("shingles vaccine side effects", "zoster-vaccine-recombinant"),
    ("level iracetam dose", "levetiracetam"),
    ("keppra", "levetiracetam"),
    ("metoprolol succinate", "metoprolol-succinate"),
    ("toprol xl 25mg", "metoprolol-succinate"),
])
def test_the_monograph_the_query_names_comes_first(names_backend, q, first):
    assert drugs(search(names_backend, q))[0] == first


def test_a_drug_comes_before_its_variants_and_combinations(names_backend):
    ranked = drugs(search(names_backend, "lasix", per_page=30))
    assert ranked[0] == "furosemide"
    # the combinations are found too, after it
    assert {"furosemide-potassium-chloride", "furosemide-spironolactone"} <= set(ranked[1:])
    both = drugs(search(names_backend, "metoprolol", per_page=30))
    assert set(both[:2]) == {"metoprolol-succinate", "metoprolol-tartrate"}
    assert "metoprolol-succinate-amlodipine" in both[2:]


def test_a_salt_after_a_drug_is_not_a_second_drug(names_backend):
    body = search(names_backend, "rosuvastatin calcium side effects")
    assert "calcium-citrate-malate" not in drugs(body)[:2]
    assert body["results"][0]["section"] == "side-effects"
    assert not [r for r in body["interpretation"] if r["kind"] == "intent"
                and r["to"] == "interactions"]


def test_section_intent_still_applies_to_a_named_variant(names_backend):
    body = search(names_backend, "metoprolol succinate dosage")
    assert body["results"][0]["id"] == "metoprolol-succinate#dosage"


def test_split_and_joined_words_are_read(names_backend):
    body = search(names_backend, "howmuch keppra")
    assert body["results"][0]["id"] == "levetiracetam#dosage"
    assert {"kind": "spelling", "from": "level iracetam", "to": "levetiracetam"} in \
        search(names_backend, "level iracetam")["interpretation"]


def test_quotes_around_one_word_are_no_phrase(names_backend):
    body = search(names_backend, 'is it safe with "caffeine?"')
    assert drugs(body)[0] == "caffeine" and body["total"] > 0


def test_a_quoted_phrase_that_finds_nothing_falls_back_to_the_words(names_backend):
    body = search(names_backend, '"lasix tablets crushed" dose')
    assert body["total"] > 0 and drugs(body)[0] == "furosemide"
    assert {"kind": "fallback", "from": '"lasix tablets crushed" dose',
            "to": "lasix tablets crushed dose"} in body["interpretation"]
    assert search(names_backend, '"lasix tablets crushed" dose', literal=True)["total"] == 0


def test_a_named_drug_keeps_its_sections_when_other_words_miss(names_backend):
    body = search(names_backend, "lasix 40mg capsules how supplied")
    assert drugs(body)[0] == "furosemide" and body["relaxed"] is False
    assert {"kind": "optional", "from": "supplied", "to": "furosemide"} in \
        body["interpretation"]


def test_an_unknown_word_does_not_empty_the_answer(names_backend):
    body = search(names_backend, "plain qqqzzzunknown")
    assert body["relaxed"] is True and body["total"] > 0
    assert {"kind": "relaxed", "from": "plain qqqzzzunknown", "to": "plain"} in \
        body["interpretation"]


def test_zero_results_only_when_no_word_occurs(names_backend):
    assert search(names_backend, "qqqzzzunknown xxyyzzq")["total"] == 0


def test_the_flat_list_shows_three_sections_of_a_drug_then_more(names_backend):
    body = search(names_backend, "section readers test", per_page=30)
    counts = {}
    for hit in body["results"]:
        counts[hit["drug"]] = counts.get(hit["drug"], 0) + 1
    assert max(counts.values()) == 3
    assert body["listed"] == 3 * len(TITLES) and body["total"] == 6 * len(TITLES)
    assert body["more"] == {drug: 3 for drug in counts}  # 6 matching sections, 3 shown
    one = search(names_backend, "section readers test", drug=("furosemide",), per_page=30)
    assert len(one["results"]) == one["total"] == one["listed"] == 6 and one["more"] == {}


def test_the_page_links_to_the_rest_of_a_drug(names_backend, tmp_path):
    app = create_app({"TESTING": True, "INDEX_DIR": str(names_backend.index_dir)})
    page = app.test_client().get("/?q=section+readers+test&group=none").get_data(
        as_text=True)
    assert re.search(r'<a class="more" href="/\?q=section\+readers\+test&amp;drug=cefalexin'
                     r'&amp;group=none">3 more from Cefalexin</a>', page)


def test_the_named_drug_shows_all_its_sections_and_others_three(names_backend):
    body = search(names_backend, "lasix section readers", per_page=30)
    shown = [hit["drug"] for hit in body["results"]]
    assert shown[:7] == ["furosemide"] * 7  # the monograph the reader named, in full
    others = {drug: shown.count(drug) for drug in set(shown) - {"furosemide"}}
    assert others and max(others.values()) <= 3
    assert "furosemide" not in body["more"]
    assert body["more"] == {
        drug: search(names_backend, "lasix section readers", drug=(drug,))["total"] - 3
        for drug in others}
