"""Dashboard entry point: declares the navigation and nothing else (pages live in pages/)."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Decoupled weight decay lab", page_icon="⚖️", layout="wide")

navigation = st.navigation([st.Page("pages/home.py", title="Home", icon="🏠", default=True)])
navigation.run()
