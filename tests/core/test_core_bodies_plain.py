"""The plain-shape multipart reader (``bodies.parts.read_plain``): it reads what python-multipart reads,
part for part, and leaves every other body to it."""

from __future__ import annotations

import pytest
from flask import Flask, request
from hypothesis import HealthCheck, given, settings, strategies as st
from python_multipart.multipart import MultipartParseError, MultipartParser
from urllib3.filepost import encode_multipart_formdata

from mock_server import bodies

BOUNDARY = b"b0und"
LIMITS = (5, 64)           # parts, text-field bytes: small, so the limits are reached too


def by_python_multipart(raw: bytes) -> bodies.parts.PartReader | None:
    """What the streaming parser makes of ``raw`` (None: it cannot read it, or needs Werkzeug)."""
    reader = bodies.parts.PartReader(LIMITS, b"--" + BOUNDARY)
    try:
        parser = MultipartParser(BOUNDARY, reader.callbacks())
        parser.write(raw)
        parser.finalize()
    except MultipartParseError:
        return None
    return None if reader.open or reader.bodiless else reader


def check(raw: bytes) -> bool:
    """True when the plain reader took ``raw``; then python-multipart must read the very same parts."""
    plain = bodies.parts.PartReader(LIMITS, b"--" + BOUNDARY)
    if not bodies.parts.read_plain(raw, BOUNDARY, plain):
        assert plain.parts == 0, "a body left to python-multipart must not be half read"
        return False
    expected = by_python_multipart(raw)
    assert expected is not None, f"plain reader took a body python-multipart refuses: {raw!r}"
    assert (plain.body, plain.problem) == (expected.body, expected.problem), raw
    return True


def part(name: str, value: bytes, filename: str | None = None, extra: bytes = b"") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return b"Content-Disposition: " + disposition.encode() + b"\r\n" + extra + b"\r\n" + value


def body(*parts: bytes, end: bytes = b"--\r\n", start: bytes = b"") -> bytes:
    return start + b"--" + BOUNDARY + b"\r\n" + (b"\r\n--" + BOUNDARY + b"\r\n").join(parts) + b"\r\n--" + BOUNDARY + end


def test_the_shape_client_libraries_write_is_read_by_the_plain_reader():
    fields = [("campaignName", "promo"), ("empty", ""), ("file", ("r.csv", b"phone\r\n--b0un\r\n\r\n1\n", "text/csv")),
              ("botId", "b\u00e9"), ("botId", "again")]
    raw, content_type = encode_multipart_formdata(fields, boundary=BOUNDARY.decode())
    assert check(raw)
    assert check(body(part("a", b"1"), part("f", b"", filename=""), end=b"--"))        # no CRLF after the close


@pytest.mark.parametrize("raw", [
    body(part("a", b"1"), start=b"\r\n"),                                  # a preamble
    body(part("a", b"1"), end=b"--\r\nepilogue"),                          # an epilogue
    body(part("a", b"1"), end=b"  \r\n--" + BOUNDARY + b"--"),             # transport padding after a delimiter
    body(b"Content-Disposition: form-data; name=\"a\"\r\n"),               # a part without a body (Werkzeug writes it)
    body(b"\r\nheaderless"),                                               # a part without headers
    body(part("a", b"1", extra=b"Folded: x\r\n continued\r\n")),           # an unusual header line
    body(part("a", b"1", extra=b"X: 1\r\n" * 8)),                          # more header lines than python-multipart allows
    body(part("a", b"--" + BOUNDARY + b"x")),                              # data python-multipart takes for no body
    body(part("a", b"1"))[:-4],                                            # cut short
])
def test_anything_else_is_left_to_python_multipart(raw):
    assert not check(raw)


BYTES = st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"-", b"--", b"--" + BOUNDARY, b"\r\n--" + BOUNDARY,
                                  b":", b" ", b"\xc3\xa9", b"\xff", b'"']), max_size=12).map(b"".join)
PART = st.tuples(st.sampled_from(["a", "b", "file", "x y", "\u00e9"]), BYTES, st.one_of(st.none(), st.sampled_from(["", "r.csv"])),
                 st.sampled_from([b"", b"Content-Type: text/csv\r\n", b"content-disposition: form-data; name=\"z\"\r\n",
                                  b"Content-Type:text/plain\r\n"]))


@settings(max_examples=1500, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.lists(PART, min_size=1, max_size=7), st.sampled_from([b"--\r\n", b"--", b"--\r\nx", b"\r\n"]),
       st.sampled_from([b"", b"\r\n"]))
def test_random_bodies(parts, end, start):
    check(body(*(part(name, value, filename, extra) for name, value, filename, extra in parts), end=end, start=start))


@settings(max_examples=500, suppress_health_check=list(HealthCheck), deadline=None)
@given(BYTES)
def test_random_bytes_after_the_first_delimiter(rest):
    check(b"--" + BOUNDARY + b"\r\n" + rest)


def test_an_upload_in_the_plain_shape_never_reaches_the_state_machine(monkeypatch):
    """The common upload is cut at its delimiters; python-multipart is not run on it at all."""
    def refuse(*args, **kwargs):
        raise AssertionError("python-multipart was used")

    monkeypatch.setattr(bodies.formdata, "MultipartParser", refuse)
    app = Flask(__name__)
    app.config.update(MAX_FORM_PARTS=1000, MAX_FORM_MEMORY_SIZE=500_000)
    raw, content_type = encode_multipart_formdata([("botId", "demo-bot"), ("file", ("r.csv", b"phone\n1\n", "text/csv"))])
    with app.test_request_context("/", method="POST", data=raw, content_type=content_type):
        parts = bodies.multipart(request)
    assert parts.fields == {"botId": "demo-bot"} and parts.files["file"] == bodies.FilePart("r.csv", b"phone\n1\n")
