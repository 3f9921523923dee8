"""Driving Debian's chromium with Playwright (tests/ui/): the launch, and the layout checks.

:func:`layout_problems` runs in the page: it measures the boxes of the text elements a page lists
(badges, timeline entries, cells' codes and links, headings, ...) and reports every two of them
that overlap (neither inside the other) and every one that sticks out of its table cell, naming
the elements. Measured boxes, not screenshots compared by pixels: the check holds on any font.
"""

from __future__ import annotations

import contextlib
import os

from support.realredis import missing_binary

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def need_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    missing_binary(f"{CHROMIUM} is missing", "apt-get install chromium")


@contextlib.contextmanager
def launched_browser():
    """The launched chromium (a module-scoped fixture wraps it)."""
    need_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# The text elements whose boxes must not overlap (nor leave their cell).
TEXT_ELEMENTS = ("main h1", "main h2", "main .badge", ".timeline li > span", ".timeline li > time", "td > code",
                 "td > a", "td > .sub", "th", "td.num", ".facts dt", ".facts dd", ".top nav a", ".status label",
                 ".status select", ".status button", ".clock", "main label", "main button", "main input",
                 "main select", "main .pager a", "svg text", ".legend span", ".hits li > *", ".attempt summary > *", "details > h3", "main form a",
                 "p.error", "p.done")

_MEASURE = """(selectors) => {
  const shown = (node) => {
    const closed = node.closest("details:not([open])");
    if (closed && !node.closest("summary")) { return false; }
    const box = node.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(node).visibility !== "hidden";
  };
  const nodes = Array.from(document.querySelectorAll(selectors.join(","))).filter(shown);
  const name = (node) => {
    const cls = typeof node.className === "string" && node.className.trim()
      ? "." + node.className.trim().split(/\\s+/).join(".") : "";
    return node.tagName.toLowerCase() + (node.id ? "#" + node.id : "") + cls
      + ' "' + node.textContent.trim().replace(/\\s+/g, " ").slice(0, 40) + '"';
  };
  const boxes = nodes.map((node) => node.getBoundingClientRect());
  const problems = [];
  for (let i = 0; i < nodes.length && problems.length < 20; i++) {
    const a = boxes[i];
    const cell = nodes[i].parentElement && nodes[i].parentElement.closest("td, th");
    if (cell) {
      const c = cell.getBoundingClientRect();
      if (a.right > c.right + 1 || a.left < c.left - 1) {
        problems.push(name(nodes[i]) + " sticks out of its cell (" + Math.round(a.left) + "-" + Math.round(a.right)
                      + " in " + Math.round(c.left) + "-" + Math.round(c.right) + ")");
      }
    }
    for (let j = i + 1; j < nodes.length; j++) {
      if (nodes[i].contains(nodes[j]) || nodes[j].contains(nodes[i])) { continue; }
      const b = boxes[j];
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) { problems.push(name(nodes[i]) + " overlaps " + name(nodes[j])); }
    }
  }
  return problems;
}"""


def layout_problems(page, selectors=TEXT_ELEMENTS) -> list[str]:
    """Overlapping text boxes and cells' overflowing content on the page, each naming the elements."""
    return page.evaluate(_MEASURE, list(selectors))


def horizontal_overflow(page, width: int) -> int | None:
    """How wide the page is when it is wider than the viewport (it scrolls sideways), else None."""
    scrolled = page.evaluate("document.documentElement.scrollWidth")
    return scrolled if scrolled > width else None
