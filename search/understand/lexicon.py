"""What names mean in one index generation: its drugs (titles, ingredients and the
aliases the reindex linked from the drug dictionary, see search/drugnames.py; the
manifest keeps each ingredient's aliases once, in its "names" table), and the
vocabulary's classes and conditions. Built once per generation; nothing here touches
Whoosh, and the dictionary itself is never loaded by a server.

A drug name can name a product as a whole (a title, "Triumeq") or an ingredient
("lasix": furosemide, in every product that has it). ``rank_products`` says which
products a query's names point at and how closely: the single-ingredient monograph of a
named drug first (the variant whose route or salt the reader named, if any), then its
salt and route variants, then combinations that hold every named ingredient above those
that hold only one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..corpus.drugnames import (
    empty_dictionary,
    full_names,
    link_names,
    qualifier_groups,
    spelling_key,
)
from ..corpus.vocabulary import Vocabulary
from .typos import NameIndex

MIN_TYPO_CHARS = 4  # shorter words are never auto-corrected
SHORT_WORD_CHARS = 5  # up to this length one edit is allowed, longer words two
MIN_SPELLED_CHARS = 6  # shorter names are not matched by their spelling twin

# Roles of a product for the names a query holds (query.py turns them into boosts).
NAMED = "named"  # named as a whole product: its title or a brand of the product
PRIMARY = "primary"  # the single-ingredient monograph of a named drug
VARIANT = "variant"  # another salt, route or form of a named drug
COMBINED = "combined"  # a combination holding two or more of the named drugs

# Words that carry no meaning for retrieval in a reader's question.
STOP_WORDS = frozenset("""
a about after again all also am an and any are as at be been before being but by can
cant could did do does doesnt dont during each for from get gets getting give had has
have having he her here him his how i id if im in into is isnt it its ive just know like
many may me might more most much must my need needs no nor not now of off ok okay on
once one only or other our out over own please same she should so some such than that
thats the their them then there these they this those through to too under until up
us very was we were what whats when where which while who whom why will with would
yes you your yours
""".split())
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
# Lower-case abbreviations that are also English words are not read as conditions.
_AMBIGUOUS_LOWER = frozenset({"bed", "aids", "sad", "cap", "all", "pad", "tia", "std", "sui",
                              "ida", "pms", "bv", "ms", "as", "pe", "ed", "ad"})


def tokenize(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower().replace("’", "'"))


def phrase_key(text: str) -> str:
    return " ".join(tokenize(text))


@dataclass
class DrugName:
    """What one drug phrase names."""

    kind: str  # "generic", "brand" or "synonym": how the phrase relates to the drug
    generic: str  # the drug as searched and shown ("furosemide")
    ingredients: set[str] = field(default_factory=set)  # ingredient ids it names
    products: set[str] = field(default_factory=set)  # slugs it names as a whole

    @property
    def in_corpus(self) -> bool:
        return bool(self.ingredients or self.products)


@dataclass(frozen=True)
class Product:
    slug: str
    ingredients: tuple[str, ...]  # ingredient ids
    qualifiers: frozenset[str]  # qualifier groups of its title ("nasal", "oral", salts)


class Lexicon:
    """Dictionaries of one index generation: its drugs plus the vocabulary."""

    def __init__(self, monographs: dict[str, dict], vocabulary: Vocabulary,
                 names_table: dict[str, list] | None = None):
        self.vocabulary = vocabulary
        self.drugs: dict[str, DrugName] = {}
        self.products: dict[str, Product] = {}
        self.by_ingredient: dict[str, list[str]] = {}  # ingredient id -> product slugs
        self._generic_names: set[str] = set()  # titles and ingredient names
        fallback = empty_dictionary()
        for slug, entry in monographs.items():
            title = entry.get("title", slug)
            names = entry.get("names") or link_names(title, fallback, vocabulary)
            if names_table:
                names = full_names(names, names_table)
            ids = tuple(names.get("ids") or names["ingredients"])
            self.products[slug] = Product(slug, ids, qualifier_groups(names["qualifiers"]))
            for ingredient in dict.fromkeys(ids):
                self.by_ingredient.setdefault(ingredient, []).append(slug)
            shown = names["ingredients"][0] if len(ids) == 1 else title.lower()
            for name in (title, slug.replace("-", " ")):
                self._add(name, "generic", shown, products={slug})
            for brand in entry.get("brands", []):
                self._add(brand, "brand", shown, products={slug})
            for name, ingredient in zip(names["ingredients"], ids, strict=False):
                self._add(name, "generic", name, ingredients={ingredient})
            for alias, part, kind in names["aliases"]:
                if part < 0:
                    self._add(alias, kind, shown, products={slug})
                elif part < len(ids):
                    self._add(alias, kind, names["ingredients"][part],
                              ingredients={ids[part]})
        # Brands and international names of drugs this corpus lacks: searched as text.
        for brand, generic in vocabulary.brands.items():
            self._add(vocabulary.brand_names[brand], "brand", generic, external=True)
        for alias, generic in vocabulary.aliases.items():
            self._add(alias, "synonym", generic, external=True)
        self.classes: dict[str, str] = {}
        for drug_class in vocabulary.classes.values():
            for name in (drug_class.label, *drug_class.synonyms, *drug_class.lay_terms):
                self.classes.setdefault(phrase_key(name), drug_class.slug)
        self.conditions: dict[str, str] = {}
        for condition in vocabulary.conditions.values():
            for name in (condition.label, *condition.synonyms, *condition.lay_terms):
                self.conditions.setdefault(phrase_key(name), condition.slug)
            for abbreviation in condition.abbreviations:
                key = abbreviation.lower()
                if abbreviation not in condition.ambiguous_abbreviations and \
                        key not in _AMBIGUOUS_LOWER and key not in STOP_WORDS:
                    self.conditions.setdefault(phrase_key(abbreviation), condition.slug)
        self.families = _condition_families(vocabulary)
        self._indications = {slug: {value for value, _ in entry.get("indications", ())}
                             for slug, entry in monographs.items()}
        # Spelling twins of names in the corpus: "ferrous sulphate", "oestrogen".
        self._spelled = {spelling_key(k): k for k, name in self.drugs.items()
                         if name.in_corpus and len(k) >= MIN_SPELLED_CHARS}
        self.names = NameIndex(k for k, name in self.drugs.items()
                               if " " not in k and len(k) >= MIN_TYPO_CHARS
                               and name.in_corpus)

    def _add(self, name: str, kind: str, generic: str, ingredients: set[str] = frozenset(),
             products: set[str] = frozenset(), external: bool = False) -> None:
        key = phrase_key(name)
        if "-" in key:  # "zyrtec-d" is also typed "zyrtec d"
            self._add(key.replace("-", " "), kind, generic, ingredients, products, external)
        if not key:
            return
        known = self.drugs.get(key)
        if external:
            if known is None:
                self.drugs[key] = DrugName(kind, generic.lower())
            return
        if kind == "generic":
            self._generic_names.add(key)
        if known is None:
            self.drugs[key] = known = DrugName(kind, generic.lower())
        elif kind == "generic" and known.kind != "generic":
            known.kind, known.generic = kind, generic.lower()
        known.ingredients |= ingredients
        known.products |= products

    def drug_key(self, phrase: str) -> str | None:
        """The drug phrase a phrase is, exactly or as a spelling twin; None if none."""
        if phrase in self.drugs:
            return phrase
        if len(phrase) < MIN_SPELLED_CHARS or not phrase.replace(" ", "").isalpha():
            return None
        return self._spelled.get(spelling_key(phrase))

    def indications_of(self, slug: str) -> set[str]:
        return self._indications.get(slug, set())

    def display(self, name: str) -> str:
        """A name as its maker spells it ("zoloft" -> "Zoloft")."""
        return self.vocabulary.brand_names.get(name, name)

    def correct(self, word: str) -> str | None:
        """The drug or brand name of this corpus a misspelt word means, or None. Among
        equally close names, a generic name or title wins over a brand or synonym, then
        the name sharing the first letter, then the one spelt most alike."""
        if len(word) < MIN_TYPO_CHARS or not word.isalpha():
            return None
        distance = 1 if len(word) <= SHORT_WORD_CHARS else 2
        found = self.names.lookup(word, distance)
        if not found:
            return None
        best = found[0][1]
        closest = [name for name, d in found if d == best]
        return min(closest, key=lambda name: (name not in self._generic_names,
                                              name[0] != word[0],
                                              abs(len(name) - len(word)), name))

    def routes_of(self, phrase: str) -> set[str]:
        """The route or form group a brand's products all have ({"nasal"} for Flonase),
        as the vocabulary says; empty for any other name."""
        route = self.vocabulary.brand_routes.get(phrase_key(phrase).replace("-", " "))
        return {route} if route else set()

    def products_named(self, phrase: str) -> list[str]:
        """The products a drug phrase names, best first (empty for unknown phrases); a
        brand's route picks among its generic's variants."""
        name = self.drugs.get(phrase_key(phrase))
        if name is None or not name.in_corpus:
            return []
        roles = self.rank_products([(frozenset(name.ingredients), frozenset(name.products))],
                                   self.routes_of(phrase))
        order = {NAMED: 0, PRIMARY: 1, VARIANT: 2, COMBINED: 3}
        return sorted(roles, key=lambda slug: (order[roles[slug][0]], slug))

    def rank_products(self, groups: list[tuple[frozenset[str], frozenset[str]]],
                      wanted: set[str]) -> dict[str, tuple[str, float, int]]:
        """slug -> (role, share, held) for the products a query's drug names point at.
        ``groups``: one (ingredient ids, product slugs) pair per drug the query names
        ("depakote" names two ids, sodium valproate and valproic acid, as one drug).

        Products named as a whole are NAMED; the single-ingredient monographs of a named
        drug are PRIMARY when their qualifier groups fit ``wanted`` best, VARIANT
        otherwise; combinations holding two or more named drugs are COMBINED, with
        ``share`` the part of their ingredients the query names. ``held``: how many of
        the named drugs a product holds. Combinations holding one named drug are left
        out: its ingredient ids find them."""
        def held(slug: str) -> int:
            ids = set(self.products[slug].ingredients)
            return sum(1 for group, _ in groups if group & ids)

        roles = {slug: (NAMED, 1.0, held(slug)) for _, products in groups
                 for slug in products if slug in self.products}
        for group, _ in groups:
            singles = [self.products[s] for i in sorted(group)
                       for s in self.by_ingredient.get(i, [])
                       if len(self.products[s].ingredients) == 1]
            if not singles:
                continue
            fit = {p.slug: (len(p.qualifiers & wanted), -len(p.qualifiers - wanted))
                   for p in singles}
            best = max(fit.values())
            for product in singles:
                role = PRIMARY if fit[product.slug] == best else VARIANT
                roles.setdefault(product.slug, (role, 1.0, 1))
        if len(groups) > 1:
            for group, _ in groups:
                for slug in (s for i in sorted(group) for s in self.by_ingredient.get(i, [])):
                    size = len(set(self.products[slug].ingredients))
                    count = held(slug)
                    if slug not in roles and size > 1 and count > 1:
                        roles[slug] = (COMBINED, count / size, count)
        return roles


def _condition_families(vocabulary: Vocabulary) -> dict[str, list[str]]:
    """Condition -> itself plus the conditions whose label contains its label's words
    ("alopecia" -> alopecia, alopecia areata, androgenetic alopecia)."""
    words = {slug: set(tokenize(c.label)) for slug, c in vocabulary.conditions.items()}
    return {slug: [slug] + sorted(other for other, w in words.items()
                                  if other != slug and own and own < w)
            for slug, own in words.items()}

