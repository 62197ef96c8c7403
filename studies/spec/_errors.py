"""The one exception every spec problem raises."""

from __future__ import annotations


class SpecError(ValueError):
    """An invalid study spec: one line, starting with the dotted path of the offending field.

    ``path`` is the field path (``"lr.count"``, ``"schedules[1].t0"``; ``"spec"`` for the
    document as a whole, ``"yaml"`` for a syntax error) and ``reason`` says what is wrong,
    e.g. ``lr.count: must be an integer >= 1, got 0``.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path  # dotted path of the offending field
        self.reason = reason  # what is wrong with it, and what was expected
        super().__init__(f"{path}: {reason}" if path else reason)

    def under(self, prefix: str) -> SpecError:
        """The same error seen from the parent section called ``prefix``."""
        return SpecError(join_path(prefix, self.path), self.reason)


def join_path(prefix: str, name: str) -> str:
    """``join_path("data", "train_size") == "data.train_size"``; list indices attach bare."""
    if not prefix:
        return name
    if not name:
        return prefix
    return f"{prefix}{name}" if name.startswith("[") else f"{prefix}.{name}"
