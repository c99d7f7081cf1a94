"""The Whoosh adapter: the installed Whoosh has every internal name search/whoosh/ uses,
a missing one stops the import with one error naming it, and no other module of
search/whoosh/ reaches into Whoosh's internals."""

import re
import subprocess
import sys
from importlib import metadata

import pytest
from whoosh.codec import whoosh3

from search.errors import MonosearchError
from search.whoosh import adapter
from tests.conftest import ROOT

HERE = __name__


class StandIn:
    """A class with an attribute set outside __init__, and a private parameter."""

    def __init__(self, _lk=True):
        self.lock = _lk

    def move(self):
        self._ids = [1, 2]


def test_the_installed_whoosh_has_every_name():
    assert adapter.installed_version() == adapter.REQUIRED_VERSION
    assert adapter.find_missing() == []
    adapter.check()


@pytest.mark.parametrize(("required", "missing"), [
    ([f"{HERE}:StandIn()._ids", f"{HERE}:StandIn(_lk)", f"{HERE}:StandIn.move"], []),
    ([f"{HERE}:StandIn()._weights"], [f"{HERE}.StandIn()._weights"]),
    ([f"{HERE}:StandIn(_lock)"], [f"{HERE}.StandIn(_lock)"]),
    ([f"{HERE}:StandIn._read_ids"], [f"{HERE}.StandIn._read_ids"]),
    # an absent class is named once, not once per member
    ([f"{HERE}:Gone", f"{HERE}:Gone._read", f"{HERE}:Gone()._ids"], [f"{HERE}.Gone"]),
    (["whoosh.no_such_module:Name"], ["whoosh.no_such_module"]),
])
def test_find_missing_names_what_is_absent(required, missing):
    assert adapter.find_missing(required) == missing


def test_one_error_names_every_missing_name_and_the_required_version(monkeypatch):
    monkeypatch.delattr(whoosh3.W3LeafMatcher, "_read_ids")
    monkeypatch.delattr(whoosh3, "_lenfield")
    with pytest.raises(adapter.WhooshIncompatible) as caught:
        adapter.check()
    assert str(caught.value) == (
        "search.whoosh needs whoosh-reloaded 2.7.5 (installed: 2.7.5); these Whoosh "
        "internals it uses are missing: whoosh.codec.whoosh3.W3LeafMatcher._read_ids, "
        "whoosh.codec.whoosh3._lenfield. Install whoosh-reloaded==2.7.5, or port "
        "search/whoosh/adapter.py to the new version.")
    assert isinstance(caught.value, MonosearchError)
    assert isinstance(caught.value, ImportError)


def test_the_error_says_when_whoosh_reloaded_is_not_installed(monkeypatch):
    def not_found(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(adapter.metadata, "version", not_found)
    with pytest.raises(adapter.WhooshIncompatible, match=r"\(installed: not installed\)"):
        adapter.check([f"{HERE}:StandIn()._weights"])


def test_a_missing_name_stops_the_import_of_search_whoosh():
    code = ("from whoosh.codec import whoosh3\n"
            "del whoosh3.W3LeafMatcher._next_block\n"
            "import search.whoosh.backend\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1] == (
        "search.whoosh.adapter.WhooshIncompatible: search.whoosh needs whoosh-reloaded "
        "2.7.5 (installed: 2.7.5); these Whoosh internals it uses are missing: "
        "whoosh.codec.whoosh3.W3LeafMatcher._next_block. Install "
        "whoosh-reloaded==2.7.5, or port search/whoosh/adapter.py to the new version.")


def test_only_the_adapter_reaches_into_whoosh():
    private = "|".join(sorted({name for spec in adapter.REQUIRED_NAMES
                               for name in re.findall(r"\w+", spec.partition(":")[2])
                               if name.startswith("_")}))
    internals = re.compile(
        rf"(?<!self)\.(?:{private})\b"  # a private attribute of a Whoosh object
        rf"|\b(?:{private})=(?!=)"  # a private keyword argument (_lk=False)
        rf"|[\"'](?:{private})[\"']"  # getattr(leaf, "_perdoc")
        r"|whoosh\.codec|\bSegmentWriter\b|(?<!adapter\.)\bW3[A-Z]\w+")
    found = [f"{path.name}:{number}: {line.strip()}"
             for path in sorted((ROOT / "search" / "whoosh").glob("*.py"))
             if path.name != "adapter.py"
             for number, line in enumerate(path.read_text().splitlines(), start=1)
             if internals.search(line)]
    assert found == []
