"""The profiles an app knows (:class:`Catalogue`) and each sandbox's current one, kept in the store
(:class:`SandboxProfiles`)."""

from __future__ import annotations

from .parse import parse
from .values import BUILT_IN, IDEAL, Profile, ideal_profile


class Catalogue:
    """The profiles an app knows: ``ideal`` from ``delivery.*``, the built-ins, ``delivery.profiles``."""

    def __init__(self, delivery) -> None:
        self.ideal = ideal_profile(delivery)
        self.profiles: dict[str, Profile] = {IDEAL: self.ideal}
        for name, data in BUILT_IN.items():
            self.profiles[name] = parse(data, ideal=self.ideal)
        for name, data in (delivery.profiles or {}).items():
            self.profiles[name] = parse(data, ideal=self.ideal, field=f"delivery.profiles.{name}")
        self.default = delivery.profile

    def names(self) -> list[str]:
        return list(self.profiles)

    def get(self, name: str) -> Profile | None:
        return self.profiles.get(name)


class SandboxProfiles:
    """Each sandbox's current profile, kept in the store (so ``POST /_mock/reset`` drops it)."""

    MAP, KEY = "profile", "current"

    def __init__(self, store, catalogue: Catalogue, maps=None) -> None:
        """:param maps: the app's ``sandbox.MapCache``: the profile is read again only when its map
        changed (a send reads it; without the cache that is a store round trip per send)."""
        self.store = store
        self.catalogue = catalogue
        self.maps = maps

    def of(self, sb) -> tuple[str, Profile]:
        """The sandbox's profile: ``(name, profile)``."""
        if self.maps is not None:
            found = dict(self.maps.items(sb, self.MAP)).get(self.KEY)
        else:
            found = self.store.get_value(sb.name, self.MAP, self.KEY)
        if found is None:
            name = self.catalogue.default
            return name, self.catalogue.profiles[name]
        return found["name"], Profile.from_json(found["profile"])

    def set(self, sb, name: str, profile: Profile) -> None:
        self.store.put(sb.name, self.MAP, self.KEY, {"name": name, "profile": profile.to_json()})

    def for_batch(self, sb) -> tuple[str | None, Profile]:
        """What a batch accepted now keeps: the profile's text (None for ``ideal``: the batch then
        follows the ``delivery.*`` settings exactly as before profiles existed) and the profile."""
        name, profile = self.of(sb)
        return (None if name == IDEAL else profile.to_json()), profile
