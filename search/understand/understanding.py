"""Query understanding: what a reader's words name (drugs, brands, classes, conditions,
the section they want) and the rewrites made to find it.

Readers type the way patients talk ("can i drink alcohol on warfarin", "metfromin side
effects", "hair loss pill"). A plan records every rewrite as {"kind", "from", "to"} so the
page can show it and offer the literal search instead. Pure functions over a Lexicon
(search/lexicon.py) built once per index generation; nothing here touches Whoosh.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..corpus.drugnames import QUALIFIER_WORDS, SALT_WORDS, qualifier_groups
from .lexicon import (
    _TOKEN_RE,
    COMBINED,
    NAMED,
    PRIMARY,
    STOP_WORDS,
    Lexicon,
    phrase_key,
    tokenize,
)

MAX_PHRASE_WORDS = 5

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
    "make me": ("side-effects",), "make you": ("side-effects",), "makes you": ("side-effects",),
    "dose": ("dosage",), "doses": ("dosage",), "dosage": ("dosage",), "dosing": ("dosage",),
    "how much": ("dosage",), "how many": ("dosage",), "mg": ("dosage",),
    "max dose": ("dosage",), "maximum dose": ("dosage",), "how often": ("dosage",),
    "how to take": ("dosage",), "when to take": ("dosage",), "what time": ("dosage",),
    "time of day": ("dosage",), "at night": ("dosage",), "in the morning": ("dosage",),
    "morning or night": ("dosage",), "with food": ("dosage",),
    "twice a day": ("dosage",), "once a day": ("dosage",), "a day": ("dosage",),
    "per day": ("dosage",), "daily": ("dosage",), "how many times": ("dosage",),
    "mcg": ("dosage",), "milligrams": ("dosage",), "strength": ("dosage",),
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
    "wine": ("precautions", "interactions"), "beer": ("precautions", "interactions"),
    "liquor": ("precautions", "interactions"), "booze": ("precautions", "interactions"),
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
# Words for what a medicine does to the body: with a named drug and no other intent,
# the reader asks about side effects ("norvasc swollen ankles", "xanax sleepy").
SYMPTOM_WORDS = frozenset("""
bleeding bleed bruising bruise bruises sleepy drowsy drowsiness tired tiredness fatigue
dizzy dizziness nausea nauseous vomiting diarrhea diarrhoea constipation constipated rash
itching itchy hives headache headaches swelling swollen ankles weight gain insomnia
sleepless cough coughing mouth palpitations heartburn upset cramps cramping numbness
tingling tremor tremors shaking shaky jittery sweating sweats nightmares jaundice libido impotence
erection hair loss dreams moody mood irritable anxious jittery bloating gas acne
""".split())
# Intent words too general to be matched as words in the text.
_INTENT_ONLY = frozenset({"twice a day", "once a day", "a day", "per day", "how many times",
                          "mcg", "milligrams", "strength", "used", "use", "work", "works",
                          "working", "treat", "treats",
                          "cause", "causes", "how much", "how many", "how long", "together",
                          "how often", "how to take", "safe", "good for", "help with",
                          "used for", "use for", "take to work", "helps with", "giving me",
                          "gives me", "making me", "makes me", "made me", "make me", "make you",
                          "makes you", "what is it for",
                          "what it is for", "what is for", "what for", "whats it for",
                          "for what", "what time", "when to take", "start working",
                          "coming off"})
# "work" asks how a drug works only in a "how does ... work" question.
_MECHANISM_WORDS = frozenset({"work", "works", "working"})
# A strength: "40mg", "0.5", "20 mg" (numbers alone too). It says which tablet the
# reader has, not what the section should contain, so it only ranks.
_STRENGTH_RE = re.compile(r"^\d+(?:[.,]\d+)?(?:mg|mgs|mcg|ug|g|gm|ml|iu|units?|%)?$")
# Words a joined pair may split into ("howmuch", "sideeffects", "lasixdose").
_SPLIT_WORDS = STOP_WORDS | GENERIC_NOUNS | {w for phrase in INTENTS for w in phrase.split()}
MIN_JOINED_CHARS = 5
MIN_SPLIT_PART_CHARS = 3  # "level iracetam", not "succ er"
_WHAT_DOES_RE = re.compile(r"\bwhat does (?:\S+ ){1,4}do$")
_FOR_WORDS = frozenset({"for", "treat", "treats", "treating", "against"})
MAX_FOR_GAP = 2  # words between "for" and the condition it names


@dataclass
class QueryPlan:
    """What the query asks for. ``words`` are the content words matched as text."""

    text: str
    drugs: list[str] = field(default_factory=list)  # slugs named or primary (see roles)
    ingredients: list[str] = field(default_factory=list)  # ingredient ids named
    products: list[str] = field(default_factory=list)  # slugs named as whole products
    # One (ingredient ids, product slugs) pair per drug named, as Lexicon.rank_products
    # takes them.
    groups: list[tuple[frozenset[str], frozenset[str]]] = field(default_factory=list)
    roles: dict[str, tuple[str, float, int]] = field(default_factory=dict)  # rank_products
    qualifiers: set[str] = field(default_factory=set)  # route, form and salt groups named
    classes: list[str] = field(default_factory=list)  # class slugs
    conditions: list[str] = field(default_factory=list)  # condition slugs named
    related_conditions: list[str] = field(default_factory=list)  # narrower ones (families)
    # Each named thing as text, with its alternatives ("coumadin" or "warfarin", "hair
    # loss" or "alopecia"): the match also takes sections that merely mention it.
    texts: list[list[str]] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)  # section types to rank first
    words: list[str] = field(default_factory=list)  # content words, after rewrites
    ranking_words: list[str] = field(default_factory=list)  # intent words (match and rank)
    rank_only: list[str] = field(default_factory=list)  # strengths, forms, salts: rank only
    external: list[str] = field(default_factory=list)  # named drugs the corpus lacks
    content: list[str] = field(default_factory=list)  # every meaningful word as typed
    asks_use: bool = False  # a condition after "for": "finasteride for hair loss"
    strengths: list[str] = field(default_factory=list)  # "40mg", "0.5"
    interpretation: list[dict] = field(default_factory=list)

    @property
    def recognized(self) -> bool:
        return bool(self.roles or self.classes or self.conditions)

    @property
    def names_drug(self) -> bool:
        return bool(self.ingredients or self.products)

    def rewrite(self, kind: str, source: str, target: str) -> None:
        """Record a rewrite; an intent is always shown (it changes the ranking)."""
        entry = {"kind": kind, "from": source, "to": target}
        if (kind == "intent" or source.lower() != target.lower()) \
                and entry not in self.interpretation:
            self.interpretation.append(entry)


def _spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the tokens, so a rewrite can quote the reader's own words."""
    return [m.span() for m in _TOKEN_RE.finditer(text.lower().replace("’", "'"))]


def understand(text: str, lexicon: Lexicon, is_index_word: Callable[[str], bool]
               ) -> QueryPlan:
    """Read a plain query (no operators) into a plan."""
    plan = QueryPlan(text=text)
    tokens, spans = _split_joined(tokenize(text), _spans(text), lexicon, is_index_word)

    def typed(start: int, size: int) -> str:
        return text[spans[start][0]:spans[start + size - 1][1]]

    plan.content = [t for t in tokens if t not in STOP_WORDS and t not in GENERIC_NOUNS
                    and not _STRENGTH_RE.match(t)]
    i = 0
    after_drug = False  # "rosuvastatin calcium": a salt after a drug is part of its name
    while i < len(tokens):
        token = tokens[i]
        if after_drug and token in SALT_WORDS:
            plan.qualifiers |= qualifier_groups([token])
            plan.rank_only.append(token)
            i += 1
            continue
        if i + 1 < len(tokens) and (joined := _joined_name(token, tokens[i + 1], lexicon,
                                                            is_index_word)):
            plan.rewrite("spelling", typed(i, 2), joined)  # "gaba pentin"
            _add_drug(plan, lexicon, joined, joined)
            i += 2
            after_drug = True
            continue
        before = len(plan.ingredients) + len(plan.products)
        consumed = _match_phrase(tokens, i, lexicon, plan, typed)
        if consumed:
            i += consumed
            after_drug = len(plan.ingredients) + len(plan.products) > before
            continue
        after_drug = False
        i += 1
        if token in QUALIFIER_WORDS or qualifier_groups([token]):
            plan.qualifiers |= qualifier_groups([token])
            if token not in STOP_WORDS and token not in GENERIC_NOUNS:
                plan.rank_only.append(token)
            continue
        if token in STOP_WORDS or token in GENERIC_NOUNS:
            continue
        if _STRENGTH_RE.match(token):
            plan.rank_only.append(token)
            plan.strengths.append(token)
            continue
        if i < len(tokens) and (name := _split_name(token, tokens[i], lexicon,
                                                    is_index_word)):
            plan.rewrite("spelling", typed(i - 1, 2), lexicon.display(name))
            _add_drug(plan, lexicon, name, lexicon.display(name))
            i += 1
            after_drug = True
            continue
        if not is_index_word(token) and (name := lexicon.correct(token.replace("-", ""))):
            plan.rewrite("spelling", typed(i - 1, 1), lexicon.display(name))
            _add_drug(plan, lexicon, name, lexicon.display(name))
            after_drug = True
            continue
        plan.words.append(token)
    plan.groups = _merged(plan.groups, lexicon)
    plan.roles = lexicon.rank_products(plan.groups, plan.qualifiers)
    plan.drugs = [slug for slug, (role, *_) in plan.roles.items() if role in (NAMED, PRIMARY)]
    _infer_intent(plan, lexicon, text)
    return plan


def _infer_intent(plan: QueryPlan, lexicon: Lexicon, text: str) -> None:
    """The section a query wants when it says none."""
    if plan.intents:
        return
    tokens = tokenize(text)
    treated = set().union(*(lexicon.indications_of(slug) for slug in plan.drugs))
    treats = plan.asks_use or bool(treated & set(plan.conditions + plan.related_conditions))
    kinds: tuple[str, ...] = ()
    if (plan.classes or plan.conditions) and not plan.names_drug:
        kinds = ("usage",)  # "blood thinner", "hair loss pill": what treats it
    elif len(plan.groups) > 1 and not any(role == COMBINED for role, *_ in plan.roles.values()):
        kinds = INTENTS["interactions"]  # "tylenol with ibuprofen"
    elif plan.names_drug and _WHAT_DOES_RE.search(" ".join(tokens)):
        kinds = ("usage", "mechanism")  # "what does atorvastatin do"
    elif plan.drugs and plan.conditions and treats:
        kinds = ("usage",)  # "seroquel for sleep", "metformin type 2 diabetes"
    elif plan.names_drug and (plan.conditions or SYMPTOM_WORDS.intersection(plan.content)):
        # A named drug and a condition it does not treat ("metformin diarrhea"), or a
        # symptom ("norvasc swollen ankles"): most likely a side effect.
        kinds = ("side-effects",)
    elif plan.names_drug and plan.strengths:
        kinds = ("dosage",)  # "levothyroxine 50 mcg"
    if kinds:
        plan.intents.extend(kinds)
        plan.rewrite("intent", text, kinds[0])


def _merged(groups: list[tuple[frozenset[str], frozenset[str]]], lexicon: Lexicon
            ) -> list[tuple[frozenset[str], frozenset[str]]]:
    """One group per drug: "lasix furosemide", or a title and its ingredient, are one
    drug named twice (groups sharing an ingredient id are merged)."""
    merged: list[tuple[frozenset[str], frozenset[str]]] = []
    for ids, products in groups:
        ids = ids | {i for slug in products if slug in lexicon.products
                     for i in lexicon.products[slug].ingredients
                     if len(lexicon.products[slug].ingredients) == 1}
        for n, (other_ids, other_products) in enumerate(merged):
            if ids & other_ids or products & other_products:
                merged[n] = (other_ids | ids, other_products | products)
                break
        else:
            merged.append((ids, products))
    return merged


def _split_joined(tokens: list[str], spans: list[tuple[int, int]], lexicon: Lexicon,
                  is_index_word: Callable[[str], bool]
                  ) -> tuple[list[str], list[tuple[int, int]]]:
    """Words typed without their space ("howmuch", "sideeffects", "lasixdose") apart,
    when neither the index nor the drug names know the joined word and both halves
    are words a question is made of (or one half a drug name)."""
    out_tokens, out_spans = [], []
    for token, span in zip(tokens, spans, strict=True):
        parts = None
        if (len(token) >= MIN_JOINED_CHARS and token.isalpha() and token not in lexicon.drugs
                and token not in _SPLIT_WORDS and not is_index_word(token)):
            for cut in range(2, len(token) - 1):
                left, right = token[:cut], token[cut:]
                if (left in _SPLIT_WORDS or left in lexicon.drugs) and \
                        (right in _SPLIT_WORDS or right in lexicon.drugs) and \
                        not (left in lexicon.drugs and right in lexicon.drugs):
                    parts = (left, right, cut)
                    break
        if parts:
            left, right, cut = parts
            out_tokens += [left, right]
            out_spans += [(span[0], span[0] + cut), (span[0] + cut, span[1])]
        else:
            out_tokens.append(token)
            out_spans.append(span)
    return out_tokens, out_spans


def _joined_name(first: str, second: str, lexicon: Lexicon,
                 is_index_word: Callable[[str], bool]) -> str | None:
    """A drug name split in two where one half is no word ("gaba pentin"), even when
    the other half is a name of its own."""
    joined = first + second
    name = lexicon.drugs.get(joined)
    if name is None or not name.in_corpus or f"{first} {second}" in lexicon.drugs:
        return None
    return joined if not (is_index_word(first) and is_index_word(second)) else None


def _split_name(first: str, second: str, lexicon: Lexicon,
                is_index_word: Callable[[str], bool]) -> str | None:
    """A drug name typed as two words ("level iracetam", "hydro chlorothiazide"): the
    joined word is a drug name or one typo from one, and one half is no word at all."""
    if not (first.isalpha() and second.isalpha()) or first in STOP_WORDS \
            or second in STOP_WORDS or first in lexicon.drugs or second in lexicon.drugs \
            or first in QUALIFIER_WORDS or second in QUALIFIER_WORDS \
            or min(len(first), len(second)) < MIN_SPLIT_PART_CHARS:
        return None
    if is_index_word(first) and is_index_word(second):
        return None
    joined = first + second
    if joined in lexicon.drugs and lexicon.drugs[joined].in_corpus:
        return joined
    return lexicon.correct(joined)


def _match_phrase(tokens: list[str], start: int, lexicon: Lexicon, plan: QueryPlan,
                  typed: Callable[[int, int], str]) -> int:
    """Consume the longest phrase at start that a dictionary knows; 0 if none."""
    for size in range(min(MAX_PHRASE_WORDS, len(tokens) - start), 0, -1):
        phrase = " ".join(tokens[start:start + size])
        if (key := lexicon.drug_key(phrase)) is not None:
            if key != phrase:  # a spelling twin: "ferrous sulphate", "sertralin"
                plan.rewrite("spelling", typed(start, size), key)
            _add_drug(plan, lexicon, key, typed(start, size))
        elif size > 1 and _drug_overlaps(tokens, start, size, lexicon):
            continue  # "the flu shot": the drug "flu shot", not the condition "the flu"
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
            plan.asks_use |= _after_for(tokens, start, lexicon)
            if slug not in plan.conditions:
                plan.conditions.append(slug)
            for member in lexicon.families.get(slug, [])[1:]:
                if member not in plan.related_conditions:
                    plan.related_conditions.append(member)
            _add_text(plan, phrase, phrase_key(label))
        elif (intent := _intent_phrase(phrase)) is not None:
            if intent in _MECHANISM_WORDS and not _asks_how(tokens[:start]):
                return 1  # "sleepy at work": not a question about the mechanism
            plan.rewrite("intent", typed(start, size), INTENTS[intent][0])
            for kind in INTENTS[intent]:
                if kind not in plan.intents:
                    plan.intents.append(kind)
            if intent not in _INTENT_ONLY:
                plan.ranking_words.extend(phrase.split())
        else:
            continue
        return size
    return 0


def _intent_phrase(phrase: str) -> str | None:
    """The INTENTS phrase a phrase is, its last word in the plural too ("a few beers",
    "any drinks"); None if none."""
    if phrase in INTENTS:
        return phrase
    if phrase.endswith("s") and phrase[:-1] in INTENTS:
        return phrase[:-1]
    return None


def _after_for(tokens: list[str], start: int, lexicon: Lexicon) -> bool:
    """Does a "for" lead to the condition at ``start``: "finasteride for hair loss", and
    with a word or two between that name no drug ("amoxicillin for a tooth infection",
    "for my sinus infection")?"""
    for before in reversed(range(max(0, start - MAX_FOR_GAP - 1), start)):
        if tokens[before] in _FOR_WORDS:
            return True
        if tokens[before] in lexicon.drugs or tokens[before] in INTENTS:
            return False
    return False


def _drug_overlaps(tokens: list[str], start: int, size: int, lexicon: Lexicon) -> bool:
    """Does a drug name begin inside this phrase and end after it?"""
    for inner in range(start + 1, start + size):
        for length in range(start + size - inner + 1, MAX_PHRASE_WORDS + 1):
            if inner + length <= len(tokens) and \
                    " ".join(tokens[inner:inner + length]) in lexicon.drugs:
                return True
    return False


def _add_text(plan: QueryPlan, *alternatives: str) -> None:
    unique = list(dict.fromkeys(a for a in alternatives if a))
    if unique and unique not in plan.texts:
        plan.texts.append(unique)


def _asks_how(before: list[str]) -> bool:
    return "how" in before and "long" not in before


def _add_drug(plan: QueryPlan, lexicon: Lexicon, phrase: str, typed: str) -> None:
    name = lexicon.drugs[phrase]
    if name.kind in ("brand", "synonym"):
        plan.rewrite(name.kind, typed, name.generic)
    plan.qualifiers |= lexicon.routes_of(phrase)  # "flonase": the nasal fluticasone
    if name.in_corpus:
        plan.ingredients += [i for i in sorted(name.ingredients) if i not in plan.ingredients]
        plan.products += [p for p in sorted(name.products) if p not in plan.products]
        plan.groups.append((frozenset(name.ingredients), frozenset(name.products)))
        _add_text(plan, phrase, phrase_key(name.generic))
    else:  # a drug the corpus lacks: its name is searched as text
        plan.words.extend(tokenize(name.generic))
        plan.external.extend(tokenize(name.generic))
