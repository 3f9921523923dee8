"""Locust users for the two providers, plus the start-up hooks they rely on.

Decisions
- ``ProviderUser`` (abstract) holds what both share: the auth header set once in ``on_start``, and
  ``check()``, the one way a task sends a request. ``check`` uses ``catch_response``: a request
  succeeds only with the status the task expects *and* a body that passes ``verify``; so a
  deliberately invalid request answered with its documented 4xx counts as a success, and a 200
  with a wrong body counts as a failure. Any failure in a run is therefore unexpected.
- An *injected* answer (a 429 or 5xx carrying ``X-Mock-Fault``, or a rate-limit 429 carrying
  ``X-RateLimit-Limit``) is expected while a fault rule or rate limit is active: it counts as a
  success under its own name, ``<name> [injected 503]``, so the report shows how many there were
  and the run still has no unexpected failure. A dropped connection has no status to tell it by:
  it stays a failure.
- Request names group URLs that carry ids (``name=``): ``GET /v1/campaigns/{id}``; uploads are
  named by size (``[upload small]``) so the report shows how the cost grows with rows.
- Bodies are built once per process in the ``init`` hook (``payloads.get()``), never in a task.
- Every user begins with a small upload (``on_start``), then picks tasks by weight. So any run,
  however short or however loaded the machine (a 4 s run on a busy 2-core machine may manage only
  a handful of requests), has accepted sends of both providers for the check to verify; a run of
  only polls and invalid requests would prove nothing about losses.
- Polling reads this user's own campaigns/tasks (ids it saw accepted), like a real client.
- indigitall: small and medium files go to application 200 (slicing off), large ones to 100
  (slicing on, 1,000 per 1-hour slot, 48 h window). Once the window is full the mock answers
  201 with status ``canceled``, which is correct; the ledger keeps the status, and the check
  expects no messages for such a task.
"""

from __future__ import annotations

import base64
import random

from locust import HttpUser, between, events, task
from locust.runners import MasterRunner

from . import ledger, payloads

JELOU_AUTH = "Basic " + base64.b64encode(b"demo-client-id:demo-client-secret").decode()
JELOU_BAD_AUTH = "Basic " + base64.b64encode(b"demo-client-id:not-the-secret").decode()
INDIGITALL_AUTH = "ServerKey demo-server-key"
INDIGITALL_PREFIX = "/v2"
SLICED_APP, PLAIN_APP = 100, 200
CAMPAIGN_LIST = "/v1/campaigns?botId=demo-bot&startAt=2000-01-01&endAt=2100-12-31&limit=10"
FILES: list[payloads.FileServer] = []


def injected(response) -> bool:
    """A 429/5xx the mock was told to give: a fault rule's (``X-Mock-Fault``) or a configured rate limit's."""
    status = response.status_code
    if status != 429 and not 500 <= status <= 599:
        return False
    return "X-Mock-Fault" in response.headers or (status == 429 and "X-RateLimit-Limit" in response.headers)


class ProviderUser(HttpUser):
    abstract = True
    wait_time = between(0.1, 0.5)
    authorization = ""

    def on_start(self) -> None:
        self.payloads = payloads.get()
        self.client.headers["Authorization"] = self.authorization
        self.accepted: list[ledger.Entry] = []
        self.upload_small()             # each concrete user's first send (see Decisions)

    def check(self, method: str, path: str, *, name: str, expect: int = 200, verify=None, **kwargs):
        """Send; succeed only on HTTP ``expect`` and ``verify(response, body) is None``; return the body or None.

        ``verify`` runs inside the ``catch_response`` block, so anything it records (the ledger)
        is recorded exactly when Locust counts the success.
        """
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as response:
            if injected(response):
                response.request_meta["name"] = f"{name} [injected {response.status_code}]"
                response.success()
                return None
            if response.status_code != expect:
                shown = response.text[:300] if response.status_code else repr(response.error)
                response.failure(f"expected HTTP {expect}, got {response.status_code}: {shown}")
                return None
            try:
                body = response.json() if response.content else None
            except ValueError:
                response.failure(f"HTTP {expect} but the body is not JSON: {response.text[:300]}")
                return None
            problem = verify(response, body) if verify else None
            if problem:
                response.failure(problem)
                return None
            response.success()
            return body

    def remember(self, entry: ledger.Entry) -> None:
        ledger.LEDGER.record(entry)
        self.accepted.append(entry)

    def mine(self) -> ledger.Entry | None:
        return random.choice(self.accepted) if self.accepted else None


class JelouUser(ProviderUser):
    """Send Bulk HSM: uploads, fileUrl sends, campaign and notification polling, invalid requests."""

    authorization = JELOU_AUTH

    def _send(self, name: str, rows: int, **kwargs) -> None:
        def verify(response, body):
            campaign_id = response.headers.get("X-Mock-Campaign-Id")
            if not campaign_id or not body or body.get("status") != "success":
                return f"200 without a campaign id or status=success: {response.text[:200]}"
            self.remember(ledger.Entry("jelou", campaign_id, rows, name))
            return None

        self.check("POST", "/v1/hsm/file", name=name, verify=verify, **kwargs)

    def _upload(self, size: str) -> None:
        upload = self.payloads.jelou[size]
        self._send(f"POST /v1/hsm/file [upload {size}]", upload.rows, data=upload.body,
                   headers={"Content-Type": upload.content_type})

    @task(6)
    def upload_small(self) -> None:
        self._upload("small")

    @task(2)
    def upload_medium(self) -> None:
        self._upload("medium")

    @task(1)
    def upload_large(self) -> None:
        self._upload("large")

    @task(2)
    def send_file_url(self) -> None:
        if not FILES:       # a worker may start users while its init hook is still starting the file server
            return
        size = random.choice(("small", "medium"))
        body = {**self.payloads.jelou_fields, "fileUrl": f"{FILES[0].url}/jelou-{size}.csv"}
        self._send("POST /v1/hsm/file [fileUrl]", payloads.SIZES[size], json=body)

    @task(6)
    def poll_campaign(self) -> None:
        entry = self.mine()
        if entry is None:
            return

        def verify(response, body):
            data = (body or {}).get("data") or {}
            if data.get("id") != entry.id or data.get("totalMessages") != entry.rows:
                return f"campaign {entry.id}: expected {entry.rows} messages, got {response.text[:200]}"
            return None

        self.check("GET", f"/v1/campaigns/{entry.id}", name="GET /v1/campaigns/{id}", verify=verify)

    @task(2)
    def list_campaigns(self) -> None:
        self.check("GET", CAMPAIGN_LIST, name="GET /v1/campaigns",
                   verify=lambda r, b: None if isinstance((b or {}).get("data", {}).get("results"), list)
                   else f"no data.results: {r.text[:200]}")

    @task(2)
    def notifications(self) -> None:
        entry = self.mine()
        if entry is None:
            return
        self.check("GET", f"/v1/external/bots/demo-bot/notifications?campaignId={entry.id}&limit=10",
                   name="GET /v1/external/bots/{botId}/notifications?campaignId",
                   verify=lambda r, b: None if "_metadata" in (b or {}) else f"no _metadata: {r.text[:200]}")

    @task(1)
    def invalid_csv(self) -> None:
        upload = self.payloads.jelou["invalid"]
        self.check("POST", "/v1/hsm/file", name="POST /v1/hsm/file [invalid: bad phone -> 422]", expect=422,
                   data=upload.body, headers={"Content-Type": upload.content_type},
                   verify=lambda r, b: None if "file" in (b or {}).get("validationError", {})
                   else f"422 without validationError.file: {r.text[:200]}")

    @task(1)
    def invalid_auth(self) -> None:
        self.check("GET", CAMPAIGN_LIST, name="GET /v1/campaigns [invalid: wrong secret -> 401]", expect=401,
                   headers={"Authorization": JELOU_BAD_AUTH},
                   verify=lambda r, b: None if r.headers.get("WWW-Authenticate", "").startswith("Basic")
                   else "401 without WWW-Authenticate: Basic")


class IndigitallUser(ProviderUser):
    """Send messages from CSV: uploads (sliced and not), task polling, invalid requests."""

    authorization = INDIGITALL_AUTH

    def _upload(self, size: str, application: int) -> None:
        upload = self.payloads.indigitall[size]
        name = f"POST {INDIGITALL_PREFIX}/chat/application/{application}/message/csv [upload {size}]"

        def verify(response, body):
            data = (body or {}).get("data") or {}
            if not isinstance(data.get("taskId"), int) or data.get("total") != upload.rows:
                return f"201 without data.taskId or with a wrong total: {response.text[:200]}"
            self.remember(ledger.Entry("indigitall", str(data["taskId"]), upload.rows, name,
                                       data.get("status", ""), application))
            return None

        self.check("POST", f"{INDIGITALL_PREFIX}/chat/application/{application}/message/csv", name=name,
                   expect=201, verify=verify, data=upload.body, headers={"Content-Type": upload.content_type})

    @task(6)
    def upload_small(self) -> None:
        self._upload("small", PLAIN_APP)

    @task(2)
    def upload_medium(self) -> None:
        self._upload("medium", PLAIN_APP)

    @task(1)
    def upload_large_sliced(self) -> None:
        self._upload("large", SLICED_APP)

    @task(6)
    def poll_task(self) -> None:
        entry = self.mine()
        if entry is None:
            return

        def verify(response, body):
            data = (body or {}).get("data") or {}
            if str(data.get("taskId")) != entry.id or data.get("total") != entry.rows:
                return f"task {entry.id}: expected total {entry.rows}, got {response.text[:200]}"
            return None

        self.check("GET", f"{INDIGITALL_PREFIX}/chat/application/{entry.application}/task/{entry.id}",
                   name=f"GET {INDIGITALL_PREFIX}/chat/application/{{id}}/task/{{taskId}}", verify=verify)

    @task(2)
    def list_tasks(self) -> None:
        self.check("GET", f"{INDIGITALL_PREFIX}/chat/application/{PLAIN_APP}/task?limit=10&page=1",
                   name=f"GET {INDIGITALL_PREFIX}/chat/application/{{id}}/task",
                   verify=lambda r, b: None if isinstance((b or {}).get("data"), list) else f"no data list: {r.text[:200]}")

    @task(1)
    def invalid_layout(self) -> None:
        upload = self.payloads.indigitall["invalid"]
        self.check("POST", f"{INDIGITALL_PREFIX}/chat/application/{PLAIN_APP}/message/csv",
                   name=f"POST {INDIGITALL_PREFIX}/chat/application/{{id}}/message/csv [invalid: missing variables -> 400]",
                   expect=400, data=upload.body, headers={"Content-Type": upload.content_type},
                   verify=lambda r, b: None if (b or {}).get("errorCode") == "MISSING_VARIABLES"
                   else f"400 without errorCode MISSING_VARIABLES: {r.text[:200]}")

    @task(1)
    def invalid_key(self) -> None:
        self.check("GET", f"{INDIGITALL_PREFIX}/chat/application/{PLAIN_APP}/task",
                   name=f"GET {INDIGITALL_PREFIX}/chat/application/{{id}}/task [invalid: unknown key -> 401]",
                   expect=401, headers={"Authorization": "ServerKey not-a-key"},
                   verify=lambda r, b: None if (b or {}).get("statusCode") == 401 else f"bad 401 body: {r.text[:200]}")


# -- start-up hooks (registered when this module is imported by the locustfile) ------------------
@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    parser.add_argument("--ledger-file", default=ledger.DEFAULT_FILE, include_in_web_ui=False,
                        help="where the local runner (or the master) writes every accepted campaign/task id")


@events.init.add_listener
def _prepare(environment, **kwargs) -> None:
    """Wire the ledger; in processes that run users, build the bodies and start the file server."""
    ledger.install(environment)
    if isinstance(environment.runner, MasterRunner):
        return
    files = payloads.FileServer(payloads.get().files).start()
    FILES.append(files)
    environment.events.quitting.add_listener(lambda **kw: files.stop())
