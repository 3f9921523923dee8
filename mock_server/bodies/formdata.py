"""Reading a multipart/form-data body in one pass (:func:`multipart`), instead of Werkzeug's form
parser (which spools files over 500 KiB to a temporary file and reads them back): a file part's
bytes are cut out of the body once.

A body in the plain shape client libraries write is cut at its delimiters (``parts.read_plain``);
anything else goes to ``python-multipart``'s streaming parser, which reads the plain shape into the
same parts. The total stays bounded by ``MAX_CONTENT_LENGTH``. One legal form python-multipart does
not read, a part with no body at all (its headers directly followed by the next boundary, as
Werkzeug's test client writes an empty field or file), is detected (a part whose data starts with
the boundary, which a delimiter always precedes) and that body is read again by Werkzeug's parser.
Limits: ``max_form_parts`` parts and ``max_form_field_bytes`` per text field (settings, read from
the app's ``MAX_FORM_PARTS`` / ``MAX_FORM_MEMORY_SIZE``); beyond them the body is refused naming
the setting.
"""

from __future__ import annotations

import io

from flask import Request, current_app
from python_multipart.multipart import MultipartParseError, MultipartParser
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser as WerkzeugParser

from .errors import NO_NAME, NO_PARTS, BodyError, field_too_large, too_many_parts
from .parts import FilePart, Multipart, PartReader, read_plain

CACHE_KEY = "mock.multipart"


def multipart(request: Request) -> Multipart:
    """The parts of a multipart/form-data body, read in one streaming pass.

    The body can be read only once: the result (or the problem) is kept in the WSGI environ, so
    the request journal and the route read the same parts.
    """
    cached = request.environ.get(CACHE_KEY)
    if cached is None:
        try:
            cached = _read_multipart(request)
        except BodyError as exc:
            cached = exc
        request.environ[CACHE_KEY] = cached
    if isinstance(cached, BodyError):
        raise BodyError(str(cached))
    return cached


def _read_multipart(request: Request) -> Multipart:
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        raise BodyError("The multipart/form-data body has no boundary; let your HTTP client build the Content-Type header.")
    raw = _body(request)
    limits = (current_app.config["MAX_FORM_PARTS"], current_app.config["MAX_FORM_MEMORY_SIZE"])
    reader = PartReader(limits, b"--" + boundary.encode("latin-1"))
    try:
        if read_plain(raw, boundary.encode("latin-1"), reader):
            return _finished(reader)
        parser = MultipartParser(boundary.encode("latin-1"), reader.callbacks())
        parser.write(raw)
        parser.finalize()
    except (MultipartParseError, UnicodeEncodeError) as exc:
        if not reader.began:
            raise BodyError(NO_PARTS) from None
        raise BodyError(f"The multipart/form-data body could not be read: {exc}") from None
    if reader.open or reader.bodiless:
        reader = _werkzeug_read(raw, boundary, limits)
    return _finished(reader)


def _finished(reader: PartReader) -> Multipart:
    if reader.problem:
        raise BodyError(reader.problem)
    if not reader.body.counts:
        raise BodyError(NO_PARTS)
    return reader.body


def _body(request: Request) -> bytes:
    """The whole body in one read when its length is known (five times faster than Werkzeug's
    chunked ``get_data`` on a 40 MB upload); ``MAX_CONTENT_LENGTH`` still applies (413)."""
    length = request.content_length
    if length is None:
        return request.get_data(cache=False)
    stream, parts, left = request.stream, [], length
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _werkzeug_read(raw: bytes, boundary: str, limits: tuple[int, int]) -> PartReader:
    """The same result from Werkzeug's parser (for the rare body python-multipart cannot read)."""
    reader = PartReader(limits)
    try:
        form, files = WerkzeugParser(max_form_memory_size=limits[1], max_form_parts=limits[0]).parse(
            io.BytesIO(raw), boundary.encode("latin-1"), len(raw))
    except RequestEntityTooLarge:     # Werkzeug's one 413 for both limits: the part count tells which
        parts = raw.count(b"--" + boundary.encode("latin-1")) - 1
        reader.problem = too_many_parts(limits[0]) if parts > limits[0] else field_too_large(limits[1])
        return reader
    except ValueError as exc:
        reader.problem = f"The multipart/form-data body could not be read: {exc}"
        return reader
    if None in form or None in files:
        reader.problem = NO_NAME
        return reader
    body = reader.body
    for name, values in form.lists():
        body.counts[name] = body.counts.get(name, 0) + len(values)
        body.fields.setdefault(name, values[0])
    for name, parts in files.lists():
        body.counts[name] = body.counts.get(name, 0) + len(parts)
        if name not in body.fields:
            body.files.setdefault(name, FilePart(parts[0].filename or "", parts[0].read()))
        for part in parts:
            part.close()
    return reader
