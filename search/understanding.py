"""Query understanding: what a reader's words name (drugs, brands, classes, conditions,
the section they want) and the rewrites made to find it.

Readers type the way patients talk ("can i drink alcohol on warfarin", "metfromin side
effects", "hair loss pill"). A plan records every rewrite as {"kind", "from", "to"} so the
page can show it and offer the literal search instead. Pure functions over a Lexicon
built once per index generation; nothing here touches Whoosh.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .typos import NameIndex
from .vocabulary import Vocabulary

MAX_PHRASE_WORDS = 5
MIN_TYPO_CHARS = 4  # shorter words are never auto-corrected
SHORT_WORD_CHARS = 5  # up to this length one edit is allowed, longer words two

_TOKEN_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")

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
# Words that only say "a medicine" or "taking it": "hair loss pill" means hair loss.
GENERIC_NOUNS = frozenset("""
pill pills tablet tablets capsule capsules medicine medicines medication medications
drug drugs meds med prescription rx take takes taking took use using
""".split())
# Phrase -> section types it asks for, most specific first.
INTENTS: dict[str, tuple[str, ...]] = {
    "side effects": ("side-effects",), "side effect": ("side-effects",),
    "adverse effects": ("side-effects",), "adverse reactions": ("side-effects",),
    "cause": ("side-effects",), "causes": ("side-effects",),
    "giving me": ("side-effects",), "gives me": ("side-effects",),
    "making me": ("side-effects",), "makes me": ("side-effects",), "made me": ("side-effects",),
    "dose": ("dosage",), "doses": ("dosage",), "dosage": ("dosage",), "dosing": ("dosage",),
    "how much": ("dosage",), "how many": ("dosage",), "mg": ("dosage",),
    "max dose": ("dosage",), "maximum dose": ("dosage",), "how often": ("dosage",),
    "how to take": ("dosage",), "when to take": ("dosage",), "what time": ("dosage",),
    "time of day": ("dosage",), "at night": ("dosage",), "in the morning": ("dosage",),
    "morning or night": ("dosage",), "with food": ("dosage",),
    "work": ("mechanism",), "works": ("mechanism",), "working": ("mechanism",),
    "mechanism": ("mechanism",), "mechanism of action": ("mechanism",),
    "used for": ("usage",), "use for": ("usage",), "uses": ("usage",), "used": ("usage",),
    "what is it for": ("usage",), "what it is for": ("usage",), "what is for": ("usage",),
    "what for": ("usage",), "whats it for": ("usage",), "for what": ("usage",),
    "treat": ("usage",), "treats": ("usage",), "treatment": ("usage",),
    "indication": ("usage",), "indications": ("usage",), "prescribed": ("usage",),
    "good for": ("usage",), "help with": ("usage",), "helps with": ("usage",),
    "pregnancy": ("precautions",), "pregnant": ("precautions",),
    "breastfeeding": ("precautions",), "breast feeding": ("precautions",),
    "nursing": ("precautions",), "warning": ("precautions",), "warnings": ("precautions",),
    "precautions": ("precautions",), "safe": ("precautions",), "risk": ("precautions",),
    "risks": ("precautions",), "alcohol": ("precautions", "interactions"),
    "drink": ("precautions", "interactions"), "drinking": ("precautions", "interactions"),
    "interaction": ("interactions", "precautions"),
    "interactions": ("interactions", "precautions"),
    "interact": ("interactions", "precautions"), "together": ("interactions", "precautions"),
    "combine": ("interactions", "precautions"), "mix": ("interactions", "precautions"),
    "missed dose": ("faqs",), "miss a dose": ("faqs",), "missed": ("faqs",),
    "forgot": ("faqs",), "store": ("faqs",), "storage": ("faqs",),
    "how long": ("faqs",), "take to work": ("faqs",), "start working": ("faqs",),
    "stop taking": ("faqs", "precautions"), "stopping": ("faqs", "precautions"),
    "coming off": ("precautions", "faqs"), "withdrawal": ("precautions", "faqs"),
    "fridge": ("faqs",), "refrigerator": ("faqs",), "refrigerate": ("faqs",),
    "refrigerated": ("faqs",), "room temperature": ("faqs",),
    "generic": ("generic-name",), "generic name": ("generic-name",),
}
# Intent words too general to be matched as words in the text.
_INTENT_ONLY = frozenset({"used", "use", "work", "works", "working", "treat", "treats",
                          "cause", "causes", "how much", "how many", "how long", "together",
                          "how often", "how to take", "safe", "good for", "help with",
                          "used for", "use for", "take to work", "helps with", "giving me",
                          "gives me", "making me", "makes me", "made me", "what is it for",
                          "what it is for", "what is for", "what for", "whats it for",
                          "for what", "what time", "when to take", "start working",
                          "coming off"})
# "work" asks how a drug works only in a "how does ... work" question.
_MECHANISM_WORDS = frozenset({"work", "works", "working"})
# Lower-case abbreviations that are also English words are not read as conditions.
_AMBIGUOUS_LOWER = frozenset({"bed", "aids", "sad", "cap", "all", "pad", "tia", "std", "sui",
                              "ida", "pms", "bv", "ms", "as", "pe", "ed", "ad"})


# Salt and form words: "Metformin Hydrochloride" is what readers call metformin.
SALT_WORDS = frozenset("""
hydrochloride hcl sodium potassium calcium magnesium besylate maleate mesylate succinate
tartrate citrate sulfate phosphate acetate fumarate bromide chloride hyclate monohydrate
dihydrate anhydrous extended release er xr sr cr dr odt oral tablets tablet capsules
injection
""".split())


def tokenize(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower().replace("’", "'"))


def _spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the tokens, so a rewrite can quote the reader's own words."""
    return [m.span() for m in _TOKEN_RE.finditer(text.lower().replace("’", "'"))]


def phrase_key(text: str) -> str:
    return " ".join(tokenize(text))


@dataclass(frozen=True)
class DrugRef:
    slug: str | None  # corpus slug, or None for a drug the corpus lacks
    generic: str  # generic name as searched


@dataclass
class QueryPlan:
    """What the query asks for. ``words`` are the content words matched as text."""

    text: str
    drugs: list[str] = field(default_factory=list)  # corpus slugs
    classes: list[str] = field(default_factory=list)  # class slugs
    conditions: list[str] = field(default_factory=list)  # condition slugs named
    related_conditions: list[str] = field(default_factory=list)  # narrower ones (families)
    # Each named thing as text, with its alternatives ("coumadin" or "warfarin", "hair
    # loss" or "alopecia"): the match also takes sections that merely mention it.
    texts: list[list[str]] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)  # section types to rank first
    words: list[str] = field(default_factory=list)  # content words, after rewrites
    ranking_words: list[str] = field(default_factory=list)  # words that only rank
    external: list[str] = field(default_factory=list)  # named drugs the corpus lacks
    content: list[str] = field(default_factory=list)  # every meaningful word as typed
    interpretation: list[dict] = field(default_factory=list)

    @property
    def recognized(self) -> bool:
        return bool(self.drugs or self.classes or self.conditions)


    def rewrite(self, kind: str, source: str, target: str) -> None:
        """Record a rewrite; an intent is always shown (it changes the ranking)."""
        entry = {"kind": kind, "from": source, "to": target}
        if (kind == "intent" or source.lower() != target.lower()) \
                and entry not in self.interpretation:
            self.interpretation.append(entry)


class Lexicon:
    """Dictionaries of one index generation: its drugs plus the vocabulary."""

    def __init__(self, monographs: dict[str, dict], vocabulary: Vocabulary):
        self.vocabulary = vocabulary
        self.drugs: dict[str, tuple[str, DrugRef]] = {}  # phrase -> (kind, ref)
        by_generic: dict[str, str] = {}
        for slug, entry in monographs.items():
            title = entry.get("title", slug)
            ref = DrugRef(slug, title.lower())
            plain = " ".join(w for w in tokenize(title) if w not in SALT_WORDS)
            for name in (title, slug.replace("-", " "), slug, plain):
                if name:
                    self._add_drug(name, "generic", ref)
                    by_generic.setdefault(phrase_key(name), slug)
            for brand in entry.get("brands", []):
                self._add_drug(brand, "brand", ref)
        for brand, generic in vocabulary.brands.items():
            slug = by_generic.get(phrase_key(generic))
            self._add_drug(vocabulary.brand_names[brand], "brand", DrugRef(slug, generic))
        for alias, generic in vocabulary.aliases.items():
            self._add_drug(alias, "alias", DrugRef(by_generic.get(phrase_key(generic)), generic))
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
        self.names = NameIndex(k for k in self.drugs if " " not in k and len(k) >= 4)
        self.corpus_names = {k for k, (_, ref) in self.drugs.items() if ref.slug}

    def _add_drug(self, name: str, kind: str, ref: DrugRef) -> None:
        key = phrase_key(name)
        if key and (key not in self.drugs or (ref.slug and not self.drugs[key][1].slug)):
            self.drugs[key] = (kind, ref)

    def indications_of(self, slug: str) -> set[str]:
        return self._indications.get(slug, set())

    def display(self, name: str) -> str:
        """A name as its maker spells it ("zoloft" -> "Zoloft")."""
        return self.vocabulary.brand_names.get(name, name)

    def correct(self, word: str) -> str | None:
        """The drug or brand name a misspelt word means, or None."""
        if len(word) < MIN_TYPO_CHARS or not word.isalpha():
            return None
        distance = 1 if len(word) <= SHORT_WORD_CHARS else 2
        found = self.names.lookup(word, distance)
        if not found:
            return None
        best = found[0][1]
        closest = [name for name, d in found if d == best]
        in_corpus = [name for name in closest if name in self.corpus_names]
        choice = (in_corpus or closest)
        return choice[0] if len(choice) == 1 or in_corpus else None


def _condition_families(vocabulary: Vocabulary) -> dict[str, list[str]]:
    """Condition -> itself plus the conditions whose label contains its label's words
    ("alopecia" -> alopecia, alopecia areata, androgenetic alopecia)."""
    words = {slug: set(tokenize(c.label)) for slug, c in vocabulary.conditions.items()}
    return {slug: [slug] + sorted(other for other, w in words.items()
                                  if other != slug and own and own < w)
            for slug, own in words.items()}


def understand(text: str, lexicon: Lexicon, is_index_word: Callable[[str], bool]
               ) -> QueryPlan:
    """Read a plain query (no operators) into a plan."""
    plan = QueryPlan(text=text)
    tokens = tokenize(text)
    spans = _spans(text)

    def typed(start: int, size: int) -> str:
        return text[spans[start][0]:spans[start + size - 1][1]]

    plan.content = [t for t in tokens if t not in STOP_WORDS and t not in GENERIC_NOUNS]
    i = 0
    while i < len(tokens):
        consumed = _match_phrase(tokens, i, lexicon, plan, typed)
        if consumed:
            i += consumed
            continue
        token = tokens[i]
        i += 1
        if token in STOP_WORDS or token in GENERIC_NOUNS:
            continue
        if not is_index_word(token) and (name := lexicon.correct(token)):
            plan.rewrite("spelling", typed(i - 1, 1), lexicon.display(name))
            _add_drug(plan, lexicon, name, lexicon.display(name))
            continue
        plan.words.append(token)
    if (plan.classes or plan.conditions) and not plan.intents and not plan.drugs:
        plan.intents.append("usage")  # "blood thinner", "hair loss pill": what treats it
        plan.rewrite("intent", text, "usage")
    if plan.drugs and plan.conditions and not plan.intents:
        # A named drug and a condition: if the drug treats it, the reader asks about
        # that use; if not ("metformin diarrhea"), most likely about a side effect.
        treated = set().union(*(lexicon.indications_of(slug) for slug in plan.drugs))
        kind = "usage" if treated & set(plan.conditions + plan.related_conditions) \
            else "side-effects"
        plan.intents.append(kind)
        plan.rewrite("intent", text, kind)
    if len(plan.drugs) > 1 and not plan.intents:
        plan.intents.extend(INTENTS["interactions"])  # "tylenol with ibuprofen"
        plan.rewrite("intent", text, "interactions")
    return plan


def _match_phrase(tokens: list[str], start: int, lexicon: Lexicon, plan: QueryPlan,
                  typed: Callable[[int, int], str]) -> int:
    """Consume the longest phrase at start that a dictionary knows; 0 if none."""
    for size in range(min(MAX_PHRASE_WORDS, len(tokens) - start), 0, -1):
        phrase = " ".join(tokens[start:start + size])
        if phrase in lexicon.drugs:
            _add_drug(plan, lexicon, phrase, typed(start, size))
        elif phrase in lexicon.classes:
            slug = lexicon.classes[phrase]
            label = lexicon.vocabulary.classes[slug].label
            plan.rewrite("class", typed(start, size), label)
            if slug not in plan.classes:
                plan.classes.append(slug)
            _add_text(plan, phrase, phrase_key(label))
        elif phrase in lexicon.conditions and (size > 1 or phrase not in INTENTS):
            slug = lexicon.conditions[phrase]
            label = lexicon.vocabulary.conditions[slug].label
            plan.rewrite("synonym", typed(start, size), label.lower())
            if slug not in plan.conditions:
                plan.conditions.append(slug)
            for member in lexicon.families.get(slug, [])[1:]:
                if member not in plan.related_conditions:
                    plan.related_conditions.append(member)
            _add_text(plan, phrase, phrase_key(label))
        elif phrase in INTENTS:
            if phrase in _MECHANISM_WORDS and not _asks_how(tokens[:start]):
                return 1  # "sleepy at work": not a question about the mechanism
            plan.rewrite("intent", typed(start, size), INTENTS[phrase][0])
            for kind in INTENTS[phrase]:
                if kind not in plan.intents:
                    plan.intents.append(kind)
            if phrase not in _INTENT_ONLY:
                plan.ranking_words.extend(phrase.split())
        else:
            continue
        return size
    return 0


def _add_text(plan: QueryPlan, *alternatives: str) -> None:
    unique = list(dict.fromkeys(a for a in alternatives if a))
    if unique and unique not in plan.texts:
        plan.texts.append(unique)


def _asks_how(before: list[str]) -> bool:
    return "how" in before and "long" not in before


def _add_drug(plan: QueryPlan, lexicon: Lexicon, name: str, typed: str) -> None:
    kind, ref = lexicon.drugs[name]
    if kind in ("brand", "alias"):
        plan.rewrite("brand" if kind == "brand" else "synonym", typed, ref.generic)
    if ref.slug:
        if ref.slug not in plan.drugs:
            plan.drugs.append(ref.slug)
        _add_text(plan, name, phrase_key(ref.generic))
    else:  # a drug the corpus lacks: its name is searched as text
        plan.words.extend(tokenize(ref.generic))
        plan.external.extend(tokenize(ref.generic))
