"""``MockControl``: a ``requests`` client for the mock's control plane (``/_mock``).

It owns its ``requests.Session`` unless one is passed in; ``close()`` (or ``with``) closes only
a session it owns.  Responses are closed as soon as they are read.
"""

from __future__ import annotations

from typing import Any

import requests

from .failures import FaultControl, RequestJournal


class ControlError(RuntimeError):
    """The control plane answered an error; ``body`` is its JSON."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


class ClockControl:
    def __init__(self, control: "MockControl") -> None:
        self._control = control

    def now(self) -> str:
        return self._control._call("GET", "/_mock/clock")["now"]

    def state(self) -> dict:
        return self._control._call("GET", "/_mock/clock")

    def set(self, moment: str) -> str:
        return self._control._call("POST", "/_mock/clock", json={"now": moment})["now"]

    def advance(self, duration: str) -> str:
        """Move forward by an ISO 8601 duration (``PT2H``, ``P1D``)."""
        return self._control._call("POST", "/_mock/clock", json={"advance": duration})["now"]

    def freeze(self, frozen: bool = True) -> dict:
        return self._control._call("POST", "/_mock/clock", json={"frozen": frozen})


class MockControl:
    """Reset, clock, message inspection, fault rules (``faults``) and the request journal (``journal``)."""

    def __init__(self, base_url: str, *, session: requests.Session | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.timeout = timeout
        self.clock = ClockControl(self)
        self.faults = FaultControl(self)
        self.journal = RequestJournal(self)

    def _call(self, method: str, path: str, **kwargs) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        with self.session.request(method, self.base_url + path, **kwargs) as response:
            try:
                body = response.json() if response.content else None
            except ValueError:
                body = response.text
            status = response.status_code
        if status >= 400:
            raise ControlError(status, body)
        return body

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> "MockControl":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def health(self) -> dict:
        return self._call("GET", "/_mock/health")

    def reset(self, *, clock: bool = False) -> dict:
        """Reset the sandbox; ``clock=True`` also returns its clock to the configured start."""
        return self._call("POST", "/_mock/reset", json={"clock": True} if clock else None)

    def sandboxes(self) -> list[dict]:
        """Every sandbox of the server (name, clock, record counts)."""
        return self._call("GET", "/_mock/sandboxes")["sandboxes"]

    def drop_sandbox(self, name: str) -> dict:
        return self._call("DELETE", f"/_mock/sandboxes/{name}")

    def messages(self, *, provider: str | None = None, campaign: str | None = None, status: str | None = None,
                 wait_for: int | None = None, timeout: float | None = None, offset: int = 0,
                 limit: int | None = None) -> dict:
        """``{"messages": [...], "total": N}``; with ``wait_for`` the server holds until N match."""
        params = {"provider": provider, "campaign": campaign, "status": status, "wait_for": wait_for,
                  "timeout": timeout, "offset": offset or None, "limit": limit}
        params = {key: value for key, value in params.items() if value is not None}
        extra = (timeout or 10.0) + 5.0 if wait_for else 0.0
        return self._call("GET", "/_mock/messages", params=params, timeout=self.timeout + extra)

    # -- traffic profiles (CONTRACT §14) --------------------------------------------------------
    def profile(self) -> dict:
        """The sandbox's traffic profile: ``{"name", "profile": {...every field resolved...}, "available"}``."""
        return self._call("GET", "/_mock/profile")

    def set_profile(self, profile: str | dict) -> dict:
        """Use a known profile by name (``"realistic"``) or an inline one (a dict: named ``custom``)."""
        body = {"name": profile} if isinstance(profile, str) else {"profile": profile}
        return self._call("PUT", "/_mock/profile", json=body)

    def curve(self, campaign: str, *, step: str | None = None) -> dict:
        """How many of a campaign's (task's) messages stand in each status over mock time."""
        params = {"campaign": campaign, **({"step": step} if step else {})}
        return self._call("GET", "/_mock/messages/curve", params=params)
