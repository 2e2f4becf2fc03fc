"""lib.ids: what can be a row's id. One rule for the URL, the query string and the services."""
from lib.ids import MAX_ID, id_from_text, storable_ids


def test_an_id_is_a_whole_number_from_one_to_the_largest_database_integer():
    assert MAX_ID == 2**63 - 1
    assert storable_ids({-1, 0, 1, 42, MAX_ID, MAX_ID + 1, 2**70}) == {1, 42, MAX_ID}


def test_text_is_an_id_only_if_it_is_ascii_digits_within_the_bounds():
    assert id_from_text("42") == 42
    assert id_from_text(7) == 7
    assert id_from_text(str(MAX_ID)) == MAX_ID
    for text in ("", "0", "-3", "4.0", " 5", "abc", str(MAX_ID + 1), "²", "١٢"):  # "²".isdigit() is True
        assert id_from_text(text) is None, text
