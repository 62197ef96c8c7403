"""Optuna layer: study specs and presets, the runner, storage, CLI, analysis and figures.

Never imports streamlit. Import the submodules you need (``studies.spec`` is light: stdlib
and PyYAML only, so the dashboard can read presets without loading torch or optuna).
"""
