"""CSV presets: which columns a file has, how a row is made, and what to send with it.

A preset is named ``provider:name``.  Jelou presets match the demo templates of CONTRACT.md §2
(first column ``phone_number``, one column per placeholder, ``params`` mapping placeholder
numbers to columns).  indigitall presets are the two layouts of the seed document, kept as the
exact JSON text of the seed (``INDIGITALL_TEXT_LAYOUT``, ``INDIGITALL_TEMPLATE_LAYOUT``); the
seed's two CSV examples are ``SEED_TEXT_CSV`` and ``SEED_TEMPLATE_CSV``.

``text_column`` is the one column that may hold free text (names, dates...): the generator
puts tricky cells and latin-1 text there and nowhere else, because other columns carry values
the mock checks (phone, ``channelType``, ``templateName``).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Callable

from .fakes import LocaleData, between, order_id, pick

# Exactly as in seeds/indigitall-send-messages-from-csv.txt (2-space indent, no final newline).
INDIGITALL_TEXT_LAYOUT = """{
  "contactCode": "{{contactCode}}",
  "channelType": "{{channelType}}",
  "sendType": "proactive",
  "content": {
    "body": "Hi there {{name}}!"
  }
}"""

INDIGITALL_TEMPLATE_LAYOUT = """{
  "contactCode": "{{contactCode}}",
  "channelType": "cloud_api",
  "sendType": "proactive",
  "content": {
    "template": {
      "name": "{{templateName}}",
      "language": {
        "policy": "deterministic",
        "code": "es"
      },
      "components": [
        {
          "type": "body",
          "parameters": [
            {
              "type": "text",
              "text": "{{name}}"
            }
          ]
        },
        {
          "index": "0",
          "type": "button",
          "subType": "quickReply",
          "parameters": [
            {
              "type": "payload",
              "payload": "{{ticketId}}"
            }
          ]
        }
      ]
    }
  }
}"""

# The seed's two CSV examples, as written there (one record per line, with a final newline).
SEED_TEXT_CSV = b"""contactCode,channelType,name
34666777888,cloud_api,John
34666555666,cloud_api,Jane
34666111222,cloud_api,Alice
"""

SEED_TEMPLATE_CSV = b"""contactCode,templateName,name,ticketId
34666777888,new_ticket,John,5123
34666555666,new_ticket,Jane,5528
34666111222,error_ticket,Alice,4125
"""

PROVIDERS = ("jelou", "indigitall")
DEFAULT_PRESETS = {"jelou": "jelou:order_confirmation", "indigitall": "indigitall:text"}
INDIGITALL_TEMPLATES = ("new_ticket", "error_ticket")
_VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")

RowFactory = Callable[[random.Random, LocaleData], list]


def layout_variables(layout: str) -> list[str]:
    """The ``{{variable}}`` names of a layout, in first-seen order, without duplicates."""
    return list(dict.fromkeys(_VARIABLE.findall(layout)))


@dataclass(frozen=True)
class Preset:
    """Everything needed to generate one kind of file and to send it."""

    name: str
    provider: str
    columns: tuple[str, ...]
    make_row: RowFactory
    description: str
    phone_column: str
    text_column: str | None = None
    template: str | None = None  # Jelou elementName
    params: list = field(default_factory=list)  # Jelou: [{"param": 1, "column": "..."}]
    layout: str | None = None  # indigitall: the layout JSON text
    extra_fields: dict = field(default_factory=dict)  # other request fields the template needs

    @property
    def required_columns(self) -> list[str]:
        """Columns the request refers to: params columns (Jelou) or layout variables."""
        if self.layout is not None:
            return layout_variables(self.layout)
        return [p["column"] for p in self.params]


def _params(*columns: str) -> list:
    return [{"param": i, "column": c} for i, c in enumerate(columns, start=1)]


def _order_confirmation(rng, loc):
    return [loc.phone(rng), order_id(rng), loc.amount(rng), loc.date(rng)]


def _phone_only(rng, loc):
    return [loc.phone(rng)]


def _phone_name(rng, loc):
    return [loc.phone(rng), loc.first_name(rng)]


def _indigitall_text(rng, loc):
    return [loc.phone(rng), "cloud_api", loc.first_name(rng)]


def _indigitall_template(rng, loc):
    return [loc.phone(rng), pick(rng, INDIGITALL_TEMPLATES), loc.first_name(rng),
            str(between(rng, 1000, 10000))]


_PRESET_LIST = (
    Preset("jelou:order_confirmation", "jelou",
           ("phone_number", "order_id", "order_amount", "delivery_date"), _order_confirmation,
           "order id, amount and delivery date for 'Your order {{1}} for a total of {{2}}...'",
           "phone_number", "delivery_date", "order_confirmation",
           _params("order_id", "order_amount", "delivery_date")),
    Preset("jelou:welcome_message", "jelou", ("phone_number",), _phone_only,
           "phone only (template without placeholders)", "phone_number", None,
           "welcome_message", []),
    Preset("jelou:promo_image", "jelou", ("phone_number", "first_name"), _phone_name,
           "first name for an image template (send type=image and a mediaUrl)",
           "phone_number", "first_name", "promo_image", _params("first_name"),
           extra_fields={"type": "image", "mediaUrl": "https://example.com/promo.jpg"}),
    Preset("jelou:survey_quick_reply", "jelou", ("phone_number", "first_name"), _phone_name,
           "first name for a template with 2 quick-reply buttons (needs buttonPayloads)",
           "phone_number", "first_name", "survey_quick_reply", _params("first_name"),
           extra_fields={"buttonPayloads": [{"flowId": 1001, "action": "survey_yes"},
                                            {"flowId": 1002, "action": "survey_no"}]}),
    Preset("indigitall:text", "indigitall", ("contactCode", "channelType", "name"),
           _indigitall_text, "the seed's text layout (channelType cloud_api)",
           "contactCode", "name", layout=INDIGITALL_TEXT_LAYOUT),
    Preset("indigitall:template", "indigitall", ("contactCode", "templateName", "name", "ticketId"),
           _indigitall_template, "the seed's template layout (new_ticket/error_ticket, 4-digit ticketId)",
           "contactCode", "name", layout=INDIGITALL_TEMPLATE_LAYOUT),
)
PRESETS: dict[str, Preset] = {p.name: p for p in _PRESET_LIST}


class UnknownPreset(ValueError):
    """Raised with a message that lists the valid preset names."""


def preset_names(provider: str | None = None) -> list[str]:
    return [p.name for p in _PRESET_LIST if provider in (None, p.provider)]


def get_preset(provider: str, name: str | None = None) -> Preset:
    """``name`` may be ``order_confirmation`` or ``jelou:order_confirmation``; None -> default."""
    if provider not in PROVIDERS:
        raise UnknownPreset(f"unknown provider {provider!r}; use one of: {', '.join(PROVIDERS)}")
    full = DEFAULT_PRESETS[provider] if not name else (name if ":" in name else f"{provider}:{name}")
    preset = PRESETS.get(full)
    if preset is None or preset.provider != provider:
        raise UnknownPreset(f"unknown preset {name!r} for {provider}; valid presets: "
                            f"{', '.join(preset_names(provider))}")
    return preset
