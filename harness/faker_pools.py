"""The Faker side of ``fakes``: a seeded ``Faker`` with ``PhoneProvider`` on every locale.

Faker is the ``[harness]`` extra (``pip install 'bulk-messaging-mock[harness]'``); without it,
importing this module raises ``MissingExtraError`` naming the extra.
"""
from __future__ import annotations

from .errors import MissingExtraError

try:
    from faker import Faker
    from faker.providers import BaseProvider
except ImportError as error:
    raise MissingExtraError("harness", "generating CSVs (Faker)") from error

from .fakes import COUNTRIES, build_phone, resolve_locales


class PhoneProvider(BaseProvider):
    """Faker provider: ``fake[faker_locale].bulk_phone()`` -> digits-only mobile of its country."""

    def __init__(self, generator, locale: str = "es_EC"):
        super().__init__(generator)
        self.bulk_locale = locale

    def bulk_phone(self, locale: str | None = None) -> str:
        return build_phone(self.generator.random, locale or self.bulk_locale)


def make_faker(seed: int, locales=None) -> Faker:
    """A ``Faker`` over the Faker locales behind ``locales``, seeded, with ``PhoneProvider``."""
    countries = [c for c in COUNTRIES if c.locale in resolve_locales(locales)]
    fake = Faker([c.faker_locale for c in countries])
    fake.seed_instance(seed)
    for c in countries:
        fake[c.faker_locale].add_provider(PhoneProvider(fake[c.faker_locale], c.locale))
    return fake
