"""OpenAPI 3.1 for the mock as it is served: ``/_mock/openapi.json`` and the browsable ``/_mock/docs``.

Built with apispec and its marshmallow plugin from each registered provider's ``openapi`` (its
operations, security scheme and custom field types) and the control plane's documents (request
schemas are the ones the routes load with; responses and error envelopes one schema each). The
document follows the app's settings and providers (path prefixes, response shapes, inspection
limits), so it is built once per app, on first request, and kept on the app. The docs page is
Swagger UI as shipped by the ``flask-swagger-ui`` package (its ``dist`` files): no CDN, works
offline. The page itself is ours (``apidoc_page/``): it starts Swagger UI from a static script, as
its Content-Security-Policy allows no inline script (``mock_server.browsers``).
"""

from __future__ import annotations

import re
from pathlib import Path

import flask_swagger_ui

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, redirect, render_template, send_from_directory

from .control import openapi as control_doc
from .faults import openapi as faults_doc
from .providers import join_words
from .settings import registered
from .openapi_common import add_shared, add_webhooks, webhook_schemas
from .openapi_parts import json_content
from .webhooks import openapi as webhooks_doc
from .version import package_version
from .wire import schema_class

SPEC_PATH = "/_mock/openapi.json"
DOCS_PATH = "/_mock/docs"
DOCUMENTS = (control_doc, webhooks_doc, faults_doc)      # the control plane's, after the providers'
# Paths served by the app that are not API operations (pages and their assets).
UNDOCUMENTED_PREFIXES = ("/_mock/docs", "/_mock/ui", "/static")

PAGE_DIR = Path(__file__).parent / "apidoc_page"
SWAGGER_DIST = Path(flask_swagger_ui.__file__).parent / "dist"
INIT_SCRIPT = "swagger-init.js"
SWAGGER_CONFIG = {"url": SPEC_PATH, "layout": "StandaloneLayout", "deepLinking": True, "validatorUrl": None}

bp = Blueprint("apidoc", __name__, template_folder="apidoc_page")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get(SPEC_PATH)
def openapi_json():
    state = current_app.extensions["mock"]
    document = current_app.extensions.get("mock.openapi")
    if document is None:
        document = current_app.extensions["mock.openapi"] = build_spec(
            state.settings, current_app.url_map.iter_rules(), tuple(state.providers.values()), current_app.view_functions)
    return document


@bp.get(DOCS_PATH)
def docs_without_slash():
    return redirect(DOCS_PATH + "/", code=308)


@bp.get(DOCS_PATH + "/")
@bp.get(DOCS_PATH + "/<path:path>")
def docs(path: str = "index.html"):
    """The Swagger UI page, its start-up script, and Swagger UI's own files."""
    if path == "index.html":
        return render_template("apidoc/index.html", base=DOCS_PATH, config=SWAGGER_CONFIG, init_script=INIT_SCRIPT)
    if path == INIT_SCRIPT:
        return send_from_directory(PAGE_DIR, path)
    return send_from_directory(SWAGGER_DIST, path)


def build_spec(settings: dict, rules=(), providers=None, views=None) -> dict:
    """The OpenAPI 3.1 document (a dict) for an app with ``settings`` serving ``providers``.

    ``rules`` (the app's URL rules): any route no ``openapi.py`` describes still appears, marked
    ``x-undescribed`` with a generic answer, so the document always lists every endpoint served
    (and ``tests/ui/test_openapi.py`` names the ones to describe). ``views`` (the app's view
    functions by endpoint): the request body and answers each declares (``mock_server.wire``) join
    its operation, so a shape is written once, where the route loads or dumps it.
    """
    rules = list(rules)
    providers = registered(providers)
    plugin = MarshmallowPlugin()
    served = join_words([provider.openapi_summary for provider in providers])
    spec = APISpec(
        title="bulk-messaging-mock", version=package_version(missing="0.0.0"), openapi_version="3.1.0", plugins=[plugin],
        info={"description": f"{served} as this mock serves them, "
                             "with their error envelopes, and the mock's control plane (/_mock)."},
        tags=[*({"name": provider.title} for provider in providers), {"name": "Control plane"}],
        servers=[{"url": "/", "description": "the default sandbox (or the one named by the X-Mock-Sandbox header)"},
                 {"url": "/sandboxes/{sandbox}", "description": "any path under a sandbox's prefix",
                  "variables": {"sandbox": {"default": "default", "description": "1 to 64 of A-Z a-z 0-9 _ . -"}}}],
    )
    for provider in providers:
        for field, kind, form in provider.openapi_field_types:
            plugin.map_to_openapi_type(field, kind, form)
    for provider in providers:
        name, scheme = provider.openapi.SECURITY_SCHEME
        spec.components.security_scheme(name, scheme)
    tables = [provider.openapi.operations(settings) for provider in providers]
    tables += [document.operations(settings, providers) for document in DOCUMENTS]
    _declared(tables, rules, views or {}, settings, providers)
    described: dict[str, set[str]] = {}
    for table in tables:
        for path, operations in table.items():
            spec.path(path=path, operations=operations)
            described.setdefault(path, set()).update(operations)
    for path, methods in _undescribed(rules, described).items():
        spec.path(path=path, operations={method: _generic(path) for method in methods})
    for name, schema in webhook_schemas(providers).items():
        spec.components.schema(name, schema=schema)
    document = spec.to_dict()
    add_shared(document)            # X-Mock-Sandbox on every operation; its 405/429/503 answers
    add_webhooks(document, providers)
    return document


def _shape(path: str) -> str:
    """A path with its parameters unnamed: ``/v1/bots/{}``, whatever the names (Flask's or the document's)."""
    return re.sub(r"\{[^{}]+\}", "{}", re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", path))


def _declared(tables, rules, views, settings, providers) -> None:
    """Add to each described operation the request body and answers its view declares."""
    operations = {(_shape(path), method): operation
                  for table in tables for path, item in table.items() for method, operation in item.items()}
    resolved: dict = {}                  # schema ref -> class, once per document (one component each)

    def schema(ref):
        if ref not in resolved:
            resolved[ref] = schema_class(ref, settings, providers)
        return resolved[ref]

    for rule in rules:
        declared = getattr(views.get(rule.endpoint), "wire", None)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = operations.get((_shape(rule.rule), method.lower()))
            if declared is None or operation is None:
                continue
            for ref, media_types, required in declared.bodies:
                body = operation.setdefault("requestBody", {"required": required})
                content = body.setdefault("content", {})
                content.update({media: {"schema": schema(ref)} for media in media_types if media not in content})
            responses = operation.setdefault("responses", {})
            for status, (ref, description, headers) in declared.answers.items():
                answer = responses.setdefault(str(status), {})
                answer.setdefault("description", description)
                answer.update(json_content(schema(ref)))
                if headers:
                    answer.setdefault("headers", {}).update(headers)


def _undescribed(rules, described: dict[str, set[str]]) -> dict[str, list[str]]:
    """Routes (path, methods) no document describes; paths compare by shape, whatever the names."""
    shapes: dict[str, set[str]] = {}
    for path, methods in described.items():
        shapes.setdefault(_shape(path), set()).update(methods)
    out: dict[str, list[str]] = {}
    for rule in rules:
        if rule.rule == "/" or rule.rule.startswith(UNDOCUMENTED_PREFIXES):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        methods = sorted(method.lower() for method in rule.methods - {"HEAD", "OPTIONS"})
        known = shapes.get(_shape(path), set())
        missing = [method for method in methods if method not in known]
        if missing:
            out.setdefault(path, []).extend(m for m in missing if m not in out.get(path, []))
    return out


def _generic(path: str) -> dict:
    names = re.findall(r"\{(\w+)\}", path)
    return {"summary": "Not described yet", "x-undescribed": True,
            "parameters": [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}} for name in names],
            "responses": {"default": {"description": "Any answer", "content": {"application/json": {"schema": {}}}}}}

