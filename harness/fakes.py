"""Seeded fake data for the CSV generator: phones, first names, amounts, dates, order ids.

Decisions
- Faker is slow per call (~10-50 us), so Faker is used once per run to draw *pools* (first
  names, delivery dates) per locale; rows are then built from the pools with one
  ``random.Random``.  Phones, amounts and order ids are built straight from that rng, through
  ``pick``/``between`` (one ``random()`` call each, ~3x faster than ``choice``/``randrange``):
  1,000,000 rows take about 4 s.
- One ``Faker([...])`` holds every locale in use and is seeded with ``seed_instance(seed)``;
  each locale has its own factory, so a locale's pools do not depend on which other locales
  are selected.  ``PhoneProvider`` is added to every factory (``fake[locale].bulk_phone()``)
  for callers that want one-off values straight from Faker.
- Locales are identified as ``es_EC, es_ES, es_MX, es_CO, pt_BR, en_US`` (two-letter country
  codes work too: ``ec, mx, ...``).  Faker has no ``es_EC``; Ecuador's names come from ``es``.  They are always used in that canonical order, so the
  order given on the command line never changes the output.
- Phones are international format without ``+``; every pattern is 8-15 digits, starts with the
  country code and so never with ``999`` (reserved for magic recipients, see ``magic.py``).
"""
from __future__ import annotations

import datetime
import functools
import random
from dataclasses import dataclass

from faker import Faker
from faker.providers import BaseProvider

# Phone patterns: literal digit prefix, then "#" (any digit), optionally led by one "N" (2-9).
PHONE_PATTERNS: dict[str, tuple[str, ...]] = {
    "es_EC": ("5939########",),
    "es_ES": ("346########", "346########", "3471#######", "3472#######", "3473#######"),
    "es_MX": ("5255########", "5233########", "5281########", "52222#######",
              "52155########", "52133########", "52181########"),
    "es_CO": ("5730########", "5731########", "5732########", "57350#######"),
    "pt_BR": ("55119########", "55219########", "55319########", "55419########",
              "55519########", "55619########", "55719########", "55859########"),
    "en_US": ("1212N######", "1213N######", "1305N######", "1312N######", "1415N######",
              "1512N######", "1617N######", "1702N######", "1786N######", "1917N######"),
}

MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
    "pt": ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
           "setembro", "outubro", "novembro", "dezembro"),
}
_DATE_FORMATS = {"en": "{month} {day}", "es": "{day} de {month}", "pt": "{day} de {month}"}
_DATE_RANGE = (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))  # fixed: no "today"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _compile(pattern: str) -> tuple[str, int, int]:
    """``"1212N######"`` -> (prefix ``"1212"``, 7 random digits, lowest value 2000000)."""
    prefix = pattern.rstrip("#N")
    rest = pattern[len(prefix):]
    if not (prefix.isascii() and prefix.isdigit()) or "N" in rest[1:]:
        raise ValueError(f"bad phone pattern {pattern!r}")
    low = 2 * 10 ** (len(rest) - 1) if rest.startswith("N") else 0
    return prefix, len(rest), low


def pick(rng: random.Random, seq):
    """``rng.choice`` for the hot path: one ``random()`` call, about 3x faster."""
    return seq[int(rng.random() * len(seq))]


def between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randrange(low, high)`` for the hot path (ranges far below 2**53)."""
    return low + int(rng.random() * (high - low))


def _money(whole: int, cents: int | None, thousands: str, decimal: str) -> str:
    text = f"{whole:,}".replace(",", thousands)
    return text if cents is None else f"{text}{decimal}{cents:02d}"


def _amount_usd(rng: random.Random) -> str:  # Ecuador and the US: $1,250.00
    c = between(rng, 500, 100_000)
    return "$" + _money(c // 100, c % 100, ",", ".")


def _amount_eur(rng: random.Random) -> str:  # Spain: 1.250,00 €
    c = between(rng, 500, 100_000)
    return _money(c // 100, c % 100, ".", ",") + " €"


def _amount_mxn(rng: random.Random) -> str:  # Mexico: $1,250.00
    c = between(rng, 5_000, 2_000_000)
    return "$" + _money(c // 100, c % 100, ",", ".")


def _amount_cop(rng: random.Random) -> str:  # Colombia: $ 125.000 (no cents)
    return "$ " + _money(between(rng, 100, 20_000) * 100, None, ".", ",")


def _amount_brl(rng: random.Random) -> str:  # Brazil: R$ 1.250,00
    c = between(rng, 1_000, 500_000)
    return "R$ " + _money(c // 100, c % 100, ".", ",")


@dataclass(frozen=True)
class Country:
    """Static facts about one locale."""

    locale: str
    code: str
    faker_locale: str
    language: str
    amount: object  # Callable[[random.Random], str]


COUNTRIES: tuple[Country, ...] = (
    Country("es_EC", "EC", "es", "es", _amount_usd),
    Country("es_ES", "ES", "es_ES", "es", _amount_eur),
    Country("es_MX", "MX", "es_MX", "es", _amount_mxn),
    Country("es_CO", "CO", "es_CO", "es", _amount_cop),
    Country("pt_BR", "BR", "pt_BR", "pt", _amount_brl),
    Country("en_US", "US", "en_US", "en", _amount_usd),
)
LOCALES: tuple[str, ...] = tuple(c.locale for c in COUNTRIES)
_COMPILED = {loc: tuple(_compile(p) for p in pats) for loc, pats in PHONE_PATTERNS.items()}


def resolve_locales(names=None) -> tuple[str, ...]:
    """Canonical, de-duplicated locale keys; accepts ``es_MX``, ``es-mx``, ``mx`` or ``all``."""
    if not names:
        return LOCALES
    wanted = set()
    for raw in names:
        for name in str(raw).replace(",", " ").split():
            key = name.replace("-", "_").lower()
            if key == "all":
                wanted.update(LOCALES)
                continue
            match = [c.locale for c in COUNTRIES if key in (c.locale.lower(), c.code.lower())]
            if not match:
                raise ValueError(f"unknown locale {name!r}; use one of {', '.join(LOCALES)} "
                                 f"(or the country codes {', '.join(c.code for c in COUNTRIES)})")
            wanted.update(match)
    return tuple(loc for loc in LOCALES if loc in wanted)


def _phone(rng: random.Random, patterns) -> str:
    prefix, n, low = pick(rng, patterns)
    return f"{prefix}{between(rng, low, 10**n):0{n}d}"


def build_phone(rng: random.Random, locale: str) -> str:
    """A realistic mobile number of ``locale``, digits only (e.g. ``593987654321``)."""
    return _phone(rng, _COMPILED[locale])


def order_id(rng: random.Random) -> str:
    """An order id like ``A12345`` (letter + 5 digits)."""
    return f"{pick(rng, _LETTERS)}{between(rng, 10_000, 100_000)}"


class PhoneProvider(BaseProvider):
    """Faker provider: ``fake[faker_locale].bulk_phone()`` -> digits-only mobile of its country."""

    def __init__(self, generator, locale: str = "es_EC"):
        super().__init__(generator)
        self.bulk_locale = locale

    def bulk_phone(self, locale: str | None = None) -> str:
        return build_phone(self.generator.random, locale or self.bulk_locale)


@dataclass(frozen=True)
class LocaleData:
    """One locale's pools plus fast per-row helpers (all randomness from the caller's rng)."""

    country: Country
    first_names: tuple[str, ...]
    dates: tuple[str, ...]
    patterns: tuple[tuple[str, int, int], ...]

    def phone(self, rng: random.Random) -> str:
        return _phone(rng, self.patterns)

    def first_name(self, rng: random.Random) -> str:
        return pick(rng, self.first_names)

    def date(self, rng: random.Random) -> str:
        return pick(rng, self.dates)

    def amount(self, rng: random.Random) -> str:
        return self.country.amount(rng)


def make_faker(seed: int, locales=None) -> Faker:
    """A ``Faker`` over the Faker locales behind ``locales``, seeded, with ``PhoneProvider``."""
    countries = [c for c in COUNTRIES if c.locale in resolve_locales(locales)]
    fake = Faker([c.faker_locale for c in countries])
    fake.seed_instance(seed)
    for c in countries:
        fake[c.faker_locale].add_provider(PhoneProvider(fake[c.faker_locale], c.locale))
    return fake


def _format_date(day: datetime.date, language: str) -> str:
    return _DATE_FORMATS[language].format(month=MONTHS[language][day.month - 1], day=day.day)


def build_pools(seed: int = 0, locales=None, pool_size: int = 1000) -> tuple[LocaleData, ...]:
    """Draw the per-locale pools from a seeded Faker; same arguments -> same pools (cached)."""
    return _build_pools(seed, resolve_locales(locales), pool_size)


@functools.lru_cache(maxsize=8)
def _build_pools(seed: int, keys: tuple[str, ...], pool_size: int) -> tuple[LocaleData, ...]:
    fake = make_faker(seed, keys)
    pools = []
    for country in (c for c in COUNTRIES if c.locale in keys):
        f = fake[country.faker_locale]
        names = tuple(f.first_name() for _ in range(pool_size))
        dates = tuple(_format_date(f.date_between_dates(*_DATE_RANGE), country.language)
                      for _ in range(max(1, pool_size // 4)))
        pools.append(LocaleData(country, names, dates, _COMPILED[country.locale]))
    return tuple(pools)
