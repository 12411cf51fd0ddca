"""Overview: what is in the dataset (placeholder until the Overview page lands)."""

import streamlit as st

context = st.session_state["context"]
st.title(f"Overview of {context.dataset_name}")
