"""The ``monosearch`` command (click): each command parses its options, calls the
library's functions and prints. ``main(argv)`` returns the exit status, so tests can run a
command line in-process. Heavy modules are imported inside the commands, and ``web`` is
never imported: the servers are separate processes that import it themselves."""

from __future__ import annotations

import html
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import click

from .backend import BACKENDS, BackendSettings, open_backend
from .errors import (
    BadRequest,
    CorpusNotFound,
    IndexLocked,
    IndexNotBuilt,
    MonosearchError,
    StorageError,
)

if TYPE_CHECKING:
    from .whoosh.indexer import ReindexReport

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2  # also click's own usage errors
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again later
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C

PROGRESS_WIDTH = 30
WEB_APP = "web:create_app()"  # what gunicorn and `flask run` load, in their own process

PATH = click.Path(path_type=Path)  # no existence checks: the library names a missing folder
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Options shared by several commands; each application makes a new click.Option.
index_option = click.option("--index", type=PATH, default="index", envvar="MONOSEARCH_INDEX",
                            show_envvar=True, show_default=True, metavar="DIR",
                            help="index folder")
corpus_option = click.option("--corpus", type=PATH, default="corpus",
                             envvar="MONOSEARCH_CORPUS", show_envvar=True, show_default=True,
                             metavar="DIR", help="monograph folder")
BACKEND_OPTIONS = (
    click.option("--backend", type=click.Choice(BACKENDS), default=BackendSettings.backend,
                 envvar="MONOSEARCH_BACKEND", show_envvar=True, show_default=True,
                 help="search engine"),
    click.option("--typesense-nodes", "--typesense-url", "typesense_url",
                 default=BackendSettings.typesense_url, metavar="URLS",
                 envvar=["MONOSEARCH_TYPESENSE_NODES", "MONOSEARCH_TYPESENSE_URL"],
                 show_envvar=True, show_default=True,
                 help="one node, or a cluster's nodes: http://h1:8108,http://h2:8108,..."),
    # No default shown: the help must never print a key taken from the environment.
    click.option("--typesense-key", default="", metavar="KEY", envvar="MONOSEARCH_TYPESENSE_KEY",
                 show_envvar=True, help="Typesense API key (the variable keeps it out of ps)"),
    click.option("--typesense-collection", default=BackendSettings.typesense_collection,
                 metavar="NAME", envvar="MONOSEARCH_TYPESENSE_COLLECTION", show_envvar=True,
                 show_default=True, help="Typesense alias (or collection) to search"),
)


def backend_options(command: Callable) -> Callable:
    """Add --backend and the Typesense connection options to a command."""
    for option in reversed(BACKEND_OPTIONS):
        command = option(command)
    return command


def build_settings(index: Path, backend: str, typesense_url: str, typesense_key: str,
                   typesense_collection: str) -> BackendSettings:
    return BackendSettings.from_env(backend=backend, index_dir=index,
                                    typesense_url=typesense_url, typesense_key=typesense_key,
                                    typesense_collection=typesense_collection)


@click.group(context_settings=CONTEXT)
def cli() -> None:
    """Search drug monographs."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line (default: sys.argv[1:]) and return its exit status."""
    try:
        return cli.main(args=None if argv is None else list(argv), prog_name="monosearch",
                        standalone_mode=False)
    except click.ClickException as err:  # usage errors: usage line and problem, exit 2
        err.show()
        return err.exit_code
    except click.Abort:  # Ctrl-C: click has ended the terminal's ^C line
        return EXIT_INTERRUPTED


def parse_options(argv: Sequence[str]) -> SimpleNamespace:
    """The options a command line gives its command, without running it."""
    name, *rest = argv
    command = cli.commands[name]
    with command.make_context(name, list(rest)) as ctx:
        return SimpleNamespace(command=name, **ctx.params)


def build_argparser() -> SimpleNamespace:
    """``build_argparser().parse_args(argv)``: the spelling from before the move to click,
    kept for callers (tests/test_cli.py) that inspect parsed options."""
    return SimpleNamespace(parse_args=parse_options)


def _fail(err: Exception | str, status: int) -> int:
    click.echo(f"monosearch: {err}", err=True)
    return status


# -- reindex ------------------------------------------------------------------------------
@cli.command("reindex")
@corpus_option
@index_option
@click.option("--full", is_flag=True, help="rebuild everything")
@click.option("--wait", type=float, default=0.0, metavar="SECONDS",
              help="wait this long for a running reindex instead of exiting 75")
@click.option("--quiet", is_flag=True, help="print only problems")
@click.option("--workers", type=int, default=None, metavar="N",
              help="processes for a batch of 400+ changed files (default: up to 2)")
def run_reindex(corpus: Path, index: Path, full: bool, wait: float, quiet: bool,
                workers: int | None) -> int:
    """Bring the index in step with the corpus."""
    from .whoosh.indexer import reindex

    # click.progressbar would leave the finished bar on screen (and print its label
    # when stderr is not a terminal); this one draws only on a terminal and erases itself.
    progress = _progress_bar if sys.stderr.isatty() and not quiet else None
    try:
        report = reindex(corpus, index, full=full, wait=wait, progress=progress,
                         workers=workers)
    except CorpusNotFound as err:
        return _fail(err, EXIT_USAGE)
    except IndexLocked as err:
        return _fail(err, EXIT_LOCKED)
    except StorageError as err:
        return _fail(err, EXIT_REJECTED)
    if progress:
        sys.stderr.write("\r" + " " * (PROGRESS_WIDTH + 30) + "\r")
    for error in report.errors:
        click.echo(f"rejected: {error}", err=True)
    if not quiet or report.errors:
        click.echo(format_summary(report))
    return EXIT_REJECTED if report.errors else EXIT_OK


def format_summary(report: ReindexReport) -> str:
    kind = "full" if report.full else "incremental"
    return (f"indexed {report.monographs} monographs ({report.sections} sections), "
            f"{len(report.errors)} rejected in {report.seconds:.2f} s [{kind}: "
            f"{report.added} added, {report.changed} changed, {report.deleted} deleted, "
            f"{report.unchanged} unchanged; generation {report.generation}]")


def _progress_bar(done: int, total: int) -> None:
    filled = PROGRESS_WIDTH * done // max(total, 1)
    bar = "#" * filled + "-" * (PROGRESS_WIDTH - filled)
    sys.stderr.write(f"\rparsing [{bar}] {done}/{total}")
    sys.stderr.flush()


# -- query --------------------------------------------------------------------------------
@cli.command("query")
@click.argument("text", default="")
@click.option("--drug", multiple=True, metavar="D")
@click.option("--indication", multiple=True, metavar="I")
@click.option("--section", multiple=True, metavar="S")
@click.option("--drug-class", multiple=True, metavar="C")
@click.option("--group", type=click.Choice(("none", "drug", "auto")), default=None)
@click.option("--literal", is_flag=True, help="no query understanding")
@click.option("--page", default=None, metavar="N")  # a string: SearchRequest validates it
@click.option("--per-page", default=None, metavar="N")
@index_option
@click.option("--json", "as_json", is_flag=True, help="print the JSON API's body")
@backend_options
def run_query(text: str, drug: tuple[str, ...], indication: tuple[str, ...],
              section: tuple[str, ...], drug_class: tuple[str, ...], group: str | None,
              literal: bool, page: str | None, per_page: str | None, index: Path,
              as_json: bool, **backend: str) -> int:
    """Search the index (empty TEXT: browse)."""
    from .request import SearchRequest

    params = {"q": text, "page": page, "per_page": per_page, "group": group,
              "literal": "1" if literal else None}
    lists = {"drug": list(drug), "indication": list(indication), "section": list(section),
             "drug_class": list(drug_class)}
    try:
        request = SearchRequest.from_params(params.get, lambda name: lists.get(name, []))
        with closing(open_backend(build_settings(index, **backend))) as engine:
            body = engine.search(request)
    except (BadRequest, ValueError) as err:  # ValueError: a malformed node list
        return _fail(err, EXIT_USAGE)
    except MonosearchError as err:  # no index; Typesense unreachable or refusing
        return _fail(err, EXIT_REJECTED)
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        click.echo(format_results(body))
    return EXIT_OK


def format_results(body: dict) -> str:
    lines = [f"{body['total']} sections match {body['query']!r} "
             f"(page {body['page']}, {body['took_ms']} ms)"]
    if body["corrected"]:
        lines.append(f"did you mean: {body['corrected']}")
    first = (body["page"] - 1) * body["per_page"]
    for number, hit in enumerate(body["results"], start=first + 1):
        snippet = re.sub(r"</?mark>", "*", body_text(hit["snippet"]))
        lines.append(f"{number:3}. {hit['drug_name']} - {hit['heading']}  ({hit['id']})")
        lines.append(f"     {' '.join(snippet.split())}")
    for name, buckets in body["facets"].items():
        shown = ", ".join(f"{b['label']} ({b['count']})" for b in buckets[:8])
        lines.append(f"{name}: {shown}")
    lines.append(body["disclaimer"])
    return "\n".join(lines)


def body_text(snippet: str) -> str:
    return html.unescape(re.sub(r"<(?!/?mark>)[^>]*>", "", snippet))


# -- check, import-openfda ------------------------------------------------------------------
@cli.command("check")
@click.argument("corpus", type=PATH, default="corpus", envvar="MONOSEARCH_CORPUS",
                metavar="[DIR]")
@click.option("--strict", is_flag=True, help="treat warnings as errors")
@click.option("--format", "output", type=click.Choice(("text", "json")), default="text",
              show_default=True)
def run_check(corpus: Path, strict: bool, output: str) -> int:
    """Lint monographs without touching the index.

    DIR: the corpus folder ($MONOSEARCH_CORPUS, else corpus/)."""
    from .corpus.check import check_corpus
    from .corpus.vocabulary import default_vocabulary

    if not corpus.is_dir():
        return _fail(f"corpus folder not found: {corpus}", EXIT_USAGE)
    report = check_corpus(corpus, default_vocabulary())
    failed = report.errors > 0 or (strict and report.warnings > 0)
    if output == "json":
        click.echo(json.dumps({**report.as_dict(), "strict": strict, "ok": not failed},
                              ensure_ascii=False, indent=2))
    else:
        for finding in report.findings:
            click.echo(str(finding))
        click.echo(f"checked {report.files} files: {report.errors} errors, "
                   f"{report.warnings} warnings" + (" (strict)" if strict else ""))
    return EXIT_REJECTED if failed else EXIT_OK


@cli.command("import-openfda")
@click.argument("files", nargs=-1, required=True, type=PATH, metavar="FILE...")
@click.option("--out", type=PATH, required=True, metavar="DIR", help="folder for the monographs")
@click.option("--force", is_flag=True, help="overwrite existing files")
def run_import(files: tuple[Path, ...], out: Path, force: bool) -> int:
    """Convert openFDA drug label JSON into monographs."""
    from .corpus.openfda import import_files

    written, problems = import_files(list(files), out, force=force)
    for path in written:
        click.echo(f"wrote {path}")
    for problem in problems:
        click.echo(f"skipped: {problem}", err=True)
    click.echo(f"imported {len(written)} monographs, {len(problems)} skipped")
    return EXIT_REJECTED if problems else EXIT_OK


# -- eval ---------------------------------------------------------------------------------
@cli.command("eval")
@click.argument("queries", type=PATH, metavar="QUERIES.jsonl")
@click.option("--url", default=None, metavar="URL", help="evaluate a running server instead")
@index_option
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--literal", is_flag=True,
              help="search the words as typed (no query understanding), for comparison")
@backend_options
def run_eval(queries: Path, url: str | None, index: Path, as_json: bool, literal: bool,
             **backend: str) -> int:
    """Relevance metrics on judged queries."""
    from .evaluation import (
        JudgmentError,
        backend_search,
        evaluate,
        format_report,
        http_search,
        load_judgments,
    )

    try:
        judgments = load_judgments(queries)
    except (OSError, JudgmentError) as err:
        return _fail(err, EXIT_USAGE)
    if url:
        report = evaluate(judgments, http_search(url, literal))
    else:
        try:
            engine = open_backend(build_settings(index, **backend))
        except ValueError as err:  # a malformed node list
            return _fail(err, EXIT_USAGE)
        with closing(engine):
            try:
                engine.health()  # open the index (or reach Typesense) outside the timings
            except MonosearchError as err:
                return _fail(err, EXIT_REJECTED)
            report = evaluate(judgments, backend_search(engine, literal))
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))
    return EXIT_OK


# -- check-index, typesense-sync ------------------------------------------------------------
@cli.command("check-index")
@index_option
def run_check_index(index: Path) -> int:
    """Verify every generation's files against their checksums.

    One line per generation: intact, or what is damaged; exit 1 when the live one is
    damaged (or there is none), 0 otherwise."""
    from .whoosh import store

    try:
        live = store.current_generation(index)
    except IndexNotBuilt as err:
        return _fail(err, EXIT_REJECTED)
    generations = store.list_generations(index)
    if live is None or live not in generations:
        return _fail(f"no live generation in {index}", EXIT_REJECTED)
    status = EXIT_OK
    for name in generations:
        mark = " (live)" if name == live else ""
        try:
            manifest = store.read_manifest(index / name)
        except IndexNotBuilt as err:
            manifest, problem = None, str(err)
        if manifest is not None and store.unverified(manifest):
            click.echo(f"{name}{mark}: not verified: no checksums (built by an older version; "
                       "the next reindex rebuilds it)")
            continue
        if manifest is not None:
            problem = store.damage(index / name, manifest)
        click.echo(f"{name}{mark}: " + ("intact" if problem is None else f"damaged: {problem}"))
        if problem is not None and name == live:
            status = EXIT_REJECTED
    return status


@cli.command("typesense-sync")
@click.option("--url", "--nodes", "url", required=True, metavar="URLS",
              help="a node, or a cluster's nodes: http://h1:8108,http://h2:8108,...")
@click.option("--api-key", required=True, metavar="KEY")
@corpus_option
@click.option("--collection", default="monographs", show_default=True, metavar="NAME",
              help="alias to point")
def run_typesense_sync(url: str, api_key: str, corpus: Path, collection: str) -> int:
    """Load the corpus into a Typesense collection."""
    from .typesense.client import TypesenseClient, TypesenseError
    from .typesense.sync import sync_typesense

    if not corpus.is_dir():
        return _fail(f"corpus folder not found: {corpus}", EXIT_USAGE)
    try:
        client = TypesenseClient(url, api_key)
    except ValueError as err:
        return _fail(err, EXIT_USAGE)
    try:
        report = sync_typesense(corpus, client, collection)
    except (TypesenseError, IndexNotBuilt) as err:
        return _fail(err, EXIT_USAGE)
    finally:
        client.close()
    for error in report.errors:
        click.echo(f"rejected: {error}", err=True)
    click.echo(f"synced {report.monographs} monographs ({report.sections} sections), "
               f"{len(report.errors)} rejected in {report.seconds:.2f} s "
               f"[alias {collection} -> {report.collection}]")
    return EXIT_REJECTED if report.errors else EXIT_OK


# -- serve --------------------------------------------------------------------------------
@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADDRESS",
              help="address to bind")
@click.option("--port", type=int, default=8000, show_default=True, metavar="PORT")
@index_option
@corpus_option
@click.option("--workers", type=int, default=2, show_default=True, metavar="N",
              help="gunicorn workers")
@click.option("--dev", is_flag=True,
              help="Flask's development server with its reloader, not gunicorn")
@backend_options
def run_serve(host: str, port: int, index: Path, corpus: Path, workers: int, dev: bool,
              **backend: str) -> int:
    """Run the web front end (gunicorn; --dev: Flask's server)."""
    if backend["backend"] == "whoosh":  # a Typesense server needs no local index
        status = build_missing_index(index, corpus)
        if status != EXIT_OK:
            return status
    else:
        from .typesense.client import parse_nodes
        try:
            parse_nodes(backend["typesense_url"])  # refused here, not in every worker
        except ValueError as err:
            return _fail(err, EXIT_USAGE)
    # The server process reads its configuration from the environment (web.create_app).
    os.environ.update(serve_environment(index, corpus, **backend))
    command = serve_command(host, port, workers, dev)
    if not dev:
        click.echo(f"serving {index} on http://{host}:{port} ({max(1, workers)} workers)",
                   err=True)
    os.execv(sys.executable, command)
    return EXIT_OK  # reached only when a test replaces os.execv


def build_missing_index(index: Path, corpus: Path) -> int:
    """Build the index when there is none, or when it was built by another schema version
    (which no server of this version opens), so `serve` answers searches."""
    from .whoosh import store
    from .whoosh.indexer import reindex
    from .whoosh.schema import SCHEMA_VERSION

    try:
        live = store.current_generation(index)
        why = "no index" if live is None else None
        if live is not None and _schema_version(index / live) not in (SCHEMA_VERSION, None):
            why = "an index built by another version"
        if why:
            click.echo(f"{why} in {index}: building it from {corpus} ...", err=True)
            report = reindex(corpus, index, wait=60)
            for error in report.errors:
                click.echo(f"rejected: {error}", err=True)
            click.echo(format_summary(report), err=True)
    except (CorpusNotFound, IndexLocked, IndexNotBuilt, StorageError) as err:
        return _fail(err, EXIT_USAGE)
    return EXIT_OK


def _schema_version(generation: Path) -> int | None:
    """The schema version a generation was built with; None when its manifest cannot be
    read (the server reports damage itself, and serves an intact older generation)."""
    from .whoosh import store

    try:
        return store.read_manifest(generation).get("schema_version")
    except IndexNotBuilt:
        return None


def serve_environment(index: Path, corpus: Path, backend: str, typesense_url: str,
                      typesense_key: str, typesense_collection: str) -> dict[str, str]:
    """The MONOSEARCH_* variables web.create_app reads, with absolute folders."""
    return {"MONOSEARCH_INDEX": str(index.resolve()),
            "MONOSEARCH_CORPUS": str(corpus.resolve()),
            "MONOSEARCH_BACKEND": backend,
            "MONOSEARCH_TYPESENSE_URL": typesense_url,
            "MONOSEARCH_TYPESENSE_NODES": typesense_url,
            "MONOSEARCH_TYPESENSE_KEY": typesense_key,
            "MONOSEARCH_TYPESENSE_COLLECTION": typesense_collection}


def serve_command(host: str, port: int, workers: int, dev: bool) -> list[str]:
    """The server's command line: Flask's CLI with its reloader (--dev), else gunicorn with
    the project's settings (web/gunicorn_conf.py). Each gunicorn worker follows
    index/CURRENT, so a reindex needs no restart."""
    if dev:
        return [sys.executable, "-m", "flask", "--app", WEB_APP, "run", "--host", host,
                "--port", str(port), "--reload", "--with-threads"]
    return [sys.executable, "-m", "gunicorn", "--config", "python:web.gunicorn_conf",
            "--bind", f"{host}:{port}", "--workers", str(max(1, workers)), WEB_APP]
