"""Schedules: η_t of every schedule drawn from the objects training uses, and a calculator
converting a weight decay between the paper's λ, PyTorch's wd and the normalized λ_norm."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from studies import dashboard as dash
from studies.plots import schedule_figure
from studies.spec import SCHEDULES, SpecError
from views import _components as ui
from views import _form as form

PREFIX = "sched:"


def render() -> None:
    st.title("Schedules and weight-decay conventions")
    st.markdown("The learning rate at step t is α·η_t; decoupled weight decay shrinks the "
                "weights by η_t·λ per step (paper convention). η_t advances every batch.")
    c = st.columns([1, 1, 3])
    epochs = c[0].number_input("Epochs", 1, 5000, 100, key="sc_epochs")
    steps = c[1].number_input("Steps per epoch", 1, 10_000, 50, key="sc_steps",
                              help="Batches per epoch: ⌈training points / batch size⌉.")
    names = c[2].multiselect("Schedules", SCHEDULES, default=list(SCHEDULES), key="sc_names")
    series, notes = {}, []
    for col, name in zip(st.columns(max(1, len(names))), names, strict=False):
        with col, st.container(border=True):
            st.markdown(f"**{name}**")
            for item in dash.forms.schedule_items(name):
                form.widget(item, PREFIX)
            params, problems = dash.forms.schedule_params(name, form.form_values(PREFIX))
            try:
                if problems:
                    raise problems[0]
                schedule = dash.schedule_spec(name, params)
                series[name] = dash.eta_series(schedule, epochs=epochs, steps_per_epoch=steps)
                if name == "warm_restarts":
                    at = ", ".join(f"{r:g}" for r in dash.restart_epochs(schedule, epochs)[:12])
                    notes.append(f"warm_restarts restarts at epochs {at or 'none'} within "
                                 f"{epochs} epochs.")
            except (SpecError, ValueError) as error:
                st.error(ui.say(error), icon=":material/error:")
    if series:
        ui.plotly(schedule_figure(series), key="schedules_figure")
    for note in notes:
        st.caption(note)
    st.divider()
    _calculator()


def _calculator() -> None:
    st.subheader("Weight-decay converter")
    st.markdown("One weight decay in the three conventions of the paper (§3): λ = wd·α = "
                "λ_norm·√(b/(B·T)).")
    c = st.columns(6)
    text = c[0].text_input("Weight decay", "0.01", key="wdc_value",
                           help="A number, e.g. 0.01, 1e-4 or 2^-7.")
    convention = c[1].selectbox("given as", list(dash.WD_COLUMN), format_func=dash.WD_COLUMN.get,
                                key="wdc_convention")
    lr_text = c[2].text_input("Learning rate α", "0.001", key="wdc_lr")
    batch = c[3].number_input("Batch size b", 1, 1_000_000, 128, key="wdc_batch")
    train = c[4].number_input("Training points B", 1, 100_000_000, 50_000, key="wdc_train")
    epochs_text = c[5].text_input("Epochs T", "100", key="wdc_epochs",
                                  help="Under warm restarts: the length of the restart period.")
    try:
        value = dash.forms.parse_float(text, "weight decay")
        lr = dash.forms.parse_float(lr_text, "learning rate α")
        epochs = dash.forms.parse_float(epochs_text, "epochs T")
        if None in (value, lr, epochs):
            raise SpecError("converter", "give a weight decay, a learning rate and epochs")
        out = dash.convert(value, convention=convention, lr=lr, batch_size=int(batch),
                           train_size=int(train), epochs=epochs)
    except SpecError as error:
        st.error(ui.say(error), icon=":material/error:")
        return
    st.dataframe(pd.DataFrame({
        "convention": list(dash.WD_COLUMN.values()),
        "value": [f"{out.value(k):.6g}" for k in dash.WD_COLUMN],
        "used by": ["the paper; core.optim (lr=α, weight_decay=λ)",
                    "torch.optim.AdamW(lr=α·η_t, weight_decay=wd), optax, Keras, fastai",
                    "the paper's App. B: the same λ_norm fits any b, B, T"],
    }), hide_index=True, width="stretch")
    st.caption(f"Normalization factor √(b/(B·T)) = {out.factor:.4g}. At η_t = 1 a decoupled "
               f"step shrinks the weights by {out.shrink_per_step:.3g} "
               f"(×{1 - out.shrink_per_step:.6g}); AdamW's EMA timescale τ = 1/(α·wd) = 1/λ = "
               f"{out.timescale_steps:.4g} steps ≈ {out.timescale_epochs:.3g} epochs (Wang & "
               "Aitchison, 2024).")


ui.guard(render)
