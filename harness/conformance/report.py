"""The outputs of ``mock-harness conformance``: the plan, the table, ``--report`` JSON and ``--html``.

Every body shown has been through the ``Redactor`` (credentials masked, recipients aliased); the
HTML is rendered by Jinja2 with autoescaping, so a provider's answer can never become markup.
"""
from __future__ import annotations

import json
from typing import Any, TextIO

from jinja2 import Environment

from .runner import Planned
from .sides import Outcome
from .safety import Redactor

RESULTS = ("same", "differs", "skipped", "error")


def print_plan(planned: list[Planned], *, out: TextIO, target: str, recipients: tuple[str, ...],
               max_requests: int | None) -> int:
    """Print the plan; return how many requests it may send to the target."""
    running = [item for item in planned if item.skip is None]
    if max_requests is None:
        out.write(f"Plan: {len(running)} step(s) compared with the saved answers of {target}\n")
    else:
        who = ", ".join(f"<recipient-{i}>" for i in range(1, len(recipients) + 1)) or "nobody"
        out.write(f"Plan: up to {len(running)} request(s) to {target} (at most {max_requests}, "
                  f"2 per second); messages only to {who}\n")
    for item in planned:
        step = item.step
        mark = "run " if item.skip is None else "skip"
        out.write(f"  {mark} {step.name:<28} {step.method} {step.path}\n")
        out.write(f"       sends: {step.sends}" + (f"\n       skipped: {item.skip}" if item.skip else "") + "\n")
    out.flush()
    return len(running)


def _detail(outcome: Outcome) -> str:
    if outcome.differences:
        first = outcome.differences[0]
        more = len(outcome.differences) - 1
        return (f"{first['path']}: target {first['target']} / mock {first['mock']}"
                + (f" (+{more} more)" if more else ""))
    if outcome.reason:
        return outcome.reason
    return f"HTTP {outcome.target.status}" if outcome.target else ""


def print_table(outcomes: list[Outcome], out: TextIO) -> None:
    rows = [(o.step.name, f"{o.step.method} {o.step.path}", o.result, _detail(o)) for o in outcomes]
    widths = [max([len(header)] + [len(row[i]) for row in rows]) for i, header in enumerate(("STEP", "REQUEST", "RESULT"))]
    out.write(f"{'STEP':<{widths[0]}}  {'REQUEST':<{widths[1]}}  {'RESULT':<{widths[2]}}  DETAIL\n")
    for row in rows:
        out.write(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}\n")
    for outcome in outcomes:
        for difference in outcome.differences[1:]:
            out.write(f"  {outcome.step.name}: {difference['path']}: target {difference['target']} / "
                      f"mock {difference['mock']}\n")
    counts = summary(outcomes)
    out.write(", ".join(f"{counts[name]} {name}" for name in RESULTS) + "\n")


def summary(outcomes: list[Outcome]) -> dict[str, int]:
    return {name: sum(1 for outcome in outcomes if outcome.result == name) for name in RESULTS}


def exit_code(outcomes: list[Outcome]) -> int:
    """0 when every step is same or skipped, else 1."""
    return 0 if all(outcome.result in ("same", "skipped") for outcome in outcomes) else 1


def report_document(outcomes: list[Outcome], *, target: str, mode: str, generated_at: str) -> dict:
    """The ``--report`` JSON (CONTRACT §15)."""
    return {
        "steps": [{"name": o.step.name, "provider": o.step.provider,
                   "request": {"method": o.step.method, "path": o.step.path},
                   "result": o.result, "differences": o.differences, "reason": o.reason}
                  for o in outcomes],
        "summary": summary(outcomes),
        "target": target,
        "mode": mode,
        "generatedAt": generated_at,
        "exitCode": exit_code(outcomes),
    }


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conformance: {{ target }}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; max-width: 110rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin: 0; }
section { border: 1px solid #ccc; border-radius: 6px; margin: 1rem 0; padding: .75rem 1rem; }
.same { border-left: 6px solid #2e7d32; } .differs { border-left: 6px solid #c62828; }
.skipped { border-left: 6px solid #9e9e9e; } .error { border-left: 6px solid #ef6c00; }
.badge { font-weight: 600; text-transform: uppercase; font-size: .8rem; margin-left: .5rem; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
pre { background: #f6f6f6; padding: .5rem; overflow: auto; max-height: 28rem; white-space: pre-wrap;
      word-break: break-word; margin: 0; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { border: 1px solid #ddd; padding: .2rem .5rem;
      text-align: left; vertical-align: top; }
code { font-size: .9em; }
</style></head><body>
<h1>Conformance: target {{ target }} vs the mock</h1>
<p>{{ mode }} &middot; {{ generated_at }} &middot;
{% for name, count in counts.items() %}{{ count }} {{ name }}{% if not loop.last %}, {% endif %}{% endfor %}</p>
<p>Compared: HTTP status, JSON key paths and types (arrays by the union of their elements), enumeration
values (statuses, error codes and keys). Never ids, times, counts or free text.</p>
{% for o in outcomes %}
<section class="{{ o.result }}" id="{{ o.step.name }}">
<h2><code>{{ o.step.name }}</code><span class="badge">{{ o.result }}</span></h2>
<p><code>{{ o.step.method }} {{ o.step.path }}</code> &mdash; sends {{ o.step.sends }}</p>
{% if o.reason %}<p>{{ o.reason }}</p>{% endif %}
{% if o.differences %}<table><tr><th>path</th><th>target</th><th>mock</th></tr>
{% for d in o.differences %}<tr><td><code>{{ d.path }}</code></td><td>{{ d.target }}</td><td>{{ d.mock }}</td></tr>
{% endfor %}</table>{% endif %}
{% if o.target is not none or o.mock is not none %}
<div class="cols">
<div><strong>target</strong>{% if o.target is not none %} &middot; HTTP {{ o.target.status }}{% endif %}
<pre>{{ show(o.target) }}</pre></div>
<div><strong>mock</strong>{% if o.mock is not none %} &middot; HTTP {{ o.mock.status }}{% endif %}
<pre>{{ show(o.mock) }}</pre></div>
</div>{% endif %}
</section>
{% endfor %}
</body></html>
"""


def html_document(outcomes: list[Outcome], *, target: str, mode: str, generated_at: str,
                  redactor: Redactor) -> str:
    def show(answer) -> str:
        if answer is None:
            return "(no answer)"
        if answer.body is None:
            return "(empty body)"
        if isinstance(answer.body, str):
            return redactor.text(answer.body)
        return json.dumps(redactor.value(answer.body), indent=2, ensure_ascii=False)

    template = Environment(autoescape=True).from_string(_HTML)
    return template.render(outcomes=outcomes, target=target, mode=mode, generated_at=generated_at,
                           counts=summary(outcomes), show=show)


def write_json(path: str, document: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
