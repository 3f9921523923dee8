"""The committed fixtures: one small file per valid and invalid kind, per provider, plus a manifest.

``fixtures/manifest.json`` is a list of entries::

    {"name": "jelou-phone-plus", "provider": "jelou", "kind": "phone-plus", "description": "...",
     "file": "jelou/phone-plus.csv",
     "request": {"filename": "phone-plus.csv", "campaignName": ..., "elementName": ..., "botId": ...,
                 "params": [...], ...}                        # indigitall: applicationId, layout, ...
     "expect": {"status": 422, "field": "file", "line": 2,
                "reason_contains": "the first column must be", "error_code": "E0422"}}

``request`` holds the fields exactly as the provider names them, plus ``filename`` (the upload
name) and, for indigitall, ``applicationId`` (a path parameter).  ``expect`` is what the mock must
answer (``harness.manifest_run.check_answer`` reads an answer the same way the tests do).

Decisions
- Files come from ``csvgen.generate`` with fixed seeds (5 rows; 8 for tricky-cells so every
  tricky value appears; the magic file uses seed 448, whose 7 rows hold each outcome once).
  The seed's two CSV examples and two row-level cases are written as constants.
- Expected answers are stated here, per kind (``JELOU_REJECTS``, ``INDIGITALL_REJECTS``), in the
  mock's words; the line comes from the generator's report.  Building checks that this table and
  ``defects`` (``report.expect_accept``) agree, so the two can never drift silently.
- Every kind is sent to both providers, including kinds a provider accepts (e.g. phone-* and
  wrong-extension for indigitall): the manifest records that they are accepted.
- Request-level cases (unknown bot, pending template, bad slicingCondition...) reuse the valid
  files.  Nothing depends on the clock, so the manifest holds on a running mock at any time.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

from . import defects as d
from .csvgen import generate
from .presets import (INDIGITALL_TEMPLATE_LAYOUT, INDIGITALL_TEXT_LAYOUT, SEED_TEMPLATE_CSV,
                      SEED_TEXT_CSV, get_preset)

MANIFEST = "manifest.json"
ROWS, TRICKY_ROWS, MAGIC_ROWS, MAGIC_SEED, SEED = 5, 8, 7, 448, 0
BOT, APPLICATION = "demo-bot", 100

HEADER_NAME = "column names may only contain letters, numbers and underscores"
PHONE = "the first column must be the phone number"
# kind -> (field, line: "header" | "defect" | None, reason_contains); absent kinds are accepted.
JELOU_REJECTS = {
    d.HEADER_SPACE: ("file", "header", HEADER_NAME),
    d.HEADER_PUNCTUATION: ("file", "header", HEADER_NAME),
    d.HEADER_DUPLICATE: ("file", "header", "duplicate header name"),
    d.NO_HEADER: ("file", "header", HEADER_NAME),
    d.PHONE_PLUS: ("file", "defect", PHONE),
    d.PHONE_SHORT: ("file", "defect", PHONE),
    d.PHONE_LONG: ("file", "defect", PHONE),
    d.PHONE_LETTERS: ("file", "defect", PHONE),
    d.RAGGED_ROW: ("file", "defect", "cells but the header has"),
    d.EMPTY_FILE: ("file", None, "the file is empty"),
    d.HEADER_ONLY: ("file", None, "no data rows"),
    d.LATIN1: ("file", "defect", "must be UTF-8 encoded"),
    d.WRONG_EXTENSION: ("file", None, "Only files with the .csv extension are supported"),
    d.MISSING_VARIABLE: ("params", None, "are not in the CSV header"),
}
MISSING = ("layout", None, "has no CSV column", "MISSING_VARIABLES")
INDIGITALL_REJECTS = {  # + errorCode
    d.HEADER_DUPLICATE: ("file", "header", "duplicate header name", "INVALID_CSV"),
    d.NO_HEADER: MISSING,          # the first row becomes the header: no column is a layout variable
    d.RAGGED_ROW: ("file", "defect", "cells but the header has", "INVALID_CSV"),
    d.EMPTY_FILE: ("file", None, "the file is empty", "INVALID_CSV"),
    d.HEADER_ONLY: ("file", None, "no data rows", "INVALID_CSV"),
    d.LATIN1: ("file", "defect", "must be UTF-8 encoded", "INVALID_CSV"),
    d.MISSING_VARIABLE: MISSING,
}

ROW_CHANNEL_CSV = SEED_TEXT_CSV.replace(b"34666555666,cloud_api", b"34666555666,sms")
ROW_EMPTY_CONTACT_CSV = SEED_TEXT_CSV.replace(b"34666111222,", b",")


def expect(status: int, field=None, line=None, reason=None, code=None) -> dict:
    return {"status": status, "field": field, "line": line, "reason_contains": reason, "error_code": code}


def _jelou_request(preset, filename: str, name: str, **changes) -> dict:
    request = {"filename": filename, "campaignName": f"fixture {name}", "elementName": preset.template,
               "botId": BOT, "params": [dict(x) for x in preset.params], **preset.extra_fields}
    request.update(changes)
    return {key: value for key, value in request.items() if value is not None}


def _indigitall_request(layout: str, filename: str, **changes) -> dict:
    return {"applicationId": APPLICATION, "filename": filename, "layout": layout, **changes}


class _Builder:
    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.files: dict[str, bytes] = {}

    def add(self, name, provider, path, content, request, expected, kind=None, description="") -> None:
        if path in self.files and self.files[path] != content:
            raise RuntimeError(f"two fixtures want different contents in {path}")
        self.files[path] = content
        self.entries.append({"name": name, "provider": provider, "kind": kind, "description": description,
                             "file": path, "request": request, "expect": expected})

    def generated(self, name, provider, stem, *, preset=None, kind=None, rows=ROWS, seed=SEED,
                  magic_rate=0.0, description="", request_changes=None):
        buf = io.BytesIO()
        report = generate(buf, provider, preset=preset, rows=rows, seed=seed, magic_rate=magic_rate,
                          invalid=[kind] if kind else [])
        path = f"{provider}/{stem}{'.txt' if kind == d.WRONG_EXTENSION else '.csv'}"
        filename = path.rsplit("/", 1)[1]
        p = get_preset(provider, report.preset)
        if provider == "jelou":
            request = _jelou_request(p, filename, name, **(request_changes or {}))
        else:
            request = _indigitall_request(p.layout, filename, **(request_changes or {}))
        expected = _expected(provider, kind, report)
        self.add(name, provider, path, buf.getvalue(), request, expected, kind,
                 description or (d.KINDS[kind] if kind else p.description))
        return path, request


def _expected(provider: str, kind: str | None, report) -> dict:
    table = JELOU_REJECTS if provider == "jelou" else INDIGITALL_REJECTS
    rule = table.get(kind)
    if report.expect_accept != (rule is None):
        raise RuntimeError(f"harness.defects and harness.manifest disagree about {kind!r} for {provider}: "
                           f"defects says {'accept' if report.expect_accept else 'reject'}; fix one of them")
    if rule is None:
        return expect(200 if provider == "jelou" else 201)
    field, where, reason = rule[:3]
    line = 1 if where == "header" else (report.lines(kind)[0] if where == "defect" else None)
    if provider == "jelou":
        return expect(422, field, line, reason, "E0422")
    return expect(400, field, line, reason, rule[3])


def build() -> tuple[list[dict], dict[str, bytes]]:
    """Every manifest entry and every file (relative path -> bytes), in a fixed order."""
    b = _Builder()
    valid = {}
    for provider in ("jelou", "indigitall"):
        valid[provider] = b.generated(f"{provider}-valid", provider, "valid")
        b.generated(f"{provider}-magic", provider, "magic", rows=MAGIC_ROWS, seed=MAGIC_SEED, magic_rate=1.0,
                    description="every reserved (999) outcome once")
        for kind in d.KINDS:
            b.generated(f"{provider}-{kind}", provider, kind, kind=kind,
                        rows=TRICKY_ROWS if kind == d.TRICKY_CELLS else ROWS)
    for preset in ("welcome_message", "promo_image", "survey_quick_reply"):
        valid[preset] = b.generated(f"jelou-valid-{preset}", "jelou", f"valid-{preset}", preset=preset)
    valid["template"] = b.generated("indigitall-valid-template", "indigitall", "valid-template", preset="template")
    _jelou_requests(b, valid)
    _indigitall_cases(b, valid["indigitall"])
    return b.entries, b.files


def _jelou_requests(b: _Builder, valid: dict) -> None:
    """Request-level Jelou cases on the valid files."""
    path, request = valid["jelou"]
    cases = [
        ("bot-unknown", {"botId": "no-such-bot"}, expect(404, None, None, "Bot not found", "bot_not_found")),
        ("bot-foreign", {"botId": "foreign-bot"}, expect(403, None, None, "permission", "forbidden_bot")),
        ("template-unknown", {"elementName": "no_such_template"},
         expect(422, "elementName", None, "does not exist", "E0422")),
        ("template-pending", {"elementName": "draft_template", "params": request["params"][:1]},
         expect(422, "elementName", None, "is PENDING", "E0422")),
        ("params-count", {"params": request["params"][:2]},
         expect(422, "params", None, "has 3 parameter(s)", "E0422")),
        ("campaign-name-empty", {"campaignName": ""},
         expect(422, "campaignName", None, "Shorter than minimum length", "E0422")),
    ]
    for name, changes, expected in cases:
        b.add(f"jelou-{name}", "jelou", path, b.files[path], {**request, **changes}, expected,
              description=f"valid file, request changed: {json.dumps(changes)}")
    for preset, field, drop in (("promo_image", "mediaUrl", "mediaUrl"),
                                ("survey_quick_reply", "buttonPayloads", "buttonPayloads")):
        path, request = valid[preset]
        changed = {key: value for key, value in request.items() if key != drop}
        b.add(f"jelou-{preset}-without-{drop}", "jelou", path, b.files[path], changed,
              expect(422, field, None, f"{drop} is required", "E0422"),
              description=f"the {preset} template without {drop}")


def _indigitall_cases(b: _Builder, valid) -> None:
    """The seed's examples, row-level problems and request-level cases."""
    seed_cases = [
        ("seed-text", "seed-text.csv", SEED_TEXT_CSV, INDIGITALL_TEXT_LAYOUT, expect(201),
         "the seed's text layout with the seed's text CSV, as written"),
        ("seed-template", "seed-template.csv", SEED_TEMPLATE_CSV, INDIGITALL_TEMPLATE_LAYOUT, expect(201),
         "the seed's template layout with the seed's template CSV, as written"),
        ("seed-text-layout-template-csv", "seed-template.csv", SEED_TEMPLATE_CSV, INDIGITALL_TEXT_LAYOUT,
         expect(400, "layout", None, "{{channelType}} has no CSV column", "MISSING_VARIABLES"),
         "the text layout with the template CSV: the variable channelType has no column"),
        ("row-channel-not-allowed", "row-channel-not-allowed.csv", ROW_CHANNEL_CSV, INDIGITALL_TEXT_LAYOUT,
         expect(400, "file", 3, "channelType 'sms' is not allowed", "INVALID_ROWS"),
         "the seed's text CSV with channelType sms on line 3"),
        ("row-empty-contact", "row-empty-contact.csv", ROW_EMPTY_CONTACT_CSV, INDIGITALL_TEXT_LAYOUT,
         expect(400, "file", 4, "contactCode is empty", "INVALID_ROWS"),
         "the seed's text CSV with an empty contactCode on line 4"),
    ]
    for name, filename, content, layout, expected, description in seed_cases:
        b.add(f"indigitall-{name}", "indigitall", f"indigitall/{filename}", content,
              _indigitall_request(layout, filename), expected, description=description)
    path, request = valid
    cases = [
        ("application-forbidden", {"applicationId": 300},
         expect(403, None, None, "no access to application 300", "FORBIDDEN_APPLICATION")),
        ("application-unknown", {"applicationId": 999}, expect(404, None, None, "not found", "APPLICATION_NOT_FOUND")),
        ("slicing-condition-unknown", {"slicingCondition": "everySlot"},
         expect(400, "slicingCondition", None, "should be equal to one of", "VALIDATION_ERROR")),
        ("delay-zero", {"delay": "PT0S"}, expect(400, "delay", None, "greater than zero", "VALIDATION_ERROR")),
        ("layout-not-json", {"layout": "{\"contactCode\": "},
         expect(400, "layout", None, "not valid JSON", "VALIDATION_ERROR")),
        ("layout-channel-not-allowed", {"layout": INDIGITALL_TEXT_LAYOUT.replace("{{channelType}}", "sms")},
         expect(400, "layout", None, "channelType 'sms' is not allowed", "VALIDATION_ERROR")),
    ]
    for name, changes, expected in cases:
        b.add(f"indigitall-{name}", "indigitall", path, b.files[path], {**request, **changes}, expected,
              description=f"valid file, request changed: {json.dumps(changes)[:80]}")


def manifest_bytes(entries: list[dict]) -> bytes:
    return (json.dumps(entries, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write(out: str | Path) -> list[str]:
    """Write every fixture and the manifest under ``out``; return the relative paths written."""
    entries, files = build()
    files = {**files, MANIFEST: manifest_bytes(entries)}
    root = Path(out)
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return sorted(files)


def load(root: str | Path) -> list[dict]:
    """The entries of ``root/manifest.json``."""
    path = Path(root) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist; generate it with `mock-harness fixtures --out {root}`") from None
