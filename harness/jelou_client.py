"""``JelouClient``: Jelou's "Send Bulk HSM" and the calls around it, over ``requests``.

Works against the mock or, with real credentials and ``base_url``, against Jelou itself.
Decisions
- Multipart sends JSON-encode ``params``/``buttonPayloads``/``actions`` (what the dashboard
  does, and what Jelou documents for form fields); ``send_url`` sends the same fields as JSON.
- ``SendResult.campaign_id`` comes from the mock's ``X-Mock-Campaign-Id`` header; Jelou itself
  returns no id, so against it the value is None (find the campaign with ``list_campaigns``).
- Read calls return the provider's ``data`` object where there is one (``get_campaign``,
  ``cancel_campaign``, ``reschedule_campaign``, and ``list_campaigns`` in the current shape;
  the legacy shape has no ``data`` and is returned whole); notifications return the whole body
  (``pagination``, ``results``, ``_metadata``).
- Filters may be given in snake_case (``campaign_id``) or as Jelou spells them (``campaignId``);
  ``from_`` stands for ``from``.  ``None`` values are left out.
- No credentials are built in: the mock's demo ones live in the pytest plugin and the CLI.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Iterator

from requests.auth import HTTPBasicAuth

from .client_base import Answer, ApiClient, Upload, iso

TERMINAL_CAMPAIGN = ("COMPLETED", "FAILED", "CANCELLED")
PAGE_LIMIT = 50


@dataclass(frozen=True)
class SendResult:
    """A bulk send Jelou accepted: the campaign id (mock only) and the answer."""

    campaign_id: str | None
    body: Any
    status: int = 200


def _camel(name: str) -> str:
    name = name.rstrip("_")
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _query(values: dict[str, Any]) -> dict[str, Any]:
    return {_camel(key): iso(value) if isinstance(value, (date, datetime)) else value
            for key, value in values.items() if value is not None}


class JelouClient(ApiClient):
    provider = "jelou"

    def __init__(self, base_url: str, client_id: str, client_secret: str, session=None,
                 timeout: float = 30.0) -> None:
        super().__init__(base_url, session=session, timeout=timeout)
        self._auth = HTTPBasicAuth(client_id, client_secret)
        self.client_id = client_id

    def auth_headers(self) -> dict[str, str]:
        return {}

    def request(self, method: str, path: str, *, check: bool = True, **kwargs) -> Answer:
        kwargs.setdefault("auth", self._auth)
        return super().request(method, path, check=check, **kwargs)

    # -- POST /v1/hsm/file ---------------------------------------------------------------
    @staticmethod
    def fields(*, campaign_name, element_name, bot_id, params, type=None, media_url=None,
               button_payloads=None, actions=None, scheduled_at=None) -> dict[str, Any]:
        """The request fields as Jelou names them (``None`` left out)."""
        fields = {"campaignName": campaign_name, "elementName": element_name, "botId": bot_id,
                  "params": params, "type": type, "mediaUrl": media_url,
                  "buttonPayloads": button_payloads, "actions": actions,
                  "scheduledAt": iso(scheduled_at)}
        return {key: value for key, value in fields.items() if value is not None}

    def post_file(self, fields: dict[str, Any], file, filename: str | None = None, *,
                  check: bool = True) -> Answer:
        """Low level: multipart ``fields`` (lists/dicts JSON-encoded) with the CSV in ``file``."""
        form = {key: json.dumps(value) if isinstance(value, (list, dict)) else str(value)
                for key, value in fields.items()}
        with Upload(file, filename) as upload:
            return self.request("POST", "/v1/hsm/file", data=form, check=check,
                                files={"file": (upload.name, upload.content, "text/csv")})

    def send_file(self, file, *, campaign_name: str, element_name: str, bot_id: str, params: list[dict],
                  filename: str | None = None, type: str | None = None, media_url: str | None = None,
                  button_payloads: list[dict] | None = None, actions: dict | None = None,
                  scheduled_at=None) -> SendResult:
        """Upload a CSV (path, bytes or binary file); ``scheduled_at``: datetime or ISO text."""
        fields = self.fields(campaign_name=campaign_name, element_name=element_name, bot_id=bot_id,
                             params=params, type=type, media_url=media_url, button_payloads=button_payloads,
                             actions=actions, scheduled_at=scheduled_at)
        return _result(self.post_file(fields, file, filename))

    def send_url(self, file_url: str, *, campaign_name: str, element_name: str, bot_id: str, params: list[dict],
                 type: str | None = None, media_url: str | None = None, button_payloads: list[dict] | None = None,
                 actions: dict | None = None, scheduled_at=None) -> SendResult:
        """Let Jelou fetch the CSV from ``file_url`` (JSON body)."""
        fields = self.fields(campaign_name=campaign_name, element_name=element_name, bot_id=bot_id,
                             params=params, type=type, media_url=media_url, button_payloads=button_payloads,
                             actions=actions, scheduled_at=scheduled_at)
        return _result(self.request("POST", "/v1/hsm/file", json={**fields, "fileUrl": file_url}))

    # -- campaigns -----------------------------------------------------------------------
    def list_campaigns(self, bot_id: str, start_at, end_at, page: int = 1, limit: int = 10,
                       element_name: str | None = None, status: str | None = None) -> dict:
        """Campaigns of ``bot_id`` created in [start_at, end_at] (dates or date-times), newest first."""
        query = _query({"bot_id": bot_id, "start_at": start_at, "end_at": end_at, "page": page,
                        "limit": limit, "element_name": element_name, "status": status})
        body = self.request("GET", "/v1/campaigns", params=query).body
        return body.get("data", body)

    def get_campaign(self, campaign_id: str) -> dict:
        return self.request("GET", f"/v1/campaigns/{campaign_id}").body["data"]

    def cancel_campaign(self, campaign_id: str) -> dict:
        """Cancel a SCHEDULED campaign (Jelou answers 422 once it is sending)."""
        return self.request("PUT", f"/v1/campaigns/{campaign_id}", json={"status": "CANCELLED"}).body["data"]

    def reschedule_campaign(self, campaign_id: str, when) -> dict:
        """Move a SCHEDULED (or CANCELLED) campaign to ``when`` (datetime or ISO text)."""
        return self.request("PUT", f"/v1/campaigns/{campaign_id}", json={"scheduledAt": iso(when)}).body["data"]

    def wait_for_campaign(self, campaign_id: str, *, timeout: float = 60.0, interval: float = 0.5,
                          on_poll: Callable[[dict], object] | None = None) -> dict:
        """Poll ``get_campaign`` until COMPLETED, FAILED or CANCELLED; ``TimeoutError`` after ``timeout`` s."""
        return self.poll(lambda: self.get_campaign(campaign_id), TERMINAL_CAMPAIGN, f"campaign {campaign_id}",
                         timeout=timeout, interval=interval, on_poll=on_poll)

    # -- notifications -------------------------------------------------------------------
    def notifications(self, bot_id: str, **filters) -> dict:
        """One page of notifications: filters campaign_id, message_id, element_name, status,
        destination, from_, to, page, limit (<= 50)."""
        return self.request("GET", f"/v1/external/bots/{bot_id}/notifications", params=_query(filters)).body

    def notification(self, bot_id: str, notification_id: str) -> dict:
        return self.request("GET", f"/v1/external/bots/{bot_id}/notifications/{notification_id}").body

    def iter_notifications(self, bot_id: str, **filters) -> Iterator[dict]:
        """Every matching notification, fetching pages of 50."""
        filters = {key: value for key, value in filters.items() if key not in ("page", "limit")}
        page = 1
        while True:
            body = self.notifications(bot_id, page=page, limit=PAGE_LIMIT, **filters)
            yield from body.get("results", [])
            pages = (body.get("pagination") or {}).get("totalPages") or 0
            if page >= pages or not body.get("results"):
                return
            page += 1


def _result(answer: Answer) -> SendResult:
    headers = {key.lower(): value for key, value in answer.headers.items()}
    return SendResult(headers.get("x-mock-campaign-id"), answer.body, answer.status)
