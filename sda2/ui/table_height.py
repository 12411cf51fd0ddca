"""The pixel height of a Streamlit table that shows its rows without empty space below them."""

HEADER_PX = 38  # the header row and borders of st.dataframe
ROW_PX = 35  # one row of st.dataframe at the default font size


def table_height(rows: int, most: int) -> int:
    """Height in pixels for a table of ``rows`` rows: all of them, at most ``most`` pixels (it scrolls beyond)."""
    return min(HEADER_PX + ROW_PX * int(rows), int(most))
