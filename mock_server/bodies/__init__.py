"""Reading request bodies the same way for every provider and the control plane.

Each function raises :class:`BodyError` with a sentence saying what is wrong; the caller renders it
in its own envelope (a 400 everywhere). The package, by responsibility:

- ``jsontext.py``: the one strict JSON decoder (:func:`loads`, :func:`json_body`): a whole body, or
  a text field holding JSON;
- ``formdata.py``: a multipart/form-data body read in one pass (:func:`multipart`), with its
  fallbacks (python-multipart's streaming parser, Werkzeug's for a part with no body);
- ``parts.py``: the parts as collected (:class:`Multipart`, :class:`FilePart`) and the readers
  that collect them (the plain-shape cutter, python-multipart's callbacks);
- ``errors.py``: :class:`BodyError` and the sentences of the multipart refusals.
"""

from .errors import BodyError
from .formdata import CACHE_KEY, multipart
from .jsontext import MAX_DEPTH, MAX_INT_DIGITS, json_body, loads
from .parts import FilePart, Multipart

__all__ = ["CACHE_KEY", "MAX_DEPTH", "MAX_INT_DIGITS", "BodyError", "FilePart", "Multipart", "json_body", "loads",
           "multipart"]
