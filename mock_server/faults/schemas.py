"""The wire shapes of ``/_mock/faults`` and ``/_mock/requests``: answers dumped by the routes
(``mock_server.wire``) and shown by the OpenAPI document. The posted rule's schema is the one
the route loads with (:func:`~.rules.rule_schema`)."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..wire import Instant, Real
from .rules import rule_schema


def rule_body(settings, providers) -> type[Schema]:
    """The rule as posted, for these providers (``match.provider`` is one of their names)."""
    return rule_schema([provider.name for provider in providers])


class StoredRuleSchema(Schema):
    """A rule as stored: as given, plus its id, instants and counters."""

    id = fields.String(required=True)
    match = fields.Dict(required=True)
    action = fields.Dict(required=True)
    times = fields.Integer(required=True, allow_none=True)
    after = fields.Integer(required=True)
    probability = Real(required=True)
    expiresAfter = fields.String(required=True, allow_none=True)
    createdAt = Instant(required=True)
    expiresAt = Instant(required=True, allow_none=True)
    matched = fields.Integer(required=True, metadata={"description": "requests the rule's match selected"})
    fired = fields.Integer(required=True, metadata={"description": "requests it acted on"})
    lastFired = fields.Integer(required=True, allow_none=True)


class RuleListSchema(Schema):
    faults = fields.List(fields.Nested(StoredRuleSchema), required=True)
    total = fields.Integer(required=True)


class DeletedRuleSchema(Schema):
    deleted = fields.String(required=True)


class DeletedRulesSchema(Schema):
    deleted = fields.Integer(required=True)


class ClearedSchema(Schema):
    status = fields.String(required=True)


def journal_page(settings, providers) -> type[Schema]:
    """A page of the journal; an entry carries the created record's id field of each provider."""
    declared = {
        "id": fields.String(required=True),
        "receivedAt": Instant(required=True),
        "receivedAtReal": Instant(required=True),
        "provider": fields.String(required=True, allow_none=True),
        "method": fields.String(required=True),
        "path": fields.String(required=True),
        "query": fields.Dict(required=True),
        "headers": fields.Dict(keys=fields.String(), values=fields.String(), required=True),
        "body": fields.Dict(required=True, allow_none=True,
                            metadata={"description": "json, or form + files [{field, name, bytes, rows, sha256}], "
                                                     "or text; cut at 64 KiB"}),
        "response": fields.Dict(required=True, metadata={"description": "status (null when dropped), headers, body"}),
        "durationMs": Real(required=True),
        "latencyMs": Real(required=True),
        "fault": fields.String(required=True, allow_none=True),
    }
    for provider in providers:
        if provider.journal_record:
            key, kind = provider.journal_record
            declared.setdefault(key, kind())
    entry = Schema.from_dict(declared, name="JournalEntrySchema")
    entry.__doc__ = "One request as received (credentials masked) and what it was answered."
    return Schema.from_dict({
        "requests": fields.List(fields.Nested(entry), required=True),
        "total": fields.Integer(required=True),
        "page": fields.Integer(required=True),
        "limit": fields.Integer(required=True),
        "dropped": fields.Integer(required=True, metadata={"description": "entries dropped by retention"}),
        "droppedBy": fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                 metadata={"description": "of those, how many for each setting: journal.max_entries, "
                                                          "journal.max_bytes"}),
        "bytes": fields.Integer(required=True, metadata={"description": "bytes the kept entries take (as stored)"}),
        "lost": fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                            metadata={"description": "journal entries and access-log lines of this sandbox this "
                                                     "process could not write (the answers stood): {journal, accessLog}"}),
    }, name="JournalPageSchema")
