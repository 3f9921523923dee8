"""How a request body is refused: :class:`BodyError`, and the sentences of the multipart refusals
(shared by the plain-shape reader, python-multipart's callbacks and the Werkzeug fallback)."""

from __future__ import annotations

NO_NAME = ('A multipart part has no name: every part needs a header like '
           'Content-Disposition: form-data; name="field".')
NO_PARTS = ("The multipart/form-data body could not be read: no parts were found "
            "(does the body use the boundary given in the Content-Type header?)")


class BodyError(ValueError):
    """The request body cannot be read; the message says why."""


def too_many_parts(limit: int) -> str:
    return f"The multipart/form-data body has more than {limit:,} parts (setting max_form_parts)."


def field_too_large(limit: int, name: str | None = None) -> str:
    which = f"The form field '{name}'" if name is not None else "A multipart/form-data text field"
    return (f"{which} is larger than {limit:,} bytes (setting max_form_field_bytes); "
            "send large content as a file part.")
