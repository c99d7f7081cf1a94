"""The Whoosh schema and its field names."""

from __future__ import annotations

from functools import lru_cache

from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.lang.porter import stem

SCHEMA_VERSION = 5  # bump when fields or the pickled codec path change: rebuilt

# BM25F field weights: a word in the drug's name or the heading says more than the body.
DRUG_NAME_BOOST = 4.0
HEADING_BOOST = 2.0
SECTION_KEYWORDS_BOOST = 1.5

# Fields searched by a plain query.
SEARCH_FIELDS = ("drug_name", "heading", "section_terms", "body")


def body_analyzer():
    # minsize=1 keeps doses ("2 mg"); stop words are still dropped.
    return StemmingAnalyzer(minsize=1)


# The analyzer's stemmer for one lowercased word (cached: highlighting stems every word
# of every shown section, and the same words come back).
stem_word = lru_cache(maxsize=200_000)(stem)


def build_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),  # "<slug>#<anchor>"
        drug=ID(stored=True),  # drug slug
        drug_name=TEXT(analyzer=body_analyzer(), stored=True, field_boost=DRUG_NAME_BOOST),
        section=ID(stored=True),  # canonical section type
        heading=TEXT(analyzer=body_analyzer(), stored=True, field_boost=HEADING_BOOST),
        section_terms=TEXT(analyzer=body_analyzer(), field_boost=SECTION_KEYWORDS_BOOST),
        indications=KEYWORD(stored=True, commas=True),  # slugs, comma-separated
        drug_class=KEYWORD(stored=True, commas=True),
        # The ingredients' ids (search.drugnames), shared by every spelling of a drug:
        # "lasix" finds furosemide in each product that has it.
        ingredients=KEYWORD(commas=True),
        body=TEXT(analyzer=body_analyzer(), stored=True),
        # Unstemmed words of name, heading and body: the dictionary for "did you mean".
        # The indexer passes each word once, already split and lower-cased as Whoosh's
        # StandardAnalyzer would, so a plain keyword field (no analysis, no lengths)
        # holds the same terms at a fraction of the indexing cost.
        spelling=KEYWORD(scorable=False),
        anchor=STORED,
        # A section under a repeated heading: the part it belongs to. The heading field
        # holds the heading as written, so a combination's "Side Effects (Paracetamol)"
        # does not count paracetamol twice; the part is shown after it.
        part=STORED,
        position=NUMERIC(stored=True, sortable=True),  # section order within its monograph
        markdown=STORED,  # section source, for the drug page
        path=STORED,
        content_hash=ID(stored=True),
        # Drug-level data, stored on the first section document of each monograph only.
        monograph=STORED,
    )
