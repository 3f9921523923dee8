"""``mock-harness conformance``: how far is the mock from the real provider? (CONTRACT §15)

``scenario`` (the steps), ``shape`` (what is compared), ``safety`` (consent, recipients, caps,
pacing, masking), ``runner`` (both sides, saved answers), ``report`` (table, JSON, HTML) and
``command`` (the CLI).
"""
