"""Home: the paper's claim with the two update rules, the demo in one click, recent studies."""

from __future__ import annotations

import streamlit as st

from views import _components as ui
from views import _sections as sections


def render() -> None:
    ctx = ui.context()
    st.title("Decoupled weight decay lab")
    st.markdown("**Is an L2 penalty the same as weight decay for Adam?** Train Adam and AdamW side "
                "by side over a grid of learning rates × weight decays, and watch the answer "
                "appear.")
    sections.demo_panel(ctx)
    with st.expander("The paper's claim and the two update rules", icon=":material/function:"):
        _claim()
    sections.recent_studies(ctx)


def _claim() -> None:
    st.markdown("For plain SGD, an L2 penalty and weight decay are the same thing up to a "
                "rescaling. For **adaptive** methods such as Adam they are not: the L2 term λθ is "
                "divided by √v̂ like the rest of the gradient, so weights with a large gradient "
                "history are regularized *less*. Loshchilov & Hutter (*Decoupled Weight Decay "
                "Regularization*, ICLR 2019) decouple the decay from the gradient step (**AdamW**, "
                "**SGDW**): the weights shrink by η_t·λ every step. The good region of the "
                "learning-rate × weight-decay plane then becomes axis-aligned instead of a "
                "diagonal valley, so the best weight decay no longer moves with the learning "
                "rate, and AdamW generalizes better than Adam.")
    left, right = st.columns(2, gap="large")
    with left, st.container(border=True):
        st.markdown("##### Adam + L2 (coupled)")
        st.latex(r"g_t \leftarrow \nabla f_t(\theta_{t-1}) + \lambda\,\theta_{t-1}")
        st.latex(r"m_t,\ v_t \leftarrow \text{moments of } g_t")
        st.latex(r"\theta_t \leftarrow \theta_{t-1} - \eta_t\,"
                 r"\frac{\alpha\,\hat m_t}{\sqrt{\hat v_t}+\epsilon}")
        st.caption("λθ enters m and v, so it is rescaled by 1/√v̂ like the loss gradient.")
    with right, st.container(border=True):
        st.markdown("##### AdamW (decoupled)")
        st.latex(r"g_t \leftarrow \nabla f_t(\theta_{t-1})")
        st.latex(r"m_t,\ v_t \leftarrow \text{moments of } g_t")
        st.latex(r"\theta_t \leftarrow \theta_{t-1} - \eta_t\Big("
                 r"\frac{\alpha\,\hat m_t}{\sqrt{\hat v_t}+\epsilon} + \lambda\,\theta_{t-1}\Big)")
        st.caption("Every weight shrinks by η_t·λ per step, whatever its gradient history.")
    st.caption("λ is the paper's weight decay: the per-step shrink η_t·λ, never scaled by α. "
               "PyTorch's `AdamW(weight_decay=wd)` uses wd = λ/α. Every axis and table here "
               "says which convention it shows.")


ui.guard(render)
