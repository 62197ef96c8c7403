"""The argument parser of ``python -m studies``: one line on stderr and status 2 for bad input."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from studies.spec import DEVICES

EXIT_USAGE = 2
# Worker processes one `run` starts on this machine. More would only share the same cores and
# memory (and an absurd number forks the machine to a halt); more machines join with `worker`.
MAX_WORKERS = 64


class UsageError(Exception):
    """Invalid input found after parsing (a missing --yes, an unknown spec); exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (``error: ...``) and never the usage block."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see: {self.prog} --help)\n")
        raise SystemExit(EXIT_USAGE)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _workers(text: str) -> int:
    value = _positive(text)
    if value > MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 1 to {MAX_WORKERS}, got {text!r} (more workers share the "
            "same cores; start 'worker' on other machines instead)"
        )
    return value


def _url(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "must not be empty: give a storage URL, or leave --storage out to use "
            "$WDLAB_STORAGE or the default SQLite file"
        )
    return text.strip()


def _storage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage", type=_url, metavar="URL",
        help="Optuna storage: sqlite:///PATH.db, postgresql://USER:PASSWORD@HOST/DB or "
        "journal:///ABS/PATH.log (default: $WDLAB_STORAGE, else "
        "sqlite:///$WDLAB_HOME/studies.db with WDLAB_HOME defaulting to ~/.local/share/wdlab)")


def _work_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", choices=DEVICES,
        help="where to train (default: the spec's device; auto picks CUDA, then MPS, then CPU)")
    parser.add_argument(
        "--data-dir", metavar="DIR",
        help="where data sets are read from and downloaded to (default: $WDLAB_DATA_DIR, "
        "else ~/.cache/wdlab/data)")
    parser.add_argument(
        "--max-members", type=_positive, metavar="K",
        help="most cells trained together as one population (default 128; memory limits "
        "are respected anyway). Smaller populations share a study between more workers.")
    parser.add_argument(
        "--log", metavar="FILE",
        help="append log lines to FILE instead of stderr (one line per finished population, "
        "with 'cells DONE/TOTAL done')")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (one is drawn on stderr when it is a terminal)")


def build_parser() -> Parser:
    parser = Parser(
        prog="python -m studies",
        description="Run and manage learning-rate x weight-decay studies of SGD, SGDW, Adam "
        "and AdamW (Loshchilov & Hutter, Decoupled Weight Decay Regularization).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

    run = commands.add_parser(
        "run", help="create (or resume) a study from a spec and work it to the end",
        description="Create the study of SPEC (a YAML file or the name of a preset in "
        "studies/presets), or resume it if it exists with the same spec, then train its "
        "cells. Ctrl-C stops after the current epoch; finished cells are kept and running "
        "the same command again continues. A spec with a transfer section runs its family's "
        "studies (NAME-x0.25, ...) one after another.")
    run.add_argument("spec", metavar="SPEC", help="a spec YAML file, or a preset name (e.g. demo)")
    _storage(run)
    run.add_argument("--study", metavar="NAME", help="study name (default: the spec's name)")
    run.add_argument(
        "--workers", type=_workers, default=1, metavar="N",
        help=f"worker processes on this machine, 1 to {MAX_WORKERS} (N-1 extra 'worker' "
        "subprocesses that stop when this process ends; default 1, and never more than "
        "the cells waiting)")
    _work_options(run)

    worker = commands.add_parser(
        "worker", help="join an existing study (from any machine) and train its waiting cells",
        description="Train waiting cells of an existing study until none is left. Start as "
        "many as you like, on any machines that reach the storage (PostgreSQL for several "
        "machines); each cell is trained exactly once. Several workers on one machine: "
        "give each its share of the cores, e.g. OMP_NUM_THREADS=4 for 4 workers on 16.")
    _storage(worker)
    worker.add_argument("--study", metavar="NAME", required=True, help="study name")
    _work_options(worker)
    worker.add_argument(
        "--stop-when-stdin-closes", action="store_true",
        help="stop after the current epoch when standard input reaches its end ('run "
        "--workers' starts its workers so, so that none outlives it)")

    _storage(commands.add_parser("list", help="list the studies in a storage",
                                 description="List studies and progress."))

    export = commands.add_parser(
        "export", help="export a study's trials as CSV or JSON",
        description="One row per trial: study, trial, state, optimizer, schedule, lr, seed, "
        "weight_decay and its convention, the weight decay in all three conventions, "
        "diverged, final and best test error, final train loss, duration, ...")
    export.add_argument("--study", metavar="NAME", required=True, help="study name")
    _storage(export)
    export.add_argument("--format", choices=("csv", "json"), required=True, help="output format")
    export.add_argument("--out", metavar="FILE", help="write to FILE (default: stdout)")

    delete = commands.add_parser(
        "delete", help="delete a study and all its trials",
        description="Delete a study and all its trials (refused without --yes).")
    delete.add_argument("--study", metavar="NAME", required=True, help="study name")
    _storage(delete)
    delete.add_argument("--yes", action="store_true", help="really delete it")

    commands.add_parser(
        "schema", help="print the JSON Schema of a spec file",
        description="Print the JSON Schema of a study spec (YAML) file, for editors that "
        "validate and complete YAML against a schema.")
    return parser
