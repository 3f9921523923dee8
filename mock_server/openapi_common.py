"""What every operation of the OpenAPI document shares, and the webhooks the mock sends (read by
``mock_server.apidoc``).

- The sandbox: the header ``X-Mock-Sandbox`` (a parameter of every operation) and the path prefix
  ``/sandboxes/{sandbox}`` (a server of the document, so a generated client pointed at
  ``http://HOST/sandboxes/NAME`` works unchanged).
- Answers any operation may give, each in the envelope of the provider owning the path (the one its
  other error answers use): 400 (an invalid sandbox name; operations keep their own 400), 429 (a rate limit, a rate-limit fault, or ``sandboxes.max_count``) with
  ``Retry-After`` and the ``X-RateLimit-*`` headers; 503 (the shared store unreachable, or a fault)
  with ``Retry-After``; 405 (a method the path does not serve) with ``Allow``.
- ``webhooks`` (OpenAPI 3.1): each provider's delivery-status event, its body (the provider's
  ``WebhookSpec.event_schema``) and headers.
"""

from __future__ import annotations

from .sandbox import HEADER as SANDBOX_HEADER
from .store.base import SANDBOX_NAME

SANDBOX_PARAMETER = "XMockSandbox"
CONTROL_ERROR = "ControlError"          # the control plane's envelope: for paths without another

HEADERS = {
    "RetryAfter": {"description": "whole seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1}},
    "RateLimitLimit": {"description": "requests allowed in the window (rate limits only)", "schema": {"type": "integer"}},
    "RateLimitRemaining": {"description": "requests left in the window (rate limits only)", "schema": {"type": "integer"}},
    "RateLimitReset": {"description": "the window's end, Unix seconds of mock time (rate limits only)",
                       "schema": {"type": "integer"}},
    "Allow": {"description": "the methods the path serves", "schema": {"type": "string"}},
}


def _header(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


def _answers(envelope: dict) -> dict[str, dict]:
    content = {"content": {"application/json": {"schema": envelope}}}
    return {
        "400": {"description": "Bad request: e.g. an invalid sandbox name in X-Mock-Sandbox or /sandboxes/{name}",
                **content},
        "405": {"description": "Method not allowed: the path does not serve this method", **content,
                "headers": {"Allow": _header("Allow")}},
        "429": {"description": "Too many requests: a rate limit (the setting rate_limits or a fault rule; "
                               "Retry-After and X-RateLimit-* say when to retry), or sandboxes.max_count "
                               "(no Retry-After: waiting does not free a sandbox)", **content,
                "headers": {"Retry-After": _header("RetryAfter"), "X-RateLimit-Limit": _header("RateLimitLimit"),
                            "X-RateLimit-Remaining": _header("RateLimitRemaining"),
                            "X-RateLimit-Reset": _header("RateLimitReset")}},
        "503": {"description": "Unavailable: the mock's shared store is unreachable, or a fault rule says so",
                **content, "headers": {"Retry-After": _header("RetryAfter")}},
    }


def _envelope(operation: dict) -> dict:
    """The error envelope ``operation``'s other error answers use (the first 4xx with a body)."""
    for status, answer in sorted(operation.get("responses", {}).items()):
        schema = (answer.get("content") or {}).get("application/json", {}).get("schema")
        if status.startswith("4") and status not in ("422",) and isinstance(schema, dict) and "$ref" in schema:
            return schema
    return {"$ref": f"#/components/schemas/{CONTROL_ERROR}"}


def add_shared(document: dict) -> None:
    """The sandbox header on every operation, and the 400/405/429/503 answers, in place."""
    components = document.setdefault("components", {})
    components.setdefault("parameters", {})[SANDBOX_PARAMETER] = {
        "in": "header", "name": SANDBOX_HEADER, "required": False,
        "description": "the sandbox this request works in (default: `default`); the path prefix "
                       "/sandboxes/{name} does the same",
        "schema": {"type": "string", "pattern": f"^{SANDBOX_NAME.pattern}$"},
    }
    components.setdefault("headers", {}).update(HEADERS)
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            parameters = operation.setdefault("parameters", [])
            parameters.append({"$ref": f"#/components/parameters/{SANDBOX_PARAMETER}"})
            responses = operation.setdefault("responses", {})
            for status, answer in _answers(_envelope(operation)).items():
                responses.setdefault(status, answer)


def _event_component(provider) -> str:
    """``JelouWebhookEvent``: the component name of a provider's webhook event body."""
    title = provider.title.replace(" ", "")
    return f"{title[:1].upper()}{title[1:]}WebhookEvent"


def webhook_schemas(providers) -> dict[str, type]:
    """Component name -> marshmallow schema of each provider's webhook event body."""
    return {_event_component(provider): provider.webhooks.event_schema
            for provider in providers if provider.webhooks is not None and provider.webhooks.event_schema is not None}


def add_webhooks(document: dict, providers) -> None:
    """OpenAPI 3.1 ``webhooks``: what the mock POSTs to a subscribed URL, per provider."""
    hooks = {}
    for provider in providers:
        spec = provider.webhooks
        if spec is None or spec.event_schema is None:
            continue
        name = _event_component(provider)
        hooks[f"{provider.name}DeliveryStatus"] = {"post": {
            "tags": [provider.title],
            "summary": f"{provider.title} delivery-status event",
            "operationId": f"{provider.name}DeliveryStatusEvent",
            "description": f"Sent to each URL subscribed to the event ({', '.join(spec.events)}); retried "
                           "(same X-Mock-Event-Id) until the receiver answers 2xx or the attempts run out.",
            "parameters": [
                {"in": "header", "name": "X-Mock-Event-Id", "required": True, "schema": {"type": "string"},
                 "description": "the same for every attempt of one event (deduplicate on it)"},
                {"in": "header", "name": "X-Mock-Attempt", "required": True, "schema": {"type": "integer", "minimum": 1}},
                {"in": "header", "name": spec.signature_header, "required": False, "schema": {"type": "string"},
                 "description": "sha256=<hex HMAC-SHA256 of the exact body>, when the subscription has a secret"},
            ],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{name}"}}}},
            "responses": {"2XX": {"description": "Received; any other answer, or none in time, is retried"}},
        }}
    if hooks:
        document["webhooks"] = hooks
