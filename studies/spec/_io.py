"""Reading specs: YAML text and files, plain mappings, and the bundled presets."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from core.catalog import SpecError
from studies.spec._model import StudySpec

PRESETS_DIR: Path = Path(__file__).resolve().parent.parent / "presets"


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads ``1e-3`` as a float and refuses duplicate keys.

    PyYAML follows YAML 1.1, where a float needs a dot (``1.0e-3``) and ``1e-3`` is a string;
    YAML 1.2 and JSON read it as a number, and so does every spec author. A duplicate key
    would silently keep the last value, hiding a typo.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(
    r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def spec_from_yaml(text: str, source: str = "") -> StudySpec:
    """Parse YAML text (safe loading) into a :class:`StudySpec`; ``source`` names it in errors.

    A syntax error, a duplicate key or a document that is not a mapping is a
    :class:`SpecError` too. Unquoted ``1e-3`` is a float; quoted numbers are refused.
    """
    try:
        document = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = (" ".join(str(error).split()) if mark is None
                  else f"line {mark.line + 1}, column {mark.column + 1}: {error.problem}")
        raise SpecError("yaml", f"{source}: {reason}" if source else reason) from None
    return spec_from_dict(document)


def spec_from_dict(data: Mapping[str, Any]) -> StudySpec:
    """Validate a mapping (e.g. ``StudySpec.to_dict()`` or parsed JSON) into a :class:`StudySpec`;
    the first problem raises :class:`SpecError`, naming its dotted field path."""
    return StudySpec.parse(data)


def load_spec(path: str | os.PathLike[str]) -> StudySpec:
    """Read and validate a YAML spec file; an unreadable file is a :class:`SpecError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise SpecError("file", f"cannot read {os.fspath(path)}: {reason}") from None
    return spec_from_yaml(text, os.fspath(path))


def list_presets() -> list[str]:
    """Names of the bundled presets (``studies/presets/NAME.yaml``), sorted."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_preset(name: str) -> StudySpec:
    """The bundled preset ``name``, validated."""
    names = list_presets()
    if name not in names:
        raise SpecError("preset", f"unknown preset {name!r} (available: {', '.join(names)})")
    return load_spec(PRESETS_DIR / f"{name}.yaml")
