"""``harness.client``: ``requests`` clients for both providers and the mock's control plane.

    from harness.client import JelouClient, IndigitallClient, MockControl, ValidationError

    jelou = JelouClient("http://127.0.0.1:8080", "demo-client-id", "demo-client-secret")
    result = jelou.send_file("recipients.csv", campaign_name="promo", element_name="order_confirmation",
                             bot_id="demo-bot", params=[{"param": 1, "column": "order_id"}, ...])
    jelou.wait_for_campaign(result.campaign_id)          # mock only: Jelou returns no id

    indigitall = IndigitallClient("http://127.0.0.1:8080", "demo-server-key")
    task = indigitall.send_csv(100, "contacts.csv", layout)
    indigitall.wait_for_task(100, task["taskId"])

Every error answer raises a typed ``ProviderError`` carrying the provider's envelope in
``.body``: ``AuthenticationError`` 401, ``ForbiddenError`` 403, ``NotFoundError`` 404,
``ValidationError`` (Jelou 422 / indigitall 400; ``.fields``), ``BadRequestError`` (Jelou 400),
``ConflictError`` 409, ``PayloadTooLargeError`` 413, ``ServerError`` 5xx.  With other
credentials and ``base_url`` the same clients talk to the real providers.  The mock's demo
credentials are not defaults here on purpose: they live in the pytest plugin and the CLI.

The implementation is split by provider: ``client_base`` (plumbing, errors), ``jelou_client``,
``indigitall_client``; ``control`` holds ``MockControl`` (reset, clock, messages).
"""
from __future__ import annotations

from .client_base import (Answer, AuthenticationError, BadRequestError, ConflictError,
                          ForbiddenError, NotFoundError, PayloadTooLargeError,
                          ProviderError, ServerError, ValidationError, error_for)
from .control import ClockControl, ControlError, MockControl
from .indigitall_client import IndigitallClient
from .jelou_client import JelouClient, SendResult

__all__ = [
    "Answer", "AuthenticationError", "BadRequestError", "ClockControl", "ConflictError",
    "ControlError", "ForbiddenError", "IndigitallClient", "JelouClient", "MockControl",
    "NotFoundError", "PayloadTooLargeError", "ProviderError", "SendResult", "ServerError",
    "ValidationError", "error_for",
]
