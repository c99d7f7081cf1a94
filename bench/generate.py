"""Deterministic synthetic monographs in the corpus format, for benchmarks and load tests.

Words are drawn from a Zipf distribution over a vocabulary seeded with the bundled
corpus's own words; indications come from the real conditions vocabulary, so the
indexer derives them from each Usage section as it would for a real monograph.
"""

from __future__ import annotations

import argparse
import random
import re
from itertools import accumulate
from pathlib import Path

from search.corpus.vocabulary import default_vocabulary

SECTION_WORDS = (150, 400)  # words per section, like the sample monograph
ZIPF_EXPONENT = 1.07
SYNTHETIC_WORDS = 6000
HEADING_VARIANTS = {
    "Usage": ["Usage", "Uses", "Indications"],
    "Dosage": ["Dosage", "Dosing", "Dose"],
    "Side Effects": ["Side Effects", "Adverse Reactions"],
    "How it Works": ["How it Works", "Mechanism of Action"],
    "Precautions": ["Precautions", "Warnings and Precautions"],
    "FAQs": ["FAQs", "Frequently Asked Questions"],
}
CLASSES = ["JAK inhibitor", "Biguanide", "Statin", "SSRI", "ACE inhibitor", "Beta blocker",
           "NSAID", "Anticoagulant", "Proton pump inhibitor", "Antihistamine",
           "Calcium channel blocker", "Corticosteroid", "Benzodiazepine", "Macrolide",
           "Fluoroquinolone", "Thiazide diuretic"]
SYLLABLES = ["ba", "ri", "ci", "ti", "nib", "mab", "zo", "lo", "pra", "vas", "tor", "me",
             "for", "dex", "ta", "fen", "xa", "qui", "nol", "sar", "tan", "pril", "zep", "am"]
DISCLAIMER = ("**Disclaimer:** This synthetic text is for benchmarking only and is not "
              "medical advice.")


def _seed_words() -> list[str]:
    root = Path(__file__).resolve().parent.parent
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(root.glob("corpus/**/*.md")))
    return sorted({w for w in re.findall(r"[a-z]{3,}", text.lower())})


def _vocabulary(rng: random.Random) -> list[str]:
    """Real words take the frequent ranks, made-up ones the long tail."""
    words = _seed_words()
    rng.shuffle(words)
    known = set(words)
    while len(words) < SYNTHETIC_WORDS:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in known:
            known.add(word)
            words.append(word)
    return words


def generate_corpus(out: Path, count: int, seed: int = 7) -> list[Path]:
    """Write ``count`` monographs into ``out`` (created); returns their paths."""
    rng = random.Random(seed)
    words = _vocabulary(rng)
    weights = list(accumulate(1.0 / (rank ** ZIPF_EXPONENT) for rank in range(1, len(words) + 1)))
    conditions = list(default_vocabulary().conditions.values())
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        name = "".join(rng.choice(SYLLABLES) for _ in range(3)) + f"{number:05d}"
        title = name.capitalize()
        brand = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize() + "ex"
        picked = rng.sample(conditions, rng.randint(1, 3))
        drug_class = rng.choice(CLASSES)

        def prose(low: int = SECTION_WORDS[0], high: int = SECTION_WORDS[1]) -> str:
            chosen = rng.choices(words, cum_weights=weights, k=rng.randint(low, high))
            sentences = [" ".join(chosen[i:i + 12]).capitalize() + "."
                         for i in range(0, len(chosen), 12)]
            return " ".join(sentences)

        def heading(standard: str) -> str:
            variants = HEADING_VARIANTS.get(standard, [standard])
            return variants[0] if rng.random() < 0.85 else rng.choice(variants)

        usage = (f"{title} is used to treat "
                 + ", ".join(c.label.lower() for c in picked) + ". " + prose())
        parts = [
            "---", "layout: minimal-medicine", f"title: {title}", f"brands: [{brand}]",
            f"drug_class: {drug_class}", "---", "", f"# {title}",
            "### Generic Name", title, "",
            f"### {heading('Usage')}", usage, "",
            f"### {heading('Dosage')}", f"The usual dose is {rng.randint(1, 50) * 5} mg. "
            + prose(), "",
            f"### {heading('Side Effects')}", prose(), "",
            f"### {heading('How it Works')}", prose(), "",
            f"### {heading('Precautions')}", prose(), "",
            f"### {heading('FAQs')}", f"* **Can I take {title} with food?** " + prose(60, 150),
            "", DISCLAIMER, "",
        ]
        path = out / f"{name}.md"
        path.write_text("\n".join(parts), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate_corpus(args.out, args.count, args.seed)


if __name__ == "__main__":
    main()
