"""Home: the paper's claim in a few sentences, with the two update rules."""

from __future__ import annotations

import streamlit as st


def render() -> None:
    st.title("Decoupled weight decay lab")
    st.markdown(
        "Loshchilov & Hutter (ICLR 2019) show that for adaptive optimizers an L2 penalty and "
        "weight decay are **not** the same thing: Adam divides the L2 term by √v̂ like the "
        "rest of the gradient, so weights with a large gradient history are regularized less. "
        "Decoupling the decay from the gradient step (AdamW, SGDW) restores true weight decay "
        "and makes the best weight decay largely independent of the learning rate."
    )
    left, right = st.columns(2)
    with left:
        st.subheader("Adam + L2")
        st.latex(r"g_t \leftarrow \nabla f_t(\theta_{t-1}) + \lambda\,\theta_{t-1}")
        st.latex(
            r"\theta_t = \theta_{t-1} - \eta_t\,\frac{\alpha\,\hat m_t}{\sqrt{\hat v_t}+\epsilon}"
        )
    with right:
        st.subheader("AdamW (decoupled)")
        st.latex(r"g_t \leftarrow \nabla f_t(\theta_{t-1})")
        st.latex(
            r"\theta_t = \theta_{t-1} - \eta_t\Big("
            r"\frac{\alpha\,\hat m_t}{\sqrt{\hat v_t}+\epsilon} + \lambda\,\theta_{t-1}\Big)"
        )
    st.caption("λ is the paper's weight decay: per-step shrink η_t·λ (PyTorch's wd = λ/α).")


render()
