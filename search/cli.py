"""The ``monosearch`` command: thin shells over the library's functions."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from .errors import BadRequest, CorpusNotFound, IndexLocked, IndexNotBuilt, StorageError
from .whoosh.indexer import ReindexReport, reindex

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again later

PROGRESS_WIDTH = 30


def default_corpus() -> Path:
    return Path(os.environ.get("MONOSEARCH_CORPUS", "corpus"))


def default_index() -> Path:
    return Path(os.environ.get("MONOSEARCH_INDEX", "index"))


def build_argparser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monosearch", description="Search drug monographs.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("reindex", help="bring the index in step with the corpus")
    run.add_argument("--corpus", type=Path, default=None, help="monograph folder (corpus/)")
    run.add_argument("--index", type=Path, default=None, help="index folder (index/)")
    run.add_argument("--full", action="store_true", help="rebuild everything")
    run.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                     help="wait this long for a running reindex instead of exiting 75")
    run.add_argument("--quiet", action="store_true", help="print only problems")
    run.add_argument("--workers", type=int, default=None, metavar="N",
                     help="processes for a batch of 400+ changed files (default: up to 2)")

    find = commands.add_parser("query", help="search the index")
    find.add_argument("text", nargs="?", default="", help="query text (empty: browse)")
    find.add_argument("--drug", action="append", default=[])
    find.add_argument("--indication", action="append", default=[])
    find.add_argument("--section", action="append", default=[])
    find.add_argument("--drug-class", dest="drug_class", action="append", default=[])
    find.add_argument("--group", choices=("none", "drug", "auto"), default=None)
    find.add_argument("--literal", action="store_true", help="no query understanding")
    find.add_argument("--page", default=None)
    find.add_argument("--per-page", dest="per_page", default=None)
    find.add_argument("--index", type=Path, default=None)
    find.add_argument("--json", action="store_true", help="print the JSON API's body")

    lint = commands.add_parser("check", help="lint monographs without touching the index")
    lint.add_argument("corpus", nargs="?", type=Path, default=None, help="folder (corpus/)")
    lint.add_argument("--strict", action="store_true", help="treat warnings as errors")
    lint.add_argument("--format", choices=("text", "json"), default="text")

    importer = commands.add_parser("import-openfda",
                                   help="convert openFDA drug label JSON into monographs")
    importer.add_argument("files", nargs="+", type=Path, metavar="FILE")
    importer.add_argument("--out", type=Path, required=True, help="folder for the monographs")
    importer.add_argument("--force", action="store_true", help="overwrite existing files")

    judge = commands.add_parser("eval", help="relevance metrics on judged queries")
    judge.add_argument("queries", type=Path, metavar="QUERIES.jsonl")
    judge.add_argument("--url", default=None, help="evaluate a running server instead")
    judge.add_argument("--index", type=Path, default=None)
    judge.add_argument("--json", action="store_true", help="print the report as JSON")
    judge.add_argument("--literal", action="store_true",
                       help="search the words as typed (no query understanding), for comparison")

    verify = commands.add_parser("check-index",
                                 help="verify every generation's files against their checksums")
    verify.add_argument("--index", type=Path, default=None)

    typesense = commands.add_parser("typesense-sync",
                                    help="load the corpus into a Typesense collection")
    typesense.add_argument("--url", required=True, help="http://127.0.0.1:8108")
    typesense.add_argument("--api-key", dest="api_key", required=True)
    typesense.add_argument("--corpus", type=Path, default=None, help="monograph folder")
    typesense.add_argument("--collection", default="monographs", help="alias to point")

    serve = commands.add_parser("serve", help="run the web front end")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--index", type=Path, default=None)
    serve.add_argument("--corpus", type=Path, default=None)
    serve.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    serve.add_argument("--dev", action="store_true",
                       help="Flask's development server with its reloader, not gunicorn")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_argparser().parse_args(argv)
    try:
        commands = {"reindex": run_reindex, "query": run_query, "serve": run_serve,
                    "check": run_check, "import-openfda": run_import, "eval": run_eval,
                    "typesense-sync": run_typesense_sync, "check-index": run_check_index}
        return commands[args.command](args)
    except KeyboardInterrupt:
        return 130


def run_reindex(args) -> int:
    corpus = args.corpus or default_corpus()
    index = args.index or default_index()
    progress = _progress_bar if sys.stderr.isatty() and not args.quiet else None
    try:
        report = reindex(corpus, index, full=args.full, wait=args.wait, progress=progress,
                         workers=args.workers)
    except CorpusNotFound as err:
        return _fail(err, EXIT_USAGE)
    except IndexLocked as err:
        return _fail(err, EXIT_LOCKED)
    except StorageError as err:
        return _fail(err, EXIT_REJECTED)
    if progress:
        sys.stderr.write("\r" + " " * (PROGRESS_WIDTH + 30) + "\r")
    for error in report.errors:
        print(f"rejected: {error}", file=sys.stderr)
    if not args.quiet or report.errors:
        print(format_summary(report))
    return EXIT_REJECTED if report.errors else EXIT_OK


def _fail(err: Exception | str, status: int) -> int:
    print(f"monosearch: {err}", file=sys.stderr)
    return status


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


def run_query(args) -> int:
    from .whoosh.backend import WhooshBackend
    from .whoosh.query import SearchRequest

    params = {"q": args.text, "page": args.page, "per_page": args.per_page,
              "group": args.group, "literal": "1" if args.literal else None}
    lists = {"drug": args.drug, "indication": args.indication, "section": args.section,
             "drug_class": args.drug_class}
    try:
        request = SearchRequest.from_params(params.get, lambda name: lists.get(name, []))
        backend = WhooshBackend(args.index or default_index())
        body = backend.search(request)
    except BadRequest as err:
        return _fail(err, EXIT_USAGE)
    except IndexNotBuilt as err:
        return _fail(err, EXIT_REJECTED)
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print(format_results(body))
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
    import html
    return html.unescape(re.sub(r"<(?!/?mark>)[^>]*>", "", snippet))


def run_check(args) -> int:
    from .corpus.check import check_corpus
    from .corpus.vocabulary import default_vocabulary

    corpus = args.corpus or default_corpus()
    if not corpus.is_dir():
        return _fail(f"corpus folder not found: {corpus}", EXIT_USAGE)
    report = check_corpus(corpus, default_vocabulary())
    failed = report.errors > 0 or (args.strict and report.warnings > 0)
    if args.format == "json":
        print(json.dumps({**report.as_dict(), "strict": args.strict, "ok": not failed},
                         ensure_ascii=False, indent=2))
    else:
        for finding in report.findings:
            print(finding)
        print(f"checked {report.files} files: {report.errors} errors, "
              f"{report.warnings} warnings" + (" (strict)" if args.strict else ""))
    return EXIT_REJECTED if failed else EXIT_OK


def run_import(args) -> int:
    from .corpus.openfda import import_files

    written, problems = import_files(args.files, args.out, force=args.force)
    for path in written:
        print(f"wrote {path}")
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    print(f"imported {len(written)} monographs, {len(problems)} skipped")
    return EXIT_REJECTED if problems else EXIT_OK


def run_eval(args) -> int:
    from .evaluation import (
        JudgmentError,
        backend_search,
        evaluate,
        format_report,
        http_search,
        load_judgments,
    )

    try:
        judgments = load_judgments(args.queries)
    except (OSError, JudgmentError) as err:
        return _fail(err, EXIT_USAGE)
    if args.url:
        search = http_search(args.url, args.literal)
    else:
        from .whoosh.backend import WhooshBackend
        backend = WhooshBackend(args.index or default_index())
        try:
            backend.health()  # open the index outside the timings
        except IndexNotBuilt as err:
            return _fail(err, EXIT_REJECTED)
        search = backend_search(backend, args.literal)
    report = evaluate(judgments, search)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return EXIT_OK


def run_typesense_sync(args) -> int:
    from .typesense.client import TypesenseClient, TypesenseError
    from .typesense.sync import sync_typesense

    corpus = args.corpus or default_corpus()
    if not corpus.is_dir():
        return _fail(f"corpus folder not found: {corpus}", EXIT_USAGE)
    client = TypesenseClient(args.url, args.api_key)
    try:
        report = sync_typesense(corpus, client, args.collection)
    except (TypesenseError, IndexNotBuilt) as err:
        return _fail(err, EXIT_USAGE)
    finally:
        client.close()
    for error in report.errors:
        print(f"rejected: {error}", file=sys.stderr)
    print(f"synced {report.monographs} monographs ({report.sections} sections), "
          f"{len(report.errors)} rejected in {report.seconds:.2f} s "
          f"[alias {args.collection} -> {report.collection}]")
    return EXIT_REJECTED if report.errors else EXIT_OK


def run_check_index(args) -> int:
    """One line per generation: intact, or what is damaged; exit 1 when the live one is
    damaged (or there is none), 0 otherwise."""
    from .whoosh import store

    index = args.index or default_index()
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
            print(f"{name}{mark}: not verified: no checksums (built by an older version; "
                  "the next reindex rebuilds it)")
            continue
        if manifest is not None:
            problem = store.damage(index / name, manifest)
        print(f"{name}{mark}: " + ("intact" if problem is None else f"damaged: {problem}"))
        if problem is not None and name == live:
            status = EXIT_REJECTED
    return status


def run_serve(args) -> int:
    from web import create_app

    index = args.index or default_index()
    corpus = args.corpus or default_corpus()
    try:
        from .whoosh import store
        if store.current_generation(index) is None:
            print(f"no index in {index}: building it from {corpus} ...", file=sys.stderr)
            report = reindex(corpus, index, wait=60)
            for error in report.errors:
                print(f"rejected: {error}", file=sys.stderr)
            print(format_summary(report), file=sys.stderr)
    except (CorpusNotFound, IndexLocked, IndexNotBuilt, StorageError) as err:
        return _fail(err, EXIT_USAGE)
    if args.dev:
        app = create_app({"INDEX_DIR": str(index), "CORPUS_DIR": str(corpus)})
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=True)
        return EXIT_OK
    # A production server: gunicorn with the project's settings (web/gunicorn_conf.py);
    # each worker follows index/CURRENT, so a reindex needs no restart.
    os.environ.update({"MONOSEARCH_INDEX": str(index.resolve()),
                       "MONOSEARCH_CORPUS": str(corpus.resolve())})
    command = [sys.executable, "-m", "gunicorn", "--config", "python:web.gunicorn_conf",
               "--bind", f"{args.host}:{args.port}", "--workers", str(max(1, args.workers)),
               "web:create_app()"]
    print(f"serving {index} on http://{args.host}:{args.port} "
          f"({max(1, args.workers)} workers)", file=sys.stderr)
    os.execv(sys.executable, command)
    return EXIT_OK  # not reached: the process is gunicorn now
