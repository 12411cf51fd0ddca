"""Tables are as tall as their rows (the Evaluation page's 4-class table left 8 empty rows), up to a cap."""

from sda2.ui.table_height import HEADER_PX, ROW_PX, table_height


def test_height_fits_the_rows_up_to_the_cap():
    assert table_height(4, 380) == HEADER_PX + 4 * ROW_PX < 380
    assert table_height(0, 380) == HEADER_PX
    assert table_height(200, 380) == 380
