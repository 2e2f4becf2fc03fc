"""WCAG 2.2 AA checks in the browser tests: axe-core (vendored in tests/vendor/axe-core, never
fetched at test time nor served by the app) run over the page Playwright shows.

    assert_accessible(page)                       # the whole document
    assert_accessible(page, context="#main")      # one part of it
    assert_accessible(page, known={"color-contrast": "why it is accepted for now"})
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
# The rules of WCAG 2.0/2.1/2.2, levels A and AA (axe's own tags); best practices are not asked for.
WCAG_AA_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
TARGETS_SHOWN = 3

RUN = """([context, tags]) => axe.run(context || document, {runOnly: {type: 'tag', values: tags}}).then(
  (results) => results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    summary: (v.nodes[0] && v.nodes[0].failureSummary || '').split('\\n').slice(1).join(' ').trim(),
    targets: v.nodes.map((n) => n.target.map((t) => Array.isArray(t) ? t.join(' >>> ') : t).join(' '))})))"""


def _inject(page) -> None:
    # Not page.add_script_tag: its inline <script> is refused by the portal's CSP (script-src 'self'),
    # leaving a console error that the CSP tests would count. Evaluating the file's text goes through
    # the DevTools protocol, which the CSP does not govern; the file defines window.axe.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))


def axe_violations(page, *, context: str | None = None) -> list[dict]:
    """axe's WCAG A/AA violations on the page (or within the `context` selector)."""
    _inject(page)
    return page.evaluate(RUN, [context, list(WCAG_AA_TAGS)])


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(v["targets"][:TARGETS_SHOWN])
        more = f" (+{len(v['targets']) - TARGETS_SHOWN} more)" if len(v["targets"]) > TARGETS_SHOWN else ""
        lines.append(f"- {v['id']} [{v['impact']}] {v['help']}: {targets}{more}")
        if v.get("summary"):
            lines.append(f"    first: {v['summary']}")
    return "\n".join(lines)


def assert_accessible(page, *, context: str | None = None, known: Mapping[str, str] | None = None) -> None:
    """Fails listing each WCAG 2.2 A/AA violation axe finds: id, impact, help, the first targets.

    `known` maps a rule id to the reason it is accepted on this page (a known exception, one rule
    on one page, never a rule switched off everywhere); a known rule that no longer fails is
    reported too, so the exception goes once the page is fixed."""
    known = dict(known or {})
    violations = axe_violations(page, context=context)
    unexpected = [v for v in violations if v["id"] not in known]
    found = {v["id"] for v in violations}
    stale = sorted(set(known) - found)
    problems = []
    if unexpected:
        problems.append(f"{page.url}: {len(unexpected)} accessibility violation(s) (WCAG 2.2 AA, axe-core):\n"
                        + format_violations(unexpected))
    if stale:
        problems.append(f"{page.url}: known exceptions that no longer fail (remove them): {', '.join(stale)}")
    assert not problems, "\n".join(problems)
