"""The Jelou steps of the conformance scenario: sends (an upload, a ``fileUrl``, the rejections),
then the reads of campaigns and notifications."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Callable

from ..sibling import mock_server_module
from .steps import NOT_A_PHONE, Env, Request, Setup, Step, csv_bytes


def _jelou_columns(setup: Setup) -> list[str]:
    return [f"param_{number}" for number in range(1, setup.jelou_placeholders + 1)]


def _jelou_csv(env: Env, *, phones=None, first: str = "phone_number") -> bytes:
    columns = _jelou_columns(env.setup)
    phones = env.recipients if phones is None else phones
    return csv_bytes([first, *columns], [[phone, *(f"conformance-{i}" for i in range(1, len(columns) + 1))]
                                         for phone in phones])


def _jelou_params(setup: Setup) -> list[dict]:
    return [{"param": number, "column": column} for number, column in enumerate(_jelou_columns(setup), 1)]


def _jelou_fields(env: Env, what: str, params=None) -> dict[str, Any]:
    return {"campaignName": f"mock-harness conformance {what}", "elementName": env.setup.jelou_template,
            "botId": env.setup.jelou_bot, "params": _jelou_params(env.setup) if params is None else params}


def _jelou_upload(what: str, *, params=None, phones=None, first: str = "phone_number") -> Callable[[Env], Request]:
    def build(env: Env) -> Request:
        data = _jelou_csv(env, phones=phones, first=first)
        fields = _jelou_fields(env, what, params)
        form = {key: value if isinstance(value, str) else json.dumps(value) for key, value in fields.items()}
        return Request("POST", "/v1/hsm/file", form=form, file=("recipients.csv", data), csv=data)
    return build


def _jelou_file_url(env: Env) -> Request:
    data = _jelou_csv(env)
    url = env.file_url("recipients.csv", data)
    return Request("POST", "/v1/hsm/file", json={**_jelou_fields(env, "fileUrl"), "fileUrl": url}, csv=data)


def _first_result(body: Any, *keys: str) -> dict[str, str]:
    """The id of the first listed record (current shape ``data.results``, legacy ``results``)."""
    if not isinstance(body, dict):
        return {}
    data = body.get("data") if isinstance(body.get("data"), dict) else body
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        return {}
    for key in keys:
        if results[0].get(key) not in (None, ""):
            return {"value": str(results[0][key])}
    return {}


def _keep_campaign(body: Any) -> dict[str, str]:
    found = _first_result(body, "id", "_id")
    return {"campaign_id": found["value"]} if found else {}


def _keep_notification(body: Any) -> dict[str, str]:
    found = _first_result(body, "id", "_id")
    return {"notification_id": found["value"]} if found else {}


def _campaign_window(env: Env) -> dict[str, str]:
    return {"botId": env.setup.jelou_bot, "startAt": (env.now - timedelta(days=1)).date().isoformat(),
            "endAt": (env.now + timedelta(days=1)).date().isoformat(), "page": "1", "limit": "10"}


def _jelou_vocabularies() -> tuple[frozenset, frozenset]:
    campaigns = mock_server_module("jelou.campaigns")
    schemas = mock_server_module("jelou.schemas")
    return frozenset(schemas.CAMPAIGN_STATUSES), frozenset(campaigns.MESSAGE_STATUSES)


def jelou_steps() -> list[Step]:
    campaign_statuses, message_statuses = _jelou_vocabularies()
    upload = "multipart: campaignName, elementName, botId, params and a CSV"
    return [
        Step("jelou.send.upload", "jelou", "POST", "/v1/hsm/file",
             f"{upload} with one row per --recipient", 200, _jelou_upload("upload"), sends_messages=True),
        Step("jelou.send.file_url", "jelou", "POST", "/v1/hsm/file",
             "JSON with fileUrl: the same CSV, served by the harness on 127.0.0.1", 200, _jelou_file_url,
             sends_messages=True, needs_file_url=True),
        Step("jelou.reject.body", "jelou", "POST", "/v1/hsm/file",
             "a JSON content type with a body that is not JSON", 400,
             lambda env: Request("POST", "/v1/hsm/file", raw=("application/json", b'{"campaignName": '))),
        Step("jelou.reject.auth", "jelou", "POST", "/v1/hsm/file",
             "Basic credentials of no account (conformance-invalid:invalid) and an empty JSON body", 401,
             lambda env: Request("POST", "/v1/hsm/file", auth="invalid", json={})),
        Step("jelou.reject.header", "jelou", "POST", "/v1/hsm/file",
             f"{upload} whose header has a space ('phone number'), rows to --recipient", 422,
             _jelou_upload("bad header", first="phone number"), sends_messages=True),
        Step("jelou.reject.phone", "jelou", "POST", "/v1/hsm/file",
             f"{upload} whose only phone is '{NOT_A_PHONE}'", 422,
             _jelou_upload("bad phone", phones=[NOT_A_PHONE])),
        Step("jelou.reject.column", "jelou", "POST", "/v1/hsm/file",
             f"{upload}; params name the column 'no_such_column', rows to --recipient", 422,
             lambda env: _jelou_upload("missing column", params=[
                 {"param": number, "column": "no_such_column" if number == 1 else column}
                 for number, column in enumerate(_jelou_columns(env.setup) or ["no_such_column"], 1)])(env),
             sends_messages=True),
        Step("jelou.reject.params", "jelou", "POST", "/v1/hsm/file",
             f"{upload}; params is [{{\"param\": \"one\"}}] (no column, param not an integer)", 422,
             _jelou_upload("bad params", params=[{"param": "one"}]), sends_messages=True),
        Step("jelou.campaigns.list", "jelou", "GET", "/v1/campaigns",
             "query botId, startAt (yesterday), endAt (tomorrow), page 1, limit 10", 200,
             lambda env: Request("GET", "/v1/campaigns", params=_campaign_window(env)), keep=_keep_campaign,
             lifecycle={"$.data.results[].status": campaign_statuses, "$.results[].status": campaign_statuses}),
        Step("jelou.campaigns.one", "jelou", "GET", "/v1/campaigns/{campaignId}",
             "the first campaign of the list", 200,
             lambda env: Request("GET", f"/v1/campaigns/{env.found['campaign_id']}"), needs=("campaign_id",),
             lifecycle={"$.data.status": campaign_statuses}),
        Step("jelou.notifications.list", "jelou", "GET", "/v1/external/bots/{botId}/notifications",
             "query campaignId (that campaign), page 1, limit 10", 200,
             lambda env: Request("GET", f"/v1/external/bots/{env.setup.jelou_bot}/notifications",
                                 params={"campaignId": env.found["campaign_id"], "page": "1", "limit": "10"}),
             needs=("campaign_id",), keep=_keep_notification,
             lifecycle={"$.results[].sentStatus": message_statuses}),
        Step("jelou.notifications.one", "jelou", "GET", "/v1/external/bots/{botId}/notifications/{id}",
             "the first notification of that list", 200,
             lambda env: Request("GET", f"/v1/external/bots/{env.setup.jelou_bot}/notifications/"
                                        f"{env.found['notification_id']}"),
             needs=("notification_id",), lifecycle={"$.sentStatus": message_statuses,
                                                    "$.data.sentStatus": message_statuses}),
    ]
