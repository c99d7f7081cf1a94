"""A large test bed in the seed's format with real drug names (``python -m bench.testbed``).

Real corpora are not the 64 monographs we ship: thousands of drugs named as labels name
them, in US and international spellings (cefalexin, paracetamol, salbutamol), salt,
route and form variants ("Metoprolol Succinate", "Beclomethasone (Nasal)"), thousands of
combination products ("A + B + C", some with every heading repeated per ingredient), and
pages whose format drifted (``##`` headings, ``**Usage:**`` labels, a few with no
structure at all). This generator writes such a folder, deterministically:

- the named monographs of ``bench/data/testbed.json`` (the judged queries are about them);
- drugs drawn from the dictionary (drug-named-entity-recognition) around them, some as
  salt or route variants, and combinations of them, weighted so that common drugs are in
  many combinations, as paracetamol is in real corpora;
- text from templates (doses, side effects, missed-dose and storage FAQs, interactions
  naming other drugs, sometimes brand names or the other spelling) and Zipf prose seeded
  with the bundled corpus's words, so that words and names occur where real text has
  them, and often where a query does not want them.

Files are laid out as real corpora are: one folder per first letter, file names made
from the title (lower case, runs of other characters as one hyphen).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import asdict, dataclass, field
from itertools import accumulate
from pathlib import Path

from bench.generate import SECTION_WORDS, SYLLABLES, SYNTHETIC_WORDS, ZIPF_EXPONENT
from search.corpus.drugnames import (
    DrugDictionary,
    is_alias,
    link_names,
    load_dictionary,
    read_dictionary_file,
    split_title,
)
from search.corpus.vocabulary import default_vocabulary

DATA = Path(__file__).resolve().parent / "data"
NAMED = DATA / "testbed.json"
# Judged questions about the named monographs: the set used while tuning, and a set
# written by someone who never saw the engine, kept out of tuning.
QUESTION_SETS = {"tuning": DATA / "testbed-queries.jsonl",
                 "holdout": DATA / "testbed-queries-holdout.jsonl"}
DEFAULT_COUNT = 6400
DEFAULT_SEED = 11
COMBINATION_SHARE = 0.48  # of the generated (not named) monographs
VARIANT_SHARE = 0.15  # of generated single drugs: a salt or route variant as well
REPEATED_SHARE = 0.2  # of combinations: every heading repeated per ingredient
DRIFT_SHARE = 0.012  # pages in another format (## headings, bold labels...)
UNSTRUCTURED_SHARE = 0.004  # pages with no recognisable structure (rejected)
SALTS = ["Hydrochloride", "Sodium", "Potassium", "Maleate", "Sulfate", "Citrate",
         "Tartrate", "Succinate", "Mesylate", "Acetate", "Phosphate", "Calcium"]
ROUTES = ["(Topical)", "(Oral)", "(Nasal)", "(Ophthalmic)", "(Injection)",
          "Extended-Release", "(Oral Inhalation)", "(Transdermal)", "Oral Suspension"]
SIDE_EFFECTS = ["nausea", "headache", "dizziness", "diarrhea", "constipation", "rash",
                "dry mouth", "drowsiness", "fatigue", "stomach pain", "vomiting",
                "insomnia", "itching", "muscle pain", "cough", "swelling of the ankles",
                "blurred vision", "weight gain", "loss of appetite", "hair loss",
                "low blood pressure", "fast heartbeat", "sweating", "anxiety"]
FREQUENCIES = ["once daily", "twice daily", "three times a day", "every 12 hours",
               "every 8 hours", "once weekly", "at bedtime", "as needed"]
DRIFTS = ["h2", "bold", "bold-inline", "h3-bold", "h3-value"]
PART_MARKERS = ["h2", "bold", "h3", "h4"]
SECTIONS = ["Generic Name", "Usage", "Dosage", "Side Effects", "How it Works",
            "Precautions", "FAQs"]
DISCLAIMER = ("**Disclaimer:** This synthetic text is for testing search only and is not "
              "medical advice. Always consult your healthcare provider.")


@dataclass
class Planned:
    title: str
    kind: str  # named, named-combination, confuser, single, variant, combination
    layout: str = "standard"  # standard, repeated, a drift, or unstructured
    marker: str = ""  # how a repeated layout marks each ingredient's part
    slug: str = ""
    path: str = ""
    ingredients: list[str] = field(default_factory=list)


def file_stem(title: str) -> str:
    """As real corpora name files: runs of other characters become one hyphen."""
    return re.sub(r"-+", "-", re.sub(r"[^a-zA-Z0-9]", "-", title)).lower()


def _pool(raw: dict, taken: set[str], dictionary: DrugDictionary) -> list[str]:
    """Single drugs of the dictionary that consumer monographs cover: those with a
    MedlinePlus or NHS page, or a DrugBank id and a formula; plain names only. Other
    names of the named drugs (glyburide for glibenclamide, co-codamol) are left out,
    so that each named drug has one right answer."""
    vocabulary = default_vocabulary()
    found = []
    for canonical, data in raw["drug_canonical_to_data"].items():
        real = ("medline_plus_id" in data or "nhs_url" in data
                or ("drugbank_id" in data and "formula" in data))
        if not (real and is_alias(canonical) and " and " not in canonical
                and len(canonical.split()) <= 2) or canonical in vocabulary.aliases \
                or canonical in vocabulary.brands:
            continue
        ids = set(link_names(canonical, dictionary, vocabulary)["ids"])
        if not ids & taken and canonical not in taken:
            found.append(canonical)
    return sorted(found)


def _title(name: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in name.split())


def plan_testbed(count: int, seed: int, raw: dict, dictionary: DrugDictionary
                 ) -> list[Planned]:
    """Which monographs the test bed holds, and how each is laid out."""
    rng = random.Random(seed)
    named = json.loads(NAMED.read_text(encoding="utf-8"))
    plans = [Planned(t, "named") for t in named["singles"]]
    plans += [Planned(t, "named-combination") for t in named["combinations"]]
    plans += [Planned(t, "confuser") for t in named["confusers"]]
    vocabulary = default_vocabulary()
    taken = {i.name for p in plans for i in split_title(p.title)}
    taken |= {i for p in plans for i in link_names(p.title, dictionary, vocabulary)["ids"]}
    pool = _pool(raw, taken, dictionary)
    rng.shuffle(pool)
    remaining = max(0, count - len(plans))
    combos = int(remaining * COMBINATION_SHARE)
    singles: list[Planned] = []
    while len(singles) < remaining - combos and pool:
        name = _title(pool.pop())
        singles.append(Planned(name, "single"))
        if rng.random() < VARIANT_SHARE and len(singles) < remaining - combos:
            suffix = rng.choice(SALTS + ROUTES)
            singles.append(Planned(f"{name} {suffix}", "variant"))
    plans += singles
    # Ingredients of combinations: named drugs weigh more, as common drugs do.
    ingredients = [split_title(p.title)[0].name for p in plans
                   if p.kind in ("named", "single")]
    weights = [8.0 if i < len(named["singles"]) else 1.0 for i in range(len(ingredients))]
    titles = {p.title.lower() for p in plans}
    while len(plans) < count:
        size = rng.choice((2, 2, 2, 3, 3, 4))
        parts = list(dict.fromkeys(rng.choices(ingredients, weights=weights, k=size)))
        title = " + ".join(_title(p) for p in parts)
        if len(parts) > 1 and title.lower() not in titles:
            titles.add(title.lower())
            plans.append(Planned(title, "combination"))
    stems: set[str] = set()
    kept = []
    for plan in plans:
        stem = file_stem(plan.title)
        if stem in stems or not re.match(r"^[a-z0-9]", stem):
            continue
        stems.add(stem)
        plan.slug = stem
        plan.path = f"{stem[0]}/{stem}.md"
        plan.ingredients = [i.name for i in split_title(plan.title)]
        if len(plan.ingredients) > 1 and rng.random() < REPEATED_SHARE:
            plan.layout, plan.marker = "repeated", rng.choice(PART_MARKERS)
        elif plan.kind not in ("named", "named-combination", "confuser"):
            draw = rng.random()
            if draw < UNSTRUCTURED_SHARE:
                plan.layout = "unstructured"
            elif draw < UNSTRUCTURED_SHARE + DRIFT_SHARE:
                plan.layout = rng.choice(DRIFTS)
        kept.append(plan)
    return kept


def _words(rng: random.Random, dictionary: DrugDictionary) -> list[str]:
    """Prose words by how often the bundled corpus uses them (drug names left out, so a
    drug is only named where the templates name it), made-up words for the long tail."""
    root = Path(__file__).resolve().parent.parent
    counts: dict[str, int] = {}
    for path in sorted(root.glob("corpus/*.md")):
        for word in re.findall(r"[a-z]{3,}", path.read_text(encoding="utf-8").lower()):
            counts[word] = counts.get(word, 0) + 1
    vocabulary = default_vocabulary()
    words = [w for w in sorted(counts, key=lambda w: (-counts[w], w))
             if not dictionary.knows(w) and w not in vocabulary.brands]
    known = set(words)
    while len(words) < SYNTHETIC_WORDS:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in known and not dictionary.knows(word):
            known.add(word)
            words.append(word)
    return words


class Writer:
    """Section text for one test bed: templates plus Zipf prose."""

    def __init__(self, rng: random.Random, dictionary: DrugDictionary, names: list[str]):
        self.rng = rng
        self.dictionary = dictionary
        self.words = _words(rng, dictionary)
        self.weights = list(accumulate(1.0 / (rank ** ZIPF_EXPONENT)
                                       for rank in range(1, len(self.words) + 1)))
        self.conditions = [c.label.lower() for c in default_vocabulary().conditions.values()]
        self.names = names  # drugs other monographs mention

    def prose(self, low: int = SECTION_WORDS[0] // 3, high: int = SECTION_WORDS[1] // 3
              ) -> str:
        chosen = self.rng.choices(self.words, cum_weights=self.weights,
                                  k=self.rng.randint(low, high))
        return " ".join(" ".join(chosen[i:i + 12]).capitalize() + "."
                        for i in range(0, len(chosen), 12))

    def other_names(self, ingredient: str) -> list[str]:
        """Brands and other spellings the dictionary gives, for the text to mention."""
        found = []
        for canonical in self.dictionary.canonicals(ingredient):
            found += [n for n in self.dictionary.names(canonical)
                      if n != ingredient and is_alias(n) and len(n.split()) == 1]
        return sorted(set(found))

    def sections(self, plan: Planned, name: str, ingredient: str | None = None
                 ) -> list[tuple[str, str]]:
        rng = self.rng
        subject = _title(ingredient) if ingredient else name
        mentions = self.other_names(ingredient or plan.ingredients[0]) \
            if rng.random() < 0.5 else []
        generic = subject
        if mentions:
            generic += f" (also sold or known as {', '.join(_title(m) for m in mentions[:2])})"
        conditions = rng.sample(self.conditions, rng.randint(1, 3))
        others = rng.sample(self.names, 3)
        effects = rng.sample(SIDE_EFFECTS, rng.randint(4, 7))
        dose = rng.choice((1, 2, 5, 10, 20, 25, 40, 50, 100, 250, 500))
        usage = (f"{subject} is used to treat {', '.join(conditions)}. " + self.prose())
        if len(plan.ingredients) > 1 and not ingredient:
            usage = (f"This combination of {', '.join(_title(i) for i in plan.ingredients)} "
                     f"is used to treat {', '.join(conditions)}. " + self.prose())
        return [
            ("Generic Name", generic),
            ("Usage", usage),
            ("Dosage", f"The usual adult dose is {dose} mg {rng.choice(FREQUENCIES)}. "
                       f"For children the dose depends on body weight. " + self.prose()),
            ("Side Effects", "Common side effects include:\n\n"
             + "\n".join(f"* **{e.capitalize()}**" for e in effects) + "\n\n" + self.prose()),
            ("How it Works", f"{subject} works in the body. " + self.prose()),
            ("Precautions", f"Tell your doctor if you are pregnant or breastfeeding. Avoid "
                            f"alcohol. Taking it with {_title(others[0])} or "
                            f"{_title(others[1])} may cause interactions. " + self.prose()),
            ("FAQs", f"* **What should I do if I miss a dose of {subject}?** Take it when "
                     f"you remember. {self.prose(10, 30)}\n"
                     f"* **How should I store {subject}?** At room temperature. "
                     f"{self.prose(10, 30)}\n"
                     f"* **Can I take {subject} with {_title(others[2])}?** Ask your "
                     f"pharmacist. {self.prose(10, 30)}"),
        ]


def render(plan: Planned, writer: Writer) -> str:
    """The markdown of one planned monograph."""
    head = ["---", "layout: minimal-medicine", f"title: {plan.title}", "---", "",
            f"# {plan.title}", ""]
    if plan.layout == "unstructured":
        return "\n".join(head + [writer.prose(), "", writer.prose(), "", DISCLAIMER, ""])
    body: list[str] = []
    if plan.layout == "repeated":
        body += ["### Generic Name", plan.title, ""]
        for ingredient in plan.ingredients:
            label = _title(ingredient)
            body += {"h2": [f"## {label}", ""], "bold": [f"**{label}**", ""],
                     "h3": [f"### {label}", ""], "h4": [f"#### {label}", ""]}[plan.marker]
            for heading, text in writer.sections(plan, plan.title, ingredient)[1:6]:
                body += [f"### {heading}", "", text, ""]
        faqs = writer.sections(plan, plan.title)[6]
        body += [f"### {faqs[0]}", "", faqs[1], ""]
    else:
        for heading, text in writer.sections(plan, plan.title):
            body += _marked(plan.layout, heading, text)
    return "\n".join(head + body + [DISCLAIMER, ""])


def _marked(layout: str, heading: str, text: str) -> list[str]:
    if layout == "h2":
        return [f"## {heading}", "", text, ""]
    if layout == "bold":
        return [f"**{heading}:**", "", text, ""]
    if layout == "bold-inline":
        first, _, rest = text.partition("\n")
        return [f"**{heading}:** {first}", rest, ""]
    if layout == "h3-bold":
        return [f"### **{heading}**", "", text, ""]
    if layout == "h3-value" and heading == "Generic Name":
        return [f"### {heading}: {text}", ""]
    return [f"### {heading}", "", text, ""]


def generate_testbed(out: Path, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED
                     ) -> list[Planned]:
    """Write the test bed into ``out`` (created) and ``out/testbed.json`` describing
    it; returns the plan."""
    raw = read_dictionary_file()
    dictionary = load_dictionary()
    plans = plan_testbed(count, seed, raw, dictionary)
    rng = random.Random(seed + 1)
    writer = Writer(rng, dictionary, [i for p in plans[:400] for i in p.ingredients])
    for plan in plans:
        path = out / plan.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(plan, writer), encoding="utf-8")
    (out / "testbed.json").write_text(json.dumps([asdict(p) for p in plans], indent=0),
                                      encoding="utf-8")
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    plans = generate_testbed(args.out, args.count, args.seed)
    kinds: dict[str, int] = {}
    for plan in plans:
        key = plan.layout if plan.layout != "standard" else plan.kind
        kinds[key] = kinds.get(key, 0) + 1
    print(f"{len(plans)} monographs in {args.out}: "
          + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))


if __name__ == "__main__":
    main()
