"""The sweep's report: one self-contained HTML file a person opens (no network needed to view it).

The organization's tree with every account instance and its verdict, the posture, the pending
deletions, and how instances and violations changed from run to run, drawn as an inline SVG
chart. Rendered with Jinja2, every value escaped by the template engine (a name, a tag, an
application can hold anything its creator typed), under a Content-Security-Policy that lets the
page load nothing and run no script. The deployed summary step writes it to the reports bucket;
`guardrail report` writes it from a sweep's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from guardrail.sweep.report.history import RunPoint, with_runs
from guardrail.sweep.report.view import report_view
from guardrail.sweep.summary import Summary

TEMPLATE = "report.html.j2"
CONTENT_TYPE = "text/html; charset=utf-8"

__all__ = ["CONTENT_TYPE", "render_report"]


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("guardrail.sweep.report", "templates"),
        # Every template here is HTML: escape everything, whatever the file's name.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(summary: Summary, history: Sequence[RunPoint] = (), *, generated_at: datetime) -> str:
    """The report of `summary` as an HTML document; `history` holds earlier runs for the chart."""
    runs = with_runs(history, RunPoint.of(summary))
    view = report_view(summary, runs, generated_at=generated_at)
    return _environment().get_template(TEMPLATE).render(view=view)
