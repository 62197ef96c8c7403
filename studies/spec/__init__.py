"""One validated description of a study: :class:`StudySpec`, its YAML form and the presets.

A spec is a frozen tree of pydantic models checked on construction; every problem raises
:class:`SpecError` whose message starts with the dotted path of the field
(``lr.count: must be an integer in [1, 20000], got 0``). :data:`FIELDS` and :data:`SECTIONS`
describe every field (label, help, kind, choices, default) for the dashboard's forms;
:func:`json_schema` is the same description for editors. The name lists and
the model are core's (``core.catalog``); reading a spec never imports torch.
"""

import typing
from typing import Any

from core.catalog import (
    CONVENTIONS,
    DATASETS,
    DECAY_RULES,
    DTYPES,
    MAX_WIDTH,
    MODELS,
    OPTIMIZERS,
    SCHEDULES,
    ModelSpec,
    SpecError,
)
from studies.spec._base import path_of, schema_of
from studies.spec._describe import FIELDS, SECTIONS, FieldInfo, SectionInfo
from studies.spec._io import (
    PRESETS_DIR,
    list_presets,
    load_preset,
    load_spec,
    spec_from_dict,
    spec_from_yaml,
)
from studies.spec._model import (
    MAX_CELLS,
    MAX_EPOCHS,
    MAX_SEED,
    MIN_LR,
    Cell,
    DataSpec,
    Device,
    LogRange,
    LrGrid,
    OverrideSpec,
    ScheduleSpec,
    StudySpec,
    TransferSpec,
    TuneSpec,
    WeightDecayGrid,
    log_grid,
    member_name,
    yaml_text,
)

DEVICES: tuple[str, ...] = typing.get_args(Device)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a study spec file (``python -m studies schema``), for editors.

    It checks each field on its own (types, bounds, choices, unknown keys); the rules across
    fields (mode, grids, overrides, which fields a model or schedule takes) are the spec's.
    """
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema_of(StudySpec)}


__all__ = [
    "CONVENTIONS", "DATASETS", "DECAY_RULES", "DEVICES", "DTYPES", "FIELDS", "MAX_CELLS",
    "MAX_EPOCHS", "MAX_SEED", "MAX_WIDTH", "MIN_LR", "MODELS", "OPTIMIZERS", "PRESETS_DIR",
    "SCHEDULES", "SECTIONS", "Cell", "DataSpec", "FieldInfo", "LogRange", "LrGrid", "ModelSpec",
    "OverrideSpec", "ScheduleSpec", "SectionInfo", "SpecError", "StudySpec", "TransferSpec",
    "TuneSpec", "WeightDecayGrid", "json_schema", "list_presets", "load_preset", "load_spec",
    "log_grid", "member_name", "path_of", "spec_from_dict", "spec_from_yaml", "yaml_text",
]  # fmt: skip
