"""Small builders the OpenAPI modules of every package share (``*/openapi.py``)."""

from __future__ import annotations


def json_content(schema) -> dict:
    """A ``content`` entry: ``schema`` (a marshmallow schema or a JSON schema) as application/json."""
    return {"content": {"application/json": {"schema": schema}}}


def query(name: str, schema: dict, description: str) -> dict:
    """An optional query parameter."""
    return {"in": "query", "name": name, "required": False, "schema": schema, "description": description}
