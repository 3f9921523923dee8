"""The WSGI half of the request pipeline (``pipeline.py`` has the Flask half, :class:`Instrument`).

:class:`Middleware` wraps the WSGI app. It starts every request's :class:`Exchange` (its arrival,
then what the hooks decide: the provider, the fault rule, the journal entry ...), drops the
connection when a ``drop`` rule fired (``reset``, or ``truncate``: half the body, then the
connection cut), and once the app has answered hands the exchange to ``Instrument.finish``, which
writes the journal entry and the access-log line (``durationMs`` runs from the request's arrival
to the answer, not to when the client finished reading it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from .. import serving
from ..isotime import from_timestamp
from ..metrics import UNMATCHED
from ..store import DEFAULT_SANDBOX

if TYPE_CHECKING:
    from .pipeline import Instrument

EXCHANGE = "mock.exchange"


@dataclass
class Exchange:
    """One request on its way through the pipeline."""

    elapsed: Callable[[], float]
    received_real: Any
    provider: str | None = None
    entry: dict | None = None                    # the journal entry being built (None: not journaled)
    rule: dict | None = None
    drop: str | None = None
    status: int | None = None
    sandbox: str = DEFAULT_SANDBOX
    latency: float = 0.0                         # injected seconds (rule and profile)
    record: dict = field(default_factory=dict)
    created: dict = field(default_factory=dict)  # {key: id} of the record the request created
    route: str = UNMATCHED                       # the Flask route template (metrics)
    finished: bool = False


class Middleware:
    """The WSGI half (see the module doc)."""

    def __init__(self, wsgi_app, instrument: "Instrument") -> None:
        self.wsgi_app = wsgi_app
        self.instrument = instrument

    def __call__(self, environ, start_response):
        serving.mark_received(environ)
        exchange = Exchange(lambda: serving.elapsed_ms(environ),
                            from_timestamp(self.instrument.state.store.time_source()))
        environ[EXCHANGE] = exchange
        held: list = []

        def start(status: str, headers, exc_info=None):
            exchange.status = int(status[:3])
            if exchange.drop:
                held[:] = [status, headers]
                return lambda data: None
            return start_response(status, headers, exc_info)

        try:
            result = self.wsgi_app(environ, start)
        except BaseException:
            self.instrument.finish(exchange, environ)
            raise
        if exchange.drop:
            return self._drop(environ, exchange, result, held, start_response)
        self.instrument.finish(exchange, environ)
        return result

    def _drop(self, environ, exchange: Exchange, result, held: list, start_response):
        try:
            body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        if exchange.drop == "truncate":
            start_response(*held)

            def half():
                self.instrument.finish(exchange, environ)
                yield body[: len(body) // 2]
                raise serving.abort(environ)
            return half()
        self.instrument.finish(exchange, environ)       # journaled before the client can see the drop
        if exchange.drop == "reset":
            serving.reset_socket(environ)
        raise serving.abort(environ)
