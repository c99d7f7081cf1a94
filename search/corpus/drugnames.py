"""Drug names from a maintained dictionary, linked to monographs when they are indexed.

The dictionary is the PyPI package ``drug-named-entity-recognition`` (MIT): about 107,000
name variants of 20,000 drugs from DrugBank open data, MeSH, MedlinePlus, NHS and
Wikipedia, with some brands flagged. At reindex each monograph's title is split into its
ingredients ("Furosemide + Potassium Chloride"), each stripped of salt, ester, route and
form words ("Metoprolol Succinate", "Beclomethasone (Nasal)"), and every ingredient is
linked to the names the dictionary and our own vocabulary give it: brands (Lasix), US
and international spellings both ways (cephalexin and cefalexin, acetaminophen and
paracetamol), lay names of vaccines ("flu shot"). The links are stored with the
generation (the manifest's ``names``), so a server never loads the dictionary and only
knows the names of drugs its index has.
"""

from __future__ import annotations

import bz2
import json
import os
import pickle
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import metadata, util
from pathlib import Path

from rapidfuzz import fuzz

from .vocabulary import Vocabulary

DICTIONARY_PACKAGE = "drug-named-entity-recognition"
DICTIONARY_MODULE = "drug_named_entity_recognition"
DICTIONARY_FILE = "drug_ner_dictionary.pkl.bz2"
CACHE_PREFIX = "drugnames-"  # compact copy kept in the cache folder, per version
CACHE_ENV = "MONOSEARCH_CACHE_DIR"
MAX_ALIAS_WORDS = 3
MIN_ALIAS_CHARS = 3
INGREDIENT_CACHE = 50_000  # ingredients whose names are kept per process
SIMILAR_NAME_RATIO = 70  # rapidfuzz ratio from which a name is a spelling, not a brand

# Words after a drug's name that name its salt or ester: "rosuvastatin calcium" is what
# readers call rosuvastatin, not rosuvastatin and calcium.
SALT_WORDS = frozenset("""
hydrochloride hcl dihydrochloride hydrobromide hbr sodium potassium calcium magnesium
zinc aluminum lithium disodium dipotassium trisodium besylate besilate maleate malate
mesylate mesilate dimesylate succinate tartrate bitartrate citrate sulfate sulphate
bisulfate phosphate diphosphate acetate diacetate fumarate hemifumarate bromide chloride
iodide hyclate monohydrate dihydrate trihydrate hemihydrate sesquihydrate anhydrous
dipropionate propionate valerate butyrate furoate nitrate mononitrate dinitrate lactate
gluconate carbonate bicarbonate oxide hydroxide pamoate embonate decanoate enanthate
cypionate undecanoate xinafoate tromethamine trometamol meglumine ethylsuccinate
estolate stearate palmitate axetil pivoxil medoxomil cilexetil etexilate mofetil
proxetil alafenamide disoproxil succ tosylate napsylate salicylate benzoate edisylate
teoclate acetonide hexacetonide aceponate pivalate tebutate oxalate lysine arginine
ethanolamine diolamine olamine hippurate mandelate ethyl ethylester esters
""".split())
# Route, form and release words: "Beclomethasone (Nasal)", "Diclofenac Topical Gel".
FORM_WORDS = frozenset("""
oral nasal topical ophthalmic otic rectal vaginal transdermal inhalation inhaled
inhaler injection injectable intravenous iv intramuscular im subcutaneous sc sublingual
buccal intranasal intravitreal intrathecal dermal cutaneous chewable tablet tablets
capsule capsules cream ointment gel lotion solution suspension syrup drops spray patch
patches powder liquid elixir suppository suppositories foam shampoo film lozenge
lozenges granules emulsion implant kit pen prefilled extended delayed release
modified er xr sr cr dr xl la odt ec orally disintegrating immediate ir eye ear
concentrate infusion ophthalmologic dental mouthwash rinse paste wash
""".split())
QUALIFIER_WORDS = SALT_WORDS | FORM_WORDS
# What readers call a route or form, as the title's qualifier words say it: "inhaler"
# asks for "(Oral Inhalation)", "eye drops" for "(Ophthalmic)". A salt is its own group.
QUALIFIER_GROUPS: dict[str, frozenset[str]] = {
    "inhalation": frozenset("inhalation inhaled inhaler inhalers puffer hfa diskus "
                            "respimat nebulizer nebuliser".split()),
    "nasal": frozenset("nasal intranasal nose".split()),
    "topical": frozenset("topical cream creams ointment gel lotion skin dermal cutaneous "
                         "foam shampoo".split()),
    "ophthalmic": frozenset("ophthalmic ophthalmologic eye eyes".split()),
    "otic": frozenset("otic ear ears".split()),
    "injection": frozenset("injection injections injectable intravenous iv intramuscular "
                           "im subcutaneous sc shot shots jab infusion".split()),
    "oral": frozenset("oral tablet tablets capsule capsules pill pills syrup liquid "
                      "elixir chewable".split()),
    "transdermal": frozenset("transdermal patch patches".split()),
    "extended": frozenset("extended er xr xl sr cr la modified".split()),
    "sublingual": frozenset("sublingual buccal tongue".split()),
    "rectal": frozenset("rectal suppository suppositories".split()),
    "vaginal": frozenset("vaginal".split()),
}
_GROUP_OF = {word: group for group, words in QUALIFIER_GROUPS.items() for word in words}
_GROUP_OF.update({"succ": "succinate", "hcl": "hydrochloride", "sulphate": "sulfate",
                  "besilate": "besylate", "mesilate": "mesylate"})


def qualifier_groups(words) -> frozenset[str]:
    """The route and form groups (and salts) that qualifier words name."""
    return frozenset(_GROUP_OF.get(word, word) for word in words
                     if word in _GROUP_OF or word in SALT_WORDS)
# How combination titles join their ingredients. "and" and "with" join only when both
# sides are drugs the dictionary knows ("Diphtheria and Tetanus Toxoids" stays whole).
_PLUS_RE = re.compile(r"\s*(?:\+|/|;)\s*|\s+&\s+")
_JOIN_WORDS_RE = re.compile(r"\s+(?:and|with)\s+|\s*,\s*", re.IGNORECASE)
_COMBINATION_RE = re.compile(r" and |, |/| \+ ")
_WORD_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_SIMPLE_ALIAS_RE = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)*$")


def name_key(text: str) -> str:
    """A name as looked up: lower case, words only ("Beclomethasone (Nasal)" ->
    "beclomethasone nasal")."""
    return " ".join(_WORD_RE.findall(text.lower().replace("’", "'")))


def spelling_key(name: str) -> str:
    """The same key for US and international spellings of one drug name (cephalexin and
    cefalexin, beclomethasone and beclometasone, cholecalciferol and colecalciferol):
    ph -> f, th -> t, ch -> c, y -> i, ae/oe -> e, doubled letters once, no final e."""
    key = name_key(name)
    for old, new in (("ph", "f"), ("th", "t"), ("ch", "c"), ("y", "i"), ("ae", "e"),
                     ("oe", "e")):
        key = key.replace(old, new)
    key = re.sub(r"([a-z])\1+", r"\1", key)
    return re.sub(r"e\b", "", key)


@dataclass(frozen=True)
class Ingredient:
    name: str  # name key without qualifiers: "metoprolol", "potassium chloride"
    qualifiers: tuple[str, ...] = ()  # salt, route and form words: ("succinate",)
    full: str = ""  # name key with them: "metoprolol succinate"


def split_title(title: str, is_drug=None) -> list[Ingredient]:
    """A monograph title as its ingredients. ``is_drug(name)`` (optional) says whether a
    name is a known drug; "A and B" is split only when both sides are."""
    parts = [p for p in _PLUS_RE.split(title) if p.strip()]
    if len(parts) == 1 and is_drug is not None:
        pieces = [p for p in _JOIN_WORDS_RE.split(title) if p.strip()]
        if len(pieces) > 1 and all(is_drug(strip_qualifiers(name_key(p))[0])
                                   for p in pieces):
            parts = pieces
    ingredients = []
    for part in parts:
        base, qualifiers = strip_qualifiers(name_key(part))
        if base:
            ingredients.append(Ingredient(base, qualifiers, name_key(part)))
    return ingredients


def strip_qualifiers(key: str) -> tuple[str, tuple[str, ...]]:
    """(name, qualifiers): salt, route and form words come off the end, and a cation
    off the front ("sodium valproate"), while a word of the name remains; a name made
    only of such words ("potassium chloride") stays whole."""
    words = key.split()
    if all(word in QUALIFIER_WORDS for word in words):
        return key, ()
    qualifiers: list[str] = []
    while len(words) > 1 and words[-1] in QUALIFIER_WORDS:
        qualifiers.insert(0, words.pop())
    while len(words) > 1 and words[0] in SALT_WORDS and words[1] not in QUALIFIER_WORDS:
        qualifiers.insert(0, words.pop(0))
    return " ".join(words), tuple(qualifiers)


class DrugDictionary:
    """Variant name -> canonical drug, and the names each canonical drug goes by."""

    def __init__(self, canonical_of: dict[str, list[str]], brands: Iterable[str],
                 version: str):
        self.version = version
        self._canonical_of = canonical_of
        self._brands = frozenset(brands)

    @cached_property
    def _names_of(self) -> dict[str, list[str]]:
        names: dict[str, list[str]] = {}
        for variant, canonicals in self._canonical_of.items():
            for canonical in canonicals:
                names.setdefault(canonical, []).append(variant)
        return names

    @cached_property
    def _by_spelling(self) -> dict[str, list[str]]:
        """Spelling key -> canonical names: bridges cefalexin and cephalexin, which the
        dictionary keeps as two drugs. Only plain alphabetic names take part."""
        found: dict[str, list[str]] = {}
        for canonical in self._names_of:
            if _SIMPLE_ALIAS_RE.match(canonical):
                found.setdefault(spelling_key(canonical), []).append(canonical)
        return found

    @cached_property
    def _by_words(self) -> dict[str, list[tuple[frozenset[str], str]]]:
        """Multi-word variants by their rarest-looking (longest) word, for titles that
        hold a known name's words in another order or with more words ("Zoster
        Vaccine Recombinant" holds "zoster vaccine")."""
        found: dict[str, list[tuple[frozenset[str], str]]] = {}
        for variant, canonicals in self._canonical_of.items():
            words = variant.split()
            if len(words) < 2 or not _SIMPLE_ALIAS_RE.match(variant):
                continue
            anchor = max(words, key=len)
            for canonical in canonicals:
                found.setdefault(anchor, []).append((frozenset(words), canonical))
        return found

    def knows(self, name: str) -> bool:
        return name_key(name) in self._canonical_of

    def canonicals(self, name: str, loose: bool = True) -> list[str]:
        """The dictionary's drugs for a name: exactly (with their spelling twins), else
        (``loose``) by spelling key, else a multi-word name whose words it holds."""
        key = name_key(name)
        found = list(self._canonical_of.get(key, []))
        for canonical in list(found):
            found += [c for c in self._by_spelling.get(spelling_key(canonical), [])
                      if c not in found]
        if not loose:
            return found
        if not found:
            found = list(self._by_spelling.get(spelling_key(key), []))
        if not found:
            words = set(key.split())
            for word in words:
                for needed, canonical in self._by_words.get(word, []):
                    if needed <= words and canonical not in found:
                        found.append(canonical)
        return found

    def canonical_names(self) -> list[str]:
        return sorted(self._names_of)

    def names(self, canonical: str) -> list[str]:
        return self._names_of.get(canonical, [])

    def is_brand(self, name: str) -> bool:
        return name in self._brands


def empty_dictionary() -> DrugDictionary:
    """No names: titles are still split into ingredients, and our vocabulary's brands
    and international names still linked (for monographs indexed without names)."""
    return DrugDictionary({}, (), "none")


@lru_cache(maxsize=1)
def dictionary_version() -> str:
    """The installed dictionary's version, recorded in each generation's manifest (read
    once a process: the package's metadata is a file lookup, and cannot change under a
    running process that has imported it)."""
    return metadata.version(DICTIONARY_PACKAGE)


def default_cache_dir() -> Path:
    """Where the dictionary's names are kept between runs: MONOSEARCH_CACHE_DIR, else
    the user's cache folder (XDG_CACHE_HOME or ~/.cache) / monosearch."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "monosearch"


def cache_path(cache_dir: Path) -> Path:
    return cache_dir / f"{CACHE_PREFIX}{dictionary_version()}.json"


_LOADED: dict[str, DrugDictionary] = {}  # version -> dictionary, once per process


def load_dictionary(cache_dir: Path | None = None) -> DrugDictionary:
    """The installed dictionary, once per process. Its file is a bz2 pickle whose
    decompression takes ~1.6 s; its names are kept as JSON in ``cache_dir`` (default:
    default_cache_dir()), 0.2 s to load, one file per dictionary version."""
    version = dictionary_version()
    if version in _LOADED:
        return _LOADED[version]
    cache = cache_path(cache_dir or default_cache_dir())
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        loaded = DrugDictionary(data["canonical_of"], data["brands"], version)
    except (OSError, ValueError, KeyError):  # missing or damaged: read the package's file
        raw = read_dictionary_file()
        canonical_of = raw["drug_variant_to_canonical"]
        brands = sorted(name for name, data in raw["drug_variant_to_variant_data"].items()
                        if data.get("is_brand"))
        _write_cache(cache, {"canonical_of": canonical_of, "brands": brands})
        loaded = DrugDictionary(canonical_of, brands, version)
    _LOADED[version] = loaded
    return loaded


def read_dictionary_file() -> dict:
    """The package's own data file, read as the package reads it, found without
    importing the package: its import builds fuzzy-match tables (3 s) and imports
    network helpers (structures, OMOP ids), none of which we use. (importlib.resources
    would import it.)"""
    spec = util.find_spec(DICTIONARY_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{DICTIONARY_PACKAGE} is not installed")
    source = Path(next(iter(spec.submodule_search_locations))) / DICTIONARY_FILE
    return pickle.loads(bz2.decompress(source.read_bytes()))  # noqa: S301 - installed data


def _write_cache(path: Path, data: dict) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # no writable cache folder: the next run reads it again


# -- linking ------------------------------------------------------------------------------
class NameLinker:
    """``names`` entries for monograph titles. The dictionary is loaded on the first
    title that needs it: a title linked before (``known``, from the live generation)
    keeps its names, so an edit that keeps the title costs no dictionary load. Picklable,
    for the indexing workers (each loads the dictionary itself, from ``cache_dir``)."""

    def __init__(self, vocabulary: Vocabulary, known: dict[str, dict] | None = None,
                 cache_dir: Path | None = None):
        self.vocabulary = vocabulary
        self.cache_dir = cache_dir
        self.known = dict(known or {})
        self._dictionary: DrugDictionary | None = None

    def __call__(self, title: str) -> dict:
        if title not in self.known:
            if self._dictionary is None:
                self._dictionary = load_dictionary(self.cache_dir)
            self.known[title] = link_names(title, self._dictionary, self.vocabulary)
        return self.known[title]

    def prepare_cache(self) -> None:
        """Write the dictionary's cache now, before workers that would each decompress
        the package's file (nothing to do when it is there)."""
        if not cache_path(self.cache_dir or default_cache_dir()).exists():
            self._dictionary = self._dictionary or load_dictionary(self.cache_dir)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_dictionary": None}


def is_alias(name: str) -> bool:
    """A name readers could type: letters only, at most three words, no inverted
    "vaccine, flu" or chemical names with digits."""
    return (MIN_ALIAS_CHARS <= len(name) and _SIMPLE_ALIAS_RE.match(name) is not None
            and len(name.split()) <= MAX_ALIAS_WORDS)


def link_names(title: str, dictionary: DrugDictionary, vocabulary: Vocabulary) -> dict:
    """The ``names`` entry of a monograph: its ingredients (as the title names them,
    and as ids shared by every spelling of the drug), qualifiers and aliases.

    ``aliases`` is a list of [name, ingredient index or -1 for the whole product, kind]
    with kind "brand" or "synonym"; our vocabulary's brands, international names and
    lay names come first and win over the dictionary's."""
    ingredients = split_title(title, is_drug=lambda name: bool(dictionary.canonicals(name)))
    aliases: dict[str, tuple[int, str]] = {}

    def add(name: str, part: int, kind: str) -> None:
        key = name_key(name)
        if key and key not in aliases:
            aliases[key] = (part, kind)

    ids = []
    for part, ingredient in enumerate(ingredients):
        ingredient_id, names = _ingredient_names(ingredient, dictionary, vocabulary)
        ids.append(ingredient_id)
        for name, kind in names:
            add(name, part, kind)
    if len(set(ids)) > 1:  # brands of the combination: "Percocet", "Hyzaar"
        for name, kind in _combination_names(dictionary, vocabulary).get(frozenset(ids), ()):
            add(name, -1, kind)
    for name in (ingredient.name for ingredient in ingredients):
        aliases.pop(name, None)  # the ingredient's own name is not an alias of itself
    return {
        "ingredients": [i.name for i in ingredients],
        "ids": ids,
        "qualifiers": sorted({q for i in ingredients for q in i.qualifiers}),
        "aliases": [[name, part, kind] for name, (part, kind) in aliases.items()],
    }


@lru_cache(maxsize=INGREDIENT_CACHE)
def _ingredient_names(ingredient: Ingredient, dictionary: DrugDictionary,
                      vocabulary: Vocabulary) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(id, (name, kind) pairs) of one ingredient, worked out once per process: real
    corpora name paracetamol in hundreds of combinations."""
    equivalents = _equivalent_generics(ingredient, dictionary, vocabulary)
    canonicals = [name for name in equivalents if dictionary.names(name)]
    names: list[tuple[str, str]] = []
    # "flu shot": Influenza Virus Vaccine
    names += [(lay, "synonym") for lay in vocabulary.product_names_for(ingredient.name)]
    for generic in equivalents:
        names += [(brand, "brand") for brand in vocabulary.brands_of(generic)]
        if generic != ingredient.name:
            names.append((generic, "synonym"))
    for canonical in canonicals:
        for name in dictionary.names(canonical):
            if not is_alias(name) or _decorates(name, equivalents):
                continue
            brand = dictionary.is_brand(name) or (
                len(name.split()) == 1 and not _similar_to_any(name, equivalents))
            names.append((name, "brand" if brand else "synonym"))
    return _id_of(ingredient, canonicals), tuple(names)


def compact_names(names: dict) -> tuple[dict, dict[str, list[list[str]]]]:
    """(the entry without its ingredients' aliases, ingredient id -> [alias, kind]
    pairs): what a generation stores once per ingredient (see full_names)."""
    table: dict[str, list[list[str]]] = {}
    for alias, part, kind in names["aliases"]:
        if part >= 0:
            found = table.setdefault(names["ids"][part], [])
            if [alias, kind] not in found:
                found.append([alias, kind])
    whole = [entry for entry in names["aliases"] if entry[1] < 0]
    return {**names, "aliases": whole}, table


def full_names(names: dict, table: dict[str, list]) -> dict:
    """An entry's names with its ingredients' aliases from the generation's table."""
    aliases = list(names["aliases"])
    for part, ingredient in enumerate(names.get("ids", ())):
        aliases += [[alias, part, kind] for alias, kind in table.get(ingredient, ())]
    return {**names, "aliases": aliases}


def _equivalent_generics(ingredient: Ingredient, dictionary: DrugDictionary,
                         vocabulary: Vocabulary) -> list[str]:
    """Generic names that mean the same drug: the name, the dictionary's canonical
    names for it with and without its salt or form ("ferrous sulfate", "metoprolol"),
    their spelling twins, and our vocabulary's international names in both directions
    (cefalexin <-> cephalexin, paracetamol <-> acetaminophen)."""
    found = [ingredient.name]
    full = ingredient.full if ingredient.full != ingredient.name else ""
    for canonical in (dictionary.canonicals(full, loose=False) if full else []) + \
            dictionary.canonicals(ingredient.name):
        if canonical not in found:
            found.append(canonical)
    for generic in list(found):
        for other in vocabulary.equivalent_names(generic):
            if other not in found:
                found.append(other)
                for canonical in dictionary.canonicals(other):
                    if canonical not in found:
                        found.append(canonical)
    return found


def _id_of(ingredient: Ingredient, canonicals: list[str]) -> str:
    """One id for every spelling of a drug, so that "Paracetamol + Caffeine" and
    "Acetaminophen" share the ingredient acetaminophen: the first of its dictionary
    names in sort order, else its own name."""
    return min(canonicals) if canonicals else ingredient.name


def ingredient_ids(text: str, dictionary: DrugDictionary, vocabulary: Vocabulary
                   ) -> frozenset[str]:
    """The ingredient ids of a combination written out ("oxycodone and acetaminophen",
    "abacavir, dolutegravir, and lamivudine")."""
    parts = [p for p in re.split(r"\s*(?:,\s*and\s+|,|\band\b|/|\+)\s*", text) if p.strip()]
    ids = set()
    for part in parts:
        base, qualifiers = strip_qualifiers(name_key(part))
        ingredient = Ingredient(base, qualifiers, name_key(part))
        equivalents = _equivalent_generics(ingredient, dictionary, vocabulary)
        ids.add(_id_of(ingredient, [n for n in equivalents if dictionary.names(n)]))
    return frozenset(ids)


@lru_cache(maxsize=4)
def _combination_names(dictionary: DrugDictionary, vocabulary: Vocabulary
                       ) -> dict[frozenset[str], list[tuple[str, str]]]:
    """Ingredient ids of a combination -> its names: our vocabulary's brands of
    combinations ("Percocet": oxycodone and acetaminophen) first, then the dictionary's
    combination entries and their names. Built once per dictionary and vocabulary."""
    found: dict[frozenset[str], list[tuple[str, str]]] = {}
    ours = [(brand, generic, "brand") for brand, generic in vocabulary.brands.items()]
    ours += [(alias, generic, "synonym") for alias, generic in vocabulary.aliases.items()]
    for name, generic, kind in ours:  # "Percocet", "co-codamol"
        if _COMBINATION_RE.search(generic):
            key = ingredient_ids(generic, dictionary, vocabulary)
            if len(key) > 1:
                found.setdefault(key, []).append((name, kind))
    for canonical in dictionary.canonical_names():
        if not _COMBINATION_RE.search(canonical) or "(" in canonical:
            continue
        key = ingredient_ids(canonical, dictionary, vocabulary)
        if len(key) < 2:
            continue
        for name in dictionary.names(canonical):
            if is_alias(name):
                kind = "synonym" if any(i in name for i in key) else "brand"
                found.setdefault(key, []).append((name, kind))
    return found


def _decorates(name: str, generics: list[str]) -> bool:
    """A variant that is a generic name plus other words ("apo-sertraline", "sertraline
    hydrochloride"): readers' words find it through the generic anyway."""
    words = set(re.split(r"[ \-]", name))
    return any(g in words or (" " in g and g in name) for g in generics if g != name)


def _similar_to_any(name: str, generics: list[str]) -> bool:
    """Spelt much like a generic name (frusemide, fursemide: furosemide)."""
    return any(fuzz.ratio(name, g) >= SIMILAR_NAME_RATIO for g in generics)


