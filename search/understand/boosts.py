"""How much a query's recognised parts weigh in the ranking, shared by both backends.

Whoosh adds them to BM25F scores (term queries on ID/KEYWORD fields score a flat 1.0
times their boost, while the words of a few-word query stay below ~20); the Typesense
backend orders a named drug's pinned sections by the same sums. So a named drug's
sections come first, then the section type the reader asks for; a class or condition
brings its drugs' sections forward, and the words decide the order within those.
"""

from __future__ import annotations

from .lexicon import NAMED, PRIMARY, VARIANT

DRUG_BOOST = 30.0  # the single-ingredient monograph of a named drug
NAMED_PRODUCT_BOOST = 32.0  # a product named as a whole: its title, a brand of it
VARIANT_BOOST = 24.0  # another salt, route or form of a named drug
COMBINED_BOOST = 30.0  # a combination of named drugs, plus up to COMBINED_SHARE_BOOST
COMBINED_SHARE_BOOST = 6.0  # times the share of its ingredients the query names
INGREDIENT_BOOST = 4.0  # any product with a named ingredient (shared by those named)
INTENT_BOOST = 14.0
CLASS_BOOST = 12.0
CONDITION_BOOST = 8.0
RELATED_CONDITION_BOOST = 4.0

ROLE_BOOSTS = {NAMED: NAMED_PRODUCT_BOOST, PRIMARY: DRUG_BOOST, VARIANT: VARIANT_BOOST}


def role_boost(role: str, fraction: float) -> float:
    """What a product the query names (lexicon.rank_products' role) weighs in all."""
    return ROLE_BOOSTS.get(role, COMBINED_BOOST + COMBINED_SHARE_BOOST * fraction)
