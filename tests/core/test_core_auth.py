"""Unit tests for ``mock_server.auth`` (Authorization header parsing, constant-time matching)."""

from __future__ import annotations

import base64

import pytest

from mock_server.auth import find_match, parse_basic, parse_scheme, same


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# --------------------------------------------------------------------------- parse_basic


def test_parse_basic_valid():
    assert parse_basic(f"Basic {b64(b'demo-client-id:demo-client-secret')}") == ("demo-client-id", "demo-client-secret")


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "bAsIc"])
def test_parse_basic_scheme_case_insensitive(scheme):
    assert parse_basic(f"{scheme} {b64(b'user:pass')}") == ("user", "pass")


def test_parse_basic_secret_may_hold_colons_and_be_empty():
    assert parse_basic(f"Basic {b64(b'user:pa:ss')}") == ("user", "pa:ss")
    assert parse_basic(f"Basic {b64(b'user:')}") == ("user", "")
    assert parse_basic(f"Basic {b64(b':')}") == ("", "")


def test_parse_basic_utf8_credentials():
    assert parse_basic(f"Basic {b64('josé:contraseña'.encode())}") == ("josé", "contraseña")


def test_parse_basic_surrounding_whitespace():
    assert parse_basic(f"  Basic   {b64(b'user:pass')}  ") == ("user", "pass")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "Basic",
        "Basic ",
        f"Bearer {b64(b'user:pass')}",                 # wrong scheme
        f"Basicx {b64(b'user:pass')}",
        f"Digest {b64(b'user:pass')}",
        b64(b"user:pass"),                             # token only
        "Basic !!!not-base64!!!",                      # bad base64
        "Basic dXNlcjpwYX",                            # truncated
        f"Basic {b64(b'userpass')}",                   # no colon
        f"Basic {b64(b'user:pa')} extra",              # a space inside the token
        f"Basic {b64(bytes([0xff, 0x3a, 0xfe]))}",     # not UTF-8
    ],
)
def test_parse_basic_rejects(header):
    assert parse_basic(header) is None


# --------------------------------------------------------------------------- parse_scheme


@pytest.mark.parametrize(
    ("header", "scheme", "expected"),
    [
        ("Bearer abc.def", "Bearer", "abc.def"),
        ("bearer abc", "Bearer", "abc"),
        ("ServerKey  k-1  ", "serverkey", "k-1"),
        ("  Bearer abc", "Bearer", "abc"),
        ("Bearer a b", "Bearer", "a b"),
        ("Bearer", "Bearer", None),
        ("Bearer    ", "Bearer", None),
        ("Basic abc", "Bearer", None),
        ("Bearerabc", "Bearer", None),
        ("", "Bearer", None),
        (None, "Bearer", None),
    ],
)
def test_parse_scheme(header, scheme, expected):
    assert parse_scheme(header, scheme) == expected


# --------------------------------------------------------------------------- same


@pytest.mark.parametrize(
    ("given", "expected", "result"),
    [
        ("secret", "secret", True),
        ("", "", True),
        ("contraseña", "contraseña", True),
        ("secret", "Secret", False),
        ("secret", "secret ", False),
        ("secre", "secret", False),
        ("", "secret", False),
        ("contrasena", "contraseña", False),
    ],
)
def test_same(given, expected, result):
    assert same(given, expected) is result


# --------------------------------------------------------------------------- find_match


CLIENTS = [
    {"id": "a", "secret": "sa"},
    {"id": "b", "secret": "sb"},
    {"id": "c", "secret": "sc"},
    {"id": "b", "secret": "sb"},   # a duplicate: the first one wins
]


def recording_checks(given_id: str, given_secret: str, calls: list):
    def checks(candidate):
        calls.append(candidate["id"])
        return [same(given_id, candidate["id"]), same(given_secret, candidate["secret"])]
    return checks


def test_find_match_returns_match_and_checks_every_candidate():
    calls: list[str] = []
    found = find_match(CLIENTS, recording_checks("b", "sb", calls))
    assert found is CLIENTS[1]
    assert calls == ["a", "b", "c", "b"]


def test_find_match_first_candidate_still_checks_the_rest():
    calls: list[str] = []
    assert find_match(CLIENTS, recording_checks("a", "sa", calls)) is CLIENTS[0]
    assert calls == ["a", "b", "c", "b"]


def test_find_match_none_when_one_part_wrong():
    calls: list[str] = []
    assert find_match(CLIENTS, recording_checks("c", "sa", calls)) is None
    assert calls == ["a", "b", "c", "b"]


def test_find_match_empty_candidates():
    calls: list[str] = []
    assert find_match([], recording_checks("a", "sa", calls)) is None
    assert calls == []


def test_find_match_accepts_any_iterable():
    assert find_match(iter(range(10)), lambda value: (value > 3, value % 2 == 1)) == 5
