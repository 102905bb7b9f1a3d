"""Public codes: random, from an alphabet without look-alikes, forgiving when typed back."""

from collections import Counter

import pytest

from services.codes import (
    ALPHABET,
    STATION_CODE_LENGTH,
    TRACKING_CODE_LENGTH,
    format_tracking_code,
    new_station_code,
    new_tracking_code,
    normalize_station_code,
    normalize_tracking_code,
)

LOOK_ALIKES = "0O1IL"


def test_alphabet_has_no_look_alikes():
    assert not set(LOOK_ALIKES) & set(ALPHABET)
    assert not set(LOOK_ALIKES.lower()) & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET), "no character twice"
    assert ALPHABET.upper() == ALPHABET
    # What is left: digits 2-9 and the 23 unambiguous capitals.
    assert set(ALPHABET) == set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")


def test_new_codes_use_only_the_alphabet_and_the_right_length(db):
    for _ in range(500):
        tracking = new_tracking_code()
        station = new_station_code()
        assert len(tracking) == TRACKING_CODE_LENGTH == 10
        assert len(station) == STATION_CODE_LENGTH
        assert set(tracking) <= set(ALPHABET)
        assert set(station) <= set(ALPHABET)


def test_tracking_codes_are_random_unique_and_not_sequential():
    codes = [new_tracking_code() for _ in range(10_000)]
    assert len(set(codes)) == len(codes)

    # A counter or a timestamp would make each code sort after the one before; random
    # codes go up about half the time.
    rising = sum(1 for a, b in zip(codes, codes[1:], strict=False) if b > a)
    assert 0.4 < rising / (len(codes) - 1) < 0.6

    # Consecutive codes share no long prefix (a sequence shares all but the last few).
    shared_prefix = sum(1 for a, b in zip(codes, codes[1:], strict=False) if a[:4] == b[:4])
    assert shared_prefix < 5

    # Every character turns up in every position, about equally often.
    for position in range(TRACKING_CODE_LENGTH):
        counts = Counter(code[position] for code in codes)
        assert set(counts) == set(ALPHABET), f"position {position} misses characters"
        expected = len(codes) / len(ALPHABET)
        assert min(counts.values()) > expected * 0.6
        assert max(counts.values()) < expected * 1.4


@pytest.mark.parametrize(
    "raw",
    [
        "K7M3QXP29D",
        "k7m3qxp29d",
        "K7M3Q-XP29D",
        "k7m3q-xp29d",
        " k7m3q-xp29d ",
        "K7M3Q XP29D",
        "k7m3q – xp29d",
        "K7 M3 QX P2 9D",
        "\tK7M3Q-XP29D\n",
        "K7M3Q_XP29D",
    ],
)
def test_normalize_tracking_code_accepts_case_spaces_and_dashes(raw):
    assert normalize_tracking_code(raw) == "K7M3QXP29D"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        None,
        "K7M3QXP29",  # 9
        "K7M3QXP29DA",  # 11
        "K7M3Q-XP29",
        "K7M3QXP290",  # zero
        "K7M3QXP29O",  # letter O
        "K7M3QXP291",  # one
        "K7M3QXP29I",  # I
        "K7M3QXP29L",  # L
        "k7m3qxp29l",  # l becomes L: still a look-alike
        "K7M3Q!XP29D",
        "K7M3Q.XP29D",
        "K7M3Q/XP29D",
        "码上码上码上码上码上",
        "K7M3QXP29Ｄ",  # full-width D
    ],
)
def test_normalize_tracking_code_rejects_wrong_length_or_characters(raw):
    assert normalize_tracking_code(raw) is None


def test_format_tracking_code_splits_in_two_halves():
    assert format_tracking_code("K7M3QXP29D") == "K7M3Q-XP29D"
    for _ in range(100):
        code = new_tracking_code()
        shown = format_tracking_code(code)
        assert len(shown) == 11
        assert shown[5] == "-"
        assert shown.replace("-", "") == code
        # What the receipt shows, typed back, finds the code again.
        assert normalize_tracking_code(shown) == code
        assert normalize_tracking_code(shown.lower()) == code


def test_normalize_station_code():
    assert normalize_station_code("abc234") == "ABC234"
    assert normalize_station_code(" ABC234 ") == "ABC234"
    assert normalize_station_code("ABC230") is None  # zero
    assert normalize_station_code("ABCI23") is None  # I
    assert normalize_station_code("AB") is None
    assert normalize_station_code("") is None
    assert normalize_station_code("ABC/23") is None
