"""Property-based tests: the parser and the engine take any input without surprises."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.corpus.models import Monograph
from search.corpus.parsing import parse_monograph
from search.errors import MonographError
from search.request import SearchRequest
from tests.conftest import SEED

SEED_TEXT = SEED.read_text(encoding="utf-8")
SNIPPETS = ["---\n", "---", "title: x\n", "title: [\n", "# T\n", "### ", "### Usage\n",
            "**Disclaimer:**", "```\n", "\r\n", "\ufeff", "\x00", ":", "- a\n", "\t",
            "<script>", "&amp;", "\u200b", "\ud7ff", "#", "\n\n", "* **Q?** A\n"]


def mutate(text: str, data) -> str:
    for _ in range(data.draw(st.integers(0, 6))):
        position = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "duplicate", "truncate"]))
        if action == "insert":
            text = text[:position] + data.draw(st.sampled_from(SNIPPETS)) + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + data.draw(st.integers(1, 200)):]
        elif action == "duplicate":
            text = text[:position] + text[position:position + 300] + text[position:]
        else:
            text = text[:position]
    return text


def parse_or_error(data: bytes):
    try:
        result = parse_monograph(data, "fuzz.md")
    except MonographError as err:
        assert str(err).startswith("fuzz.md") and "\n" not in str(err)
        return err
    assert isinstance(result, Monograph)
    assert result.title and result.sections
    for section in result.sections:
        assert section.anchor and section.type
    return result


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    parse_or_error(data)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=string.printable + "#*-:\u00e9\ufeff\u2028", max_size=2000))
def test_random_text(text):
    parse_or_error(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_monographs(data):
    text = mutate(SEED_TEXT, data)
    encoding = data.draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
    parse_or_error(text.encode(encoding, "replace"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.text(max_size=120), st.integers(1, 20), st.booleans(), st.sampled_from(
    ["none", "drug", "auto"]))
def test_any_query_gets_a_well_formed_answer(backend, q, page, literal, group):
    body = backend.search(SearchRequest(q=q.strip()[:500], page=page, literal=literal,
                                        group=group))
    # The page holds exactly what is left of the list (drugs when grouped, else the
    # sections listed: all of them, or a few a drug when collapsed) past the pages before.
    total = body["total_groups"] if body["group"] == "drug" else body["listed"]
    assert body["listed"] <= body["total"]
    left = total - (page - 1) * body["per_page"]
    assert len(body["results"]) == max(0, min(body["per_page"], left))
    assert body["page"] == page and all(isinstance(s, dict) for s in body["suggestions"])


WORDS = ["nausea", "dose", "warfarin", "blood", "clots", "infections", "qqzz", "risk",
         "side", "effects", "pregnancy", "liver", "alopecia", "hair", "loss"]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(WORDS + ["OR", "NOT", "AND", "ANDNOT", "-", '"', "(", ")"]),
                min_size=1, max_size=8), st.booleans())
def test_numpy_match_sets_equal_whooshs(backend, tokens, understood):
    """The numpy scorer's match mask is exactly Whoosh's match set, for literal parses
    and for understood queries alike."""
    import numpy as np

    from search.request import SearchRequest
    from search.whoosh.reading import read_request

    text = " ".join(tokens).replace("- ", "-")
    backend.health()
    snapshot = backend._snapshot
    match = read_request(snapshot, SearchRequest(q=text, literal=not understood)).match
    if match is None:
        return
    expected = np.zeros(snapshot.facets.size, dtype=bool)
    expected[np.fromiter(snapshot.searcher.docs_for_query(match), dtype=np.int64)] = True
    mask, _ = snapshot.scorer.evaluate(match)
    assert np.array_equal(mask & snapshot.facets.live, expected & snapshot.facets.live)
