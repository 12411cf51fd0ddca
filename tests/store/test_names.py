"""The dataset name pattern: good names pass unchanged, every bad one is refused with the problem and the fix."""

import pytest

from sda2 import names

GOOD = ["digits", "d", "_private", "pets-2024", "CIFAR 10N.v2", "a.b.c", "고양이 cats", "데이터_1", "고양이-1",
        "Ünïcödé set", "café", "cafe\u0301", "x" * 100, "mnist_test", "0", "日本語 2"]

BAD = [  # (name, words the message must hold)
    ("", "is empty"),
    (None, "NoneType, not text"),
    (7, "int, not text"),
    ("x" * 101, "101 characters long"),
    ("/tmp/x", "slash"),
    ("/srv/x", "slash"),
    ("../sda2", ".."),
    ("..", ".."),
    ("a..b", ".."),
    ("a/b", "slash"),
    ("a\\b", "slash"),
    ("C:\\data", "slash"),
    (".hidden", "starts with '.'"),
    (".", "starts with '.'"),
    ("-rf", "starts with '-'"),
    (" lead", "starts with ' '"),
    ("trail ", "ends with a space"),
    ("tab\tname", "U+0009"),
    ("new\nline", "U+000A"),
    ("nul\x00", "U+0000"),
    ("del\x7f", "U+007F"),
    ("zero\u200bwidth", "U+200B"),
    ("rtl\u202eexe.png", "U+202E"),
    ("nbsp\u00a0name", "U+00A0"),
    ("line\u2028sep", "U+2028"),
    ("pets.__incoming_5f0c", ".__incoming_"),
    ("pets.__replaced_5f0c", ".__replaced_"),
    ("a:b", "':'"),
    ("a*b", "'*'"),
    ("$HOME", "starts with '$'"),
    ("a;rm -rf", "';'"),
    ("<b>bold<b>", "starts with '<'"),
    ("![t](x.png)", "starts with '!'"),
    ("a|b", "'|'"),
    ("고양이", "no Latin letter or digit"),
    ("데이터 모음", "no Latin letter or digit"),
    ("___", "no Latin letter or digit"),
    ("~/x", "slash"),
    ("~x", "starts with '~'"),
]


@pytest.mark.parametrize("name", GOOD)
def test_good_names_pass_unchanged(name):
    assert names.validate_dataset_name(name) == name
    assert names.is_valid_dataset_name(name)


@pytest.mark.parametrize("name, problem", BAD, ids=[repr(b[0])[:30] for b in BAD])
def test_bad_names_get_the_problem_and_the_fix(name, problem):
    with pytest.raises(ValueError) as caught:
        names.validate_dataset_name(name)
    message = str(caught.value)
    assert message.startswith("Invalid dataset name ")
    assert problem in message
    assert "Fix: choose a plain name such as 'pets'" in message and names.PATTERN in message
    assert not names.is_valid_dataset_name(name)


def test_a_very_long_bad_name_is_shortened_in_the_message():
    with pytest.raises(ValueError) as caught:
        names.validate_dataset_name("/" + "x" * 5000)
    assert len(str(caught.value)) < 600
