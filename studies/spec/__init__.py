"""One validated description of a study: :class:`StudySpec`, its YAML form and the presets.

A spec is a frozen tree of dataclasses checked on construction; every problem raises
:class:`SpecError` whose message starts with the dotted path of the field
(``lr.count: must be an integer in [1, 20000], got 0``). :data:`FIELDS` and :data:`SECTIONS`
describe every field (label, help, kind, bounds, default) for the dashboard's forms and the
search spaces. Imports only the standard library and PyYAML.
"""

from studies.spec._errors import SpecError
from studies.spec._fields import FieldInfo, SectionInfo
from studies.spec._io import (
    PRESETS_DIR,
    list_presets,
    load_preset,
    load_spec,
    spec_from_dict,
    spec_from_yaml,
)
from studies.spec._model import (
    CONVENTIONS,
    DATASETS,
    DECAY_RULES,
    DEVICES,
    DTYPES,
    FIELDS,
    MAX_CELLS,
    MAX_SEED,
    MODELS,
    MODES,
    OPTIMIZERS,
    PRUNERS,
    SAMPLERS,
    SCHEDULES,
    SECTIONS,
    Cell,
    DataSpec,
    LogRange,
    LrGrid,
    ModelSpec,
    OverrideSpec,
    ScheduleSpec,
    StudySpec,
    TuneSpec,
    WeightDecayGrid,
    field_info,
    log_grid,
)

__all__ = [
    "CONVENTIONS",
    "DATASETS",
    "DECAY_RULES",
    "DEVICES",
    "DTYPES",
    "FIELDS",
    "MAX_CELLS",
    "MAX_SEED",
    "MODELS",
    "MODES",
    "OPTIMIZERS",
    "PRESETS_DIR",
    "PRUNERS",
    "SAMPLERS",
    "SCHEDULES",
    "SECTIONS",
    "Cell",
    "DataSpec",
    "FieldInfo",
    "LogRange",
    "LrGrid",
    "ModelSpec",
    "OverrideSpec",
    "ScheduleSpec",
    "SectionInfo",
    "SpecError",
    "StudySpec",
    "TuneSpec",
    "WeightDecayGrid",
    "field_info",
    "list_presets",
    "load_preset",
    "load_spec",
    "log_grid",
    "spec_from_dict",
    "spec_from_yaml",
]
