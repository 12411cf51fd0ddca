"""Samples: the image grid (placeholder until the Samples page lands)."""

import streamlit as st

context = st.session_state["context"]
st.title(f"Samples of {context.dataset_name}")
