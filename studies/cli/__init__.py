"""``python -m studies``: run, worker, list, export, delete (see ``--help`` of each)."""

from __future__ import annotations

from collections.abc import Sequence

from studies.cli._parser import build_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    # Imported after parsing so that --help and usage errors stay fast (no torch, no optuna).
    from studies.cli._commands import run_command

    return run_command(args)


__all__ = ["build_parser", "main"]
