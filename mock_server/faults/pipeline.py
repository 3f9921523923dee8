"""The request pipeline: fault rules, rate limits, latency, the journal and the access log.

Two halves:

- :class:`~.middleware.Middleware` wraps the WSGI app (``middleware.py``). It times every request,
  drops the connection when a ``drop`` rule fired, and once the app has answered calls
  :meth:`Instrument.finish`, which writes the journal entry and the access-log line.
- Flask hooks (:meth:`Instrument.before` / :meth:`Instrument.after`) do the rest with the request
  parsed: ``before`` summarises the request, picks the fault rule, applies its latency, answers a
  fault status or a rate-limit 429 *before any route runs* (so nothing is stored), then applies the
  latency profile; ``after`` turns an ``afterCommit`` answer into the error (the record is already
  stored), adds ``X-Mock-Fault`` and keeps the response for the journal.

The control plane (``/_mock``) is never faulted, limited or journaled; it is logged.

What happens once the answer is decided never changes it: the record may already be stored, and a
client retrying a 500 would create it twice. A journal entry or access-log line that cannot be
written (the shared store unreachable, an entry it cannot encode) is logged and counted instead
(:meth:`Instrument.lost`, per sandbox in this process, shown by ``GET /_mock/requests``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from http import HTTPStatus

from flask import Flask, Response, request

from .. import serving
from ..errors import owner
from ..metrics import CONTROL
from ..providers import accepted_messages, created_record
from ..isotime import isoformat
from ..sandbox import ENV_NAME, current
from ..store import DEFAULT_SANDBOX
from . import journal
from .middleware import EXCHANGE, Exchange, Middleware
from .ratelimits import check as check_rate_limits
from .rules import RequestView, latency_seconds, load_rule, seconds, whole_seconds

CONTROL_PREFIX = "/_mock"
LOST_KINDS = ("journal", "accessLog")

log = logging.getLogger("mock_server.faults")


class Instrument:
    """Per-app fault rules, rate limits, latency profiles, journal and access log."""

    def __init__(self, state, providers, records, rate_limits, latency_profiles, access_log) -> None:
        self.state = state
        self.providers = providers               # name -> Provider
        self.prefixes = [(prefix, name) for name, provider in providers.items()
                         for prefix in provider.path_prefixes(state.settings)]
        self.records = records
        self.rate_limits = rate_limits
        self.latency_profiles = latency_profiles
        self.access_log = access_log
        self._lost: Counter = Counter()          # (kind, sandbox) -> entries or lines this process lost
        self._lost_lock = threading.Lock()
        if access_log is not None:               # lines its writer thread dropped or could not write
            access_log.on_lost = self._lines_lost

    def load_rule(self, body) -> dict:
        """A posted fault rule, checked (``match.provider``: one of this app's providers)."""
        return load_rule(body, tuple(self.providers))

    def install(self, app: Flask) -> None:
        app.before_request(self.before)
        app.after_request(self.after)
        app.wsgi_app = Middleware(app.wsgi_app, self)

    # -- Flask hooks -----------------------------------------------------------------------
    def provider_of(self, path: str) -> str | None:
        """The provider whose paths (longest prefix) hold ``path``, as for error envelopes."""
        return owner(path, self.prefixes)

    def before(self) -> Response | None:
        exchange: Exchange | None = request.environ.get(EXCHANGE)
        if exchange is None or request.path.startswith(CONTROL_PREFIX):
            return None
        exchange.sandbox = current_sandbox(request.environ)
        sb = current()
        now = sb.now_dt()                              # the request context's one clock reading
        exchange.provider = self.provider_of(request.path)
        exchange.entry = {
            "receivedAt": isoformat(now), "receivedAtReal": isoformat(exchange.received_real),
            "provider": exchange.provider, "method": request.method, "path": request.path,
            "query": journal.mask_value({key: (values[0] if len(values) == 1 else values)
                                         for key, values in request.args.lists()}),
            "headers": journal.masked_headers(request.headers, self._secret_headers(exchange.provider)),
            "body": journal.request_body(request),
        }
        if exchange.provider is None:
            return None
        view = RequestView(exchange.provider, request.method, request.path,
                           self.providers[exchange.provider].credential(request))
        rule = self.records.select_rule(sb, view, now, self._draw)
        exchange.rule = rule
        if rule is not None:
            self.state.metrics.fault_fired(exchange.provider, exchange.sandbox)
            answer = self._apply_before(exchange, rule["action"])
            if answer is not None:
                return answer
        limited = self._rate_limit(exchange, view, now)
        if limited is not None:
            return limited
        self._profile_latency(exchange)
        return None

    def _secret_headers(self, provider: str | None) -> tuple[str, ...]:
        """The request headers the provider carries credentials in (besides Authorization)."""
        found = self.providers.get(provider) if provider else None
        return tuple(name.lower() for name in found.credential_headers) if found else ()

    def _draw(self, rule_id: str, number: int) -> float:
        return self.state.rng("fault", rule_id, number).random()

    def _apply_before(self, exchange: Exchange, action: dict) -> Response | None:
        if "latency" in action:
            rule_id, fired = exchange.rule["id"], exchange.rule["fired"]
            wait = latency_seconds(action["latency"], lambda: self.state.rng("latency", rule_id, fired).random())
            exchange.latency += wait
            serving.hold_until(request.environ, exchange.latency)
        if action.get("afterCommit"):
            return None
        if "drop" in action:
            exchange.drop = action["drop"]
            return self._faulted(exchange, self.error_response(exchange.provider, 502, "connection dropped"))
        if "status" in action:
            return self._faulted(exchange, self.fault_response(exchange, action))
        return None

    def fault_response(self, exchange: Exchange, action: dict) -> Response:
        status = action["status"]
        response = self.error_response(exchange.provider, status, action.get("message"))
        if status == 429 or "retryAfter" in action:
            wait = seconds(action.get("retryAfter", "PT1S"), "retryAfter")
            response.headers["Retry-After"] = str(whole_seconds(wait))
            if status == 429:
                reset = current().now() + wait
                response.headers["X-RateLimit-Limit"] = str(action.get("limit", 0))
                response.headers["X-RateLimit-Remaining"] = "0"
                response.headers["X-RateLimit-Reset"] = str(int(-(-reset // 1)))
        return response

    def error_response(self, provider: str, status: int, message: str | None) -> Response:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return self.providers[provider].http_error(status, message or phrase).response()

    def _faulted(self, exchange: Exchange, response: Response) -> Response:
        response.headers["X-Mock-Fault"] = exchange.rule["id"]
        return response

    def _rate_limit(self, exchange: Exchange, view: RequestView, now) -> Response | None:
        if not self.rate_limits:
            return None
        subjects = {"credential": view.credential}
        for per, subject_of in self.providers[exchange.provider].rate_limit_subjects.items():
            subjects[per] = subject_of(request)
        verdict = check_rate_limits(self.rate_limits, exchange.provider, subjects, now.timestamp(),
                                    lambda keys: self.records.take(exchange.sandbox, keys))
        exchange.record["rateLimitHeaders"] = verdict.headers
        if verdict.retry_after is None:
            return None
        response = self.error_response(exchange.provider, 429, f"Rate limit exceeded: {verdict.limit.limit} requests "
                                       f"per {verdict.limit.window:g} s per {verdict.limit.per}; retry after "
                                       f"{verdict.retry_after} s")
        response.headers["Retry-After"] = str(verdict.retry_after)
        exchange.record["rateLimited"] = True
        return response

    def _profile_latency(self, exchange: Exchange) -> None:
        files = (exchange.entry.get("body") or {}).get("files") or []
        rows = sum(part["rows"] for part in files)
        wait = sum(profile.seconds(rows) for profile in self.latency_profiles
                   if profile.applies(exchange.provider, request.method, request.path))
        if wait > 0:
            exchange.latency += wait
            serving.hold_until(request.environ, exchange.latency)

    def after(self, response: Response) -> Response:
        exchange: Exchange | None = request.environ.get(EXCHANGE)
        if exchange is not None and request.url_rule is not None:
            exchange.route = request.url_rule.rule
        if exchange is None or exchange.entry is None:
            return response
        action = exchange.rule["action"] if exchange.rule else {}
        exchange.created.update(created_record())       # handed over by the provider's route
        if action.get("afterCommit") and exchange.provider is not None:
            if "drop" in action:
                exchange.drop = action["drop"]
            else:
                response = self.fault_response(exchange, action)
        for name, value in exchange.record.get("rateLimitHeaders", {}).items():
            response.headers.setdefault(name, value)
        if exchange.rule is not None:
            response.headers["X-Mock-Fault"] = exchange.rule["id"]
        try:
            exchange.entry["response"] = journal.response_summary(response)
        except Exception as exc:                 # the answer stands; the summary is best effort
            log.exception("cannot summarise the answer to %s %s for the journal", request.method, request.path)
            exchange.entry["response"] = {"status": response.status_code, "headers": {},
                                          "unsummarised": f"{type(exc).__name__}: {exc}"[:200]}
        return response

    # -- after the answer ------------------------------------------------------------------
    def finish(self, exchange: Exchange, environ) -> None:
        """Write the journal entry and the access-log line (once per request)."""
        if exchange.finished:
            return
        exchange.finished = True
        exchange.sandbox = current_sandbox(environ)      # chosen by SandboxSelector, inside this middleware
        duration = round(exchange.elapsed(), 1)
        record = dict(exchange.created)
        if exchange.entry is not None:
            entry = exchange.entry
            if "response" not in entry:
                entry["response"] = {"status": exchange.status, "headers": {}}
            if exchange.drop in ("reset", "empty"):
                entry["response"] = {"status": None, "dropped": exchange.drop}
            elif exchange.drop:
                entry["response"]["dropped"] = exchange.drop
            entry.update(durationMs=duration, latencyMs=round(exchange.latency * 1000.0, 1), fault=exchange.rule["id"] if exchange.rule else None, **record)
            try:
                self.records.log(exchange.sandbox, entry)
            except Exception:                    # the answer stands (see the module doc)
                self._count_lost("journal", exchange, environ)
        self._count(exchange, environ, duration)
        if self.access_log is not None:
            try:
                self.access_log.write(environ, exchange, duration, record)
            except Exception:                    # the answer stands
                self._count_lost("accessLog", exchange, environ)

    def _count(self, exchange: Exchange, environ, duration_ms: float) -> None:
        """The request's metrics (``mock_server.metrics``); the answer stands whatever happens here."""
        try:
            provider = exchange.provider or self.provider_of(environ.get("PATH_INFO", "")) or CONTROL
            status = "dropped" if exchange.drop in ("reset", "empty") else str(exchange.status or 0)
            metrics = self.state.metrics
            metrics.request(provider, exchange.route, environ.get("REQUEST_METHOD", ""), status, duration_ms / 1000.0,
                            exchange.sandbox)
            messages = accepted_messages(environ)
            if messages:
                metrics.messages_accepted(provider, messages, exchange.sandbox)
        except Exception:
            log.exception("could not count %s %s in the metrics", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))

    def _lines_lost(self, sandbox: str, count: int) -> None:
        with self._lost_lock:
            self._lost["accessLog", sandbox] += count

    def _count_lost(self, kind: str, exchange: Exchange, environ) -> None:
        with self._lost_lock:
            self._lost[kind, exchange.sandbox] += 1
        log.exception("%s: could not record %s %s (sandbox %s, answered %s); the answer stands",
                      "journal" if kind == "journal" else "access log", environ.get("REQUEST_METHOD"),
                      environ.get("PATH_INFO"), exchange.sandbox, exchange.status)

    def lost(self, sandbox: str | None = None) -> dict[str, int]:
        """Journal entries and access-log lines this process could not write: ``{kind: count}``,
        for one sandbox or (``None``) all of them."""
        with self._lost_lock:
            return {kind: sum(count for (what, name), count in self._lost.items()
                              if what == kind and sandbox in (None, name)) for kind in LOST_KINDS}


def current_sandbox(environ) -> str:
    """The request's sandbox, as :class:`~mock_server.sandbox.SandboxSelector` chose it."""
    return environ.get(ENV_NAME) or DEFAULT_SANDBOX
