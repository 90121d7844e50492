"""axe-core (vendored: tests/browser/vendor/) run over a page of ours in Chromium."""

import json
from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def axe_violations(page: Page) -> list[str]:
    """axe-core's findings on the page (the provider's frame is the provider's, not ours)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
             const result = await axe.run({exclude: [["iframe"]]});
             return {passes: result.passes.length, violations: result.violations.map(v =>
               ({id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))};
           }"""
    )
    assert found["passes"] > 10  # axe ran its rules over the page
    return [json.dumps(violation) for violation in found["violations"]]
