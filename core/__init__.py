"""PyTorch-only core: the paper's optimizers and schedules, models, data and training.

``core`` never imports optuna, streamlit or plotly: it is a small library a researcher can
use in a notebook on its own.
"""
