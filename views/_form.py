"""The study form, drawn from the spec's field descriptions (studies.dashboard.forms), and
the launcher around it: preset, form or YAML, inline problems, Launch.

A widget's key is ``"form:"`` + its field's path in the spec, so a problem is shown under the
widget (or block) its path names."""

from __future__ import annotations

from typing import Any

import streamlit as st

from studies import dashboard as dash
from studies.dashboard import forms
from studies.spec import SpecError, list_presets, load_preset, spec_from_yaml
from views import _components as ui

PRESET, SOURCE, YAML, FORM = "run_preset", "run_source", "run_yaml", "form:"
RIGHT = frozenset({"Data and model", "Schedules and training", "Hardware"})  # form column
_AUTO = "_run_auto_description"  # the description last written by _follow_optimizers
_SHADOW = "_run_form_shadow"  # (form values, YAML made from them) when switching to YAML
_NOTE = "_run_switch_note"


def form_values(prefix: str = FORM) -> dict[str, Any]:
    return {k[len(prefix):]: v for k, v in st.session_state.items()
            if isinstance(k, str) and k.startswith(prefix)}


def load_form(values: dict[str, Any]) -> None:
    """Replace the form's values (a preset, a stored study)."""
    for key in form_values():
        del st.session_state[FORM + key]
    st.session_state.update({FORM + key: value for key, value in values.items()})


def widget(item: forms.Item, prefix: str = FORM) -> None:
    """Draw one form item; its value is ``st.session_state[prefix + item.key]``."""
    key, state, w = prefix + item.key, st.session_state, item.widget
    if key not in state or w == "fixed":  # fixed: not drawn, its value is given
        state[key] = item.default
    label, common = item.label + (" *" if item.required else ""), {"key": key, "help": item.help}
    if w in ("text", "float", "floats", "ints"):  # numbers as typed: 2^-10, 1e-3, "1, 2"
        if state[key] is not None and not isinstance(state[key], str):
            state[key] = str(state[key])
        st.text_input(label, placeholder=item.placeholder or None, **common)
    elif w == "textarea":
        st.text_area(label, height=90, **common)
    elif w == "int":
        if state[key] is not None and not isinstance(state[key], int):
            state[key] = None
        st.number_input(label, value=None, step=1, format="%d",
                        placeholder=item.placeholder or None, **common)
    elif w in ("choice", "radio"):
        if state[key] not in item.options:
            state[key] = item.options[0] if item.options else None
        if w == "radio":
            st.radio(label, item.options, horizontal=True, **common)
        else:
            st.selectbox(label, item.options, **common)
    elif w == "multichoice":
        state[key] = [v for v in state[key] or [] if v in item.options]
        st.multiselect(label, item.options, **common)
    elif w == "bool":
        state[key] = bool(state[key])
        st.checkbox(label, **common)
    elif w == "count":
        st.number_input(label, min_value=0, max_value=4, step=1, **common)


def _draw(block: forms.Block, slots: dict[str, Any], depth: int = 0) -> None:
    """Draw a block's members; each leaves an empty slot below it for its problems."""
    if depth:  # groups (depth 0) have their heading already
        st.markdown(f"**{block.title}**", help=block.help or None)
    targets = st.columns(block.columns) if block.columns > 1 else None
    for k, x in enumerate(block.items):
        with targets[k % len(targets)] if targets else st.container():
            if isinstance(x, forms.Block):  # a list item (and what it holds) has a border
                with st.container(border=any(isinstance(p, int) for p in x.at)):
                    _draw(x, slots, depth + 1)
            else:
                widget(x)
            slots[x.key] = st.empty()


def spec_form() -> tuple[Any, list[SpecError]]:
    """Draw the spec form; returns (the validated spec or None, the problems found). Each
    problem is also shown, as a sentence, under the widget or block its path names."""
    values = form_values()
    if (moved := forms.renumber(values)) != values:  # schedules re-picked: fields follow
        load_form(moved)
    slots: dict[str, Any] = {}
    left, right = st.columns(2, gap="large")
    for block in forms.layout(moved):
        with right if block.title in RIGHT else left, st.container(border=True):
            st.markdown(f"#### {block.title}")
            _draw(block, slots)
    spec, problems, _ = dash.read_form(form_values())
    shown_at: dict[str, list[str]] = {}
    for error in problems:
        if (key := forms.nearest_key(error.path, set(slots))) is not None:
            shown_at.setdefault(key, []).append(forms.sentence(error))
    for key, messages in shown_at.items():
        slots[key].error("\n\n".join(messages), icon=":material/error:")
    return spec, problems


def launcher(ctx: ui.Context) -> None:
    """Preset picker, the form (or YAML), and the Launch button. Form and YAML are two views
    of one spec: switching carries every field across (:func:`_switch_source`)."""
    presets = list_presets()
    if PRESET not in st.session_state:
        st.session_state[PRESET] = "demo" if "demo" in presets else presets[0]
        _load_preset()
    top = st.columns([2, 2, 3])
    top[0].selectbox("Start from preset", presets, key=PRESET, on_change=_load_preset,
                     help="Fills the form with a bundled preset (studies/presets/).")
    top[1].radio("Edit as", ["Form", "YAML"], horizontal=True, key=SOURCE,
                 on_change=_switch_source)
    for message in st.session_state.pop(_NOTE, []):
        st.warning(message, icon=":material/sync_problem:")
    if st.session_state[SOURCE] == "Form":
        _follow_optimizers()
        spec, problems = spec_form()
    else:
        spec, problems = _yaml_editor()
    _launch_bar(ctx, spec, problems)


def _preset() -> Any:
    return load_preset(st.session_state[PRESET])


def _load_preset() -> None:
    spec = _preset()
    load_form(forms.values_from_spec(spec))
    st.session_state[_AUTO] = spec.description
    st.session_state[YAML] = spec.to_yaml()


def _follow_optimizers() -> None:
    """Keep the description true to the optimizers chosen: while it is the text the form
    wrote itself (the preset's, or a generated one), it follows them; once edited, it is
    the user's."""
    key, auto = FORM + "description", forms.describe(form_values(), _preset())
    current = st.session_state.get(key)
    if current in (None, "", st.session_state.get(_AUTO)):
        if auto and auto != current:
            st.session_state[key] = auto
        st.session_state[_AUTO] = auto


def _switch_source() -> None:
    """Carry the spec across when "Edit as" changes (a callback: it runs before any widget
    is drawn, while the other view's widget values still exist)."""
    state = st.session_state
    if state[SOURCE] == "YAML":  # the validated spec's YAML, else what could be read
        values = form_values()
        text, problems = dash.form_yaml(values)
        state[YAML], state[_SHADOW] = text, (values, text)
        if problems:
            state[_NOTE] = ["The form has problems, so the YAML shows only what could be "
                            "read: " + " ".join(forms.sentence(p) for p in problems[:3])]
        return
    values, made = state.pop(_SHADOW, (None, None))
    if values is not None and state.get(YAML, "") == made:  # unchanged: the form as it was
        load_form(values)
        return
    try:
        spec = spec_from_yaml(state.get(YAML, ""))
    except SpecError as error:
        state[SOURCE] = "YAML"  # stay: the form cannot show a broken spec
        state[_NOTE] = ["Fix the YAML before switching to the form: " + forms.sentence(error)]
        if values is not None:
            state[_SHADOW] = (values, made)
        return
    load_form(forms.values_from_spec(spec))
    state[_AUTO] = spec.description


def _yaml_editor() -> tuple[object, list[SpecError]]:
    if YAML not in st.session_state:
        st.session_state[YAML] = _preset().to_yaml()
    text = st.text_area("Spec (YAML)", key=YAML, height=420,
                        help="The same format as studies/presets/*.yaml and the CLI's SPEC.")
    spec, problems = dash.read_yaml(text)
    for error in problems:
        st.error(forms.sentence(error), icon=":material/error:")
    return spec, problems


def _launch_bar(ctx: ui.Context, spec: Any, problems: list[SpecError]) -> None:
    if problems:
        st.error(f"{len(problems)} problem(s) to fix before launching: "
                 + " ".join(forms.sentence(p) for p in problems[:3]), icon=":material/error:")
        return
    try:
        ready = dash.launch_summary(ctx.url, spec)
    except SpecError as error:
        st.error(forms.sentence(error), icon=":material/error:")
        return
    st.success(ready, icon=":material/check_circle:")
    if st.button("Launch", type="primary", icon=":material/rocket_launch:", key="launch"):
        with ui.inline_errors():
            status = dash.launch(spec, storage=ctx.url)
            for study in spec.members or (spec,):
                ui.remember_launch(study.name)
            ui.go(ui.RUN, status.record.study)
