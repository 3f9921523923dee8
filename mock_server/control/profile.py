"""``GET /_mock/profile`` and ``PUT /_mock/profile``: the sandbox's traffic profile (CONTRACT §14).

A sandbox starts with ``delivery.profile`` (default ``ideal``); ``PUT`` with ``{"name": ...}`` or an
inline ``{"profile": {...}}`` (named ``custom``) replaces it for the campaigns and tasks accepted
from then on (each keeps the profile it was accepted with). An invalid one is a 400 naming the
field, and nothing changes. ``POST /_mock/reset`` drops it with every other record, so the sandbox
is back on the default.
"""

from __future__ import annotations

from ..errors import ControlError
from ..profiles import CUSTOM, ProfileError, parse
from ..sandbox import current
from ..wire import answers, takes
from .routes import _state, bp
from .schemas import ProfileChangeSchema, ProfileSchema


@bp.get("/profile")
@answers(ProfileSchema, description="The sandbox's traffic profile")
def get_profile():
    state = _state()
    name, profile = state.profiles.of(current())
    return {"name": name, "profile": profile.to_plain(), "available": state.profiles.catalogue.names()}


@bp.put("/profile")
@answers(ProfileSchema, description="The sandbox's traffic profile, changed")
@takes(ProfileChangeSchema, load=True)
def put_profile(body: dict):
    state = _state()
    catalogue = state.profiles.catalogue
    if "name" in body:
        name = body["name"]
        profile = catalogue.get(name)
        if profile is None:
            raise ControlError(f"name: no profile called {name[:80]!r} (known: {', '.join(catalogue.names())}; "
                               'or give an inline "profile")')
    else:
        name = CUSTOM
        try:
            profile = parse(body["profile"], ideal=catalogue.ideal)
        except ProfileError as exc:
            raise ControlError(f"profile.{exc}") from None
    state.profiles.set(current(), name, profile)
    return {"name": name, "profile": profile.to_plain(), "available": catalogue.names()}
