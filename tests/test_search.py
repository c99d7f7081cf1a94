"""Search semantics on the small real corpus: ranking, syntax, paging, corrections.

These check the literal engine (literal=1: the words as typed, no query understanding);
tests/test_understanding.py covers the rewrites."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.request import SearchRequest


def search(backend, q="", literal=True, **kwargs):
    return backend.search(SearchRequest(q=q, literal=literal, **kwargs))


def ids(body):
    return [hit["id"] for hit in body["results"]]


def all_ids(backend, q, **kwargs):
    return ids(search(backend, q, per_page=100, **kwargs))


@pytest.mark.parametrize("literal", [True, False])
def test_covid_dose_ranks_the_seed_dosage_section_first(backend, literal):
    assert ids(search(backend, "covid dose", literal=literal))[0] == "baricitinib#dosage"


@pytest.mark.parametrize("q, drug", [
    ("warfarin", "warfarin"), ("tofacitinib", "tofacitinib"), ("Xeljanz", "tofacitinib"),
    ("lipitor", "atorvastatin"), ("metformin", "metformin"),
])
def test_drug_name_outranks_a_mention_in_another_drugs_body(backend, q, drug):
    body = search(backend, q)
    assert body["results"][0]["drug"] == drug
    assert body["total"] > 0


def test_heading_match_ranks_the_section_of_that_name(backend):
    assert ids(search(backend, "warfarin interactions"))[0] == "warfarin#drug-interactions"
    assert ids(search(backend, "baricitinib side effects"))[0] == "baricitinib#side-effects"


def test_words_and_together(backend):
    both = set(all_ids(backend, "bleeding alcohol"))
    assert both and both <= set(all_ids(backend, "bleeding")) & set(all_ids(backend, "alcohol"))
    assert both == set(all_ids(backend, "bleeding")) & set(all_ids(backend, "alcohol"))


def test_or_is_the_union(backend):
    union = set(all_ids(backend, "nausea OR insomnia"))
    assert union == set(all_ids(backend, "nausea")) | set(all_ids(backend, "insomnia"))


@pytest.mark.parametrize("q", ["nausea -headache", "nausea NOT headache",
                               "nausea ANDNOT headache"])
def test_minus_and_not_exclude(backend, q):
    result = set(all_ids(backend, q))
    assert result == set(all_ids(backend, "nausea")) - set(all_ids(backend, "headache"))
    assert result  # the corpus has sections with nausea and without headache


def test_andnot_excludes_sections_that_have_both(backend):
    # Whoosh's own AndNot let "nausea ANDNOT blood" through for a section with both.
    both = set(all_ids(backend, "nausea blood"))
    assert both and not both & set(all_ids(backend, "nausea ANDNOT blood"))


def test_leading_minus_alone_excludes_from_everything(backend):
    body = search(backend, "-warfarin", per_page=100)
    everything = search(backend, "")["total"]
    assert body["total"] == everything - len(all_ids(backend, "warfarin"))
    assert "warfarin" not in {hit["drug"] for hit in body["results"]}


def test_quoted_phrase_requires_adjacent_words(backend):
    phrase = all_ids(backend, '"blood clots"')
    loose = all_ids(backend, "blood clots")
    assert phrase and set(phrase) < set(loose)
    for hit in search(backend, '"blood clots"', per_page=100)["results"]:
        text = backend.monograph(hit["drug"])
        section = next(s for s in text["sections"] if s["anchor"] == hit["id"].split("#")[1])
        assert re.search(r"blood\s+clot", section["text"], re.IGNORECASE)


def test_covid_19_is_not_read_as_covid_minus_19(backend):
    assert "baricitinib#dosage" in all_ids(backend, "covid-19 dose")


@pytest.mark.parametrize("q", ['"unclosed nausea', "nausea (", "((nausea", "nausea)", "AND nausea",
                               "nausea OR", "nausea?", "nausea*", "title:nausea", "nausea^2",
                               "[nausea TO x]", "nausea AND AND", "NOT", "-", '"', "?", "*:*",
                               "'nausea'"])
def test_odd_syntax_never_errors_and_keeps_the_words(backend, q):
    body = search(backend, q)
    assert body["query"] == q
    # Syntax is read as the words alone: the same answer as the query with every
    # character outside words (Whoosh's tokenizer counts * as a word character) a space.
    words = re.sub(r"[^\w\s*]", " ", q)
    assert all_ids(backend, q) == all_ids(backend, words)
    if words.split() in (["nausea"], ["AND", "nausea"], ["nausea", "OR"]):
        assert body["total"] == search(backend, "nausea")["total"] > 0


def test_unbalanced_quote_is_plain_words(backend):
    assert all_ids(backend, '"blood clots') == all_ids(backend, "blood clots")


def test_paging_walks_the_same_ranking(backend):
    full = all_ids(backend, "risk")
    assert len(full) > 6
    pages = [ids(search(backend, "risk", page=p, per_page=3)) for p in range(1, 4)]
    assert sum(pages, []) == full[:9]
    beyond = search(backend, "risk", page=50, per_page=3)
    assert beyond["results"] == [] and beyond["listed"] == len(full)
    assert beyond["total"] >= beyond["listed"]  # three sections of a drug in the list


def test_empty_query_with_filters_browses_in_document_order(backend):
    body = search(backend, "", drug=("warfarin",), per_page=100)
    assert [h["id"] for h in body["results"]][:3] == [
        "warfarin#generic-name", "warfarin#uses", "warfarin#dosing"]
    assert body["total"] == 9 and all(h["score"] is None for h in body["results"])


def test_filters_or_within_and_across_facets(backend):
    body = search(backend, "", drug=("warfarin", "metformin"), section=("dosage",))
    assert sorted(ids(body)) == ["metformin#dosage", "warfarin#dosing"]


def test_corrected_suggests_a_close_index_word(backend):
    assert search(backend, "metfromin")["corrected"] == "metformin"
    assert search(backend, "warfarin bleding")["corrected"] == "warfarin bleeding"
    assert search(backend, "warfarin bleeding")["corrected"] is None
    assert search(backend, "qqqqzzzz")["corrected"] is None


def test_snippets_mark_matches_and_escape_the_rest(backend):
    body = search(backend, "bleeding risk")
    assert all("<mark>" in hit["snippet"] for hit in body["results"])
    for hit in body["results"]:
        assert re.sub(r"</?mark>", "", hit["snippet"]).count("<") == 0


def test_result_fields(backend):
    hit = search(backend, "covid dose")["results"][0]
    assert set(hit) == {"id", "drug", "drug_name", "section", "heading", "indications",
                        "score", "snippet", "url"}
    assert hit["url"] == "/drug/baricitinib#dosage"
    assert hit["indications"] == ["rheumatoid-arthritis", "covid-19", "alopecia-areata"]
    assert (hit["drug_name"], hit["section"], hit["heading"]) == ("Baricitinib", "dosage",
                                                                   "Dosage")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9'\-.]{0,14}", fullmatch=True))
def test_word_queries_are_what_the_parser_makes(word):
    from whoosh import query

    from search.whoosh.query import _word_query, build_parser
    from search.whoosh.schema import build_schema

    parser = build_parser(build_schema())
    parsed = parser.parse(word)
    expected = None if parsed is query.NullQuery else parsed
    assert _word_query(word, parser) == expected


@pytest.mark.parametrize("word", ["nausea", "covid-19", "don't", "40mg", "x-ray", "the",
                                  "side-effects", "e.g", "1.5"])
def test_word_queries_for_known_shapes(word):
    from whoosh import query

    from search.whoosh.query import _word_query, build_parser
    from search.whoosh.schema import build_schema

    parser = build_parser(build_schema())
    parsed = parser.parse(word)
    assert _word_query(word, parser) == (None if parsed is query.NullQuery else parsed)
