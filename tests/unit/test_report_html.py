"""The sweep's HTML report, read as a browser would parse it: escaped names, no script, no fetch,
the tree, the posture, the deletions and the chart."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import msgspec
import pytest

from guardrail.sweep.report import render_report
from guardrail.sweep.report.history import RunPoint, decode_history, encode_history, with_runs
from guardrail.sweep.report.view import chart
from guardrail.sweep.summary import Summary
from tests.browser.hostile import MARKUP_NAMES, NOW, hostile_summary

# Every element the template writes: anything else in a report came from a name.
TEMPLATE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "div", "h1", "h2", "h3", "p", "code", "ul",
    "li", "b", "nav", "a", "main", "section", "svg", "line", "text", "g", "polyline", "circle", "span",
    "details", "summary", "table", "thead", "tbody", "tr", "th", "td", "colgroup", "col", "br", "footer",
}  # fmt: skip


class Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Parsed:
    parsed = Parsed()
    parsed.feed(html)
    return parsed


def report(summary: Summary, history: list[RunPoint] | None = None) -> str:
    return render_report(summary, history or [], generated_at=NOW)


def test_markup_in_every_name_is_text_never_an_element_or_an_attribute() -> None:
    html = report(hostile_summary())
    parsed = parse(html)
    assert {tag for tag, _ in parsed.tags} <= TEMPLATE_TAGS
    assert [tag for tag, _ in parsed.tags].count("script") == 0
    assert [tag for tag, _ in parsed.tags].count("svg") == 1  # the chart's, not a name's
    attributes = {name for _, attrs in parsed.tags for name in attrs}
    assert not [name for name in attributes if name.startswith("on")]
    hrefs = [attrs["href"] for tag, attrs in parsed.tags if tag == "a"]
    assert hrefs
    assert all(href and href.startswith("#") for href in hrefs)
    text = "".join(parsed.text)
    for where, markup in MARKUP_NAMES.items():
        assert markup in text, f"the {where} is not shown as it was written"
    assert "{{7*7}}" in text
    assert "49" not in text  # the template engine never evaluates a name


def test_the_page_loads_nothing_and_runs_nothing() -> None:
    html = report(hostile_summary())
    parsed = parse(html)
    [policy] = [a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv")]
    assert policy is not None
    assert "default-src 'none'" in policy
    assert "script-src" not in policy  # falls back to default-src 'none': no script at all
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html
    assert "url(" not in html


def test_the_tree_nests_accounts_under_their_organizational_units() -> None:
    parsed = parse(report(hostile_summary()))
    units = [a["data-unit-id"] for t, a in parsed.tags if t == "li" and "data-unit-id" in a]
    assert units == ["r-ab12", "ou-ab12-11111111"]
    accounts = [a["data-account-id"] for t, a in parsed.tags if t == "li" and "data-account-id" in a]
    # The OU's accounts by name (their names start alike: "account", "suspended", "unreadable"), then
    # the root's management account.
    assert accounts == ["333333333333", "999000000001", "444444444444", "111111111111"]
    instances = [a["data-instance-arn"] for t, a in parsed.tags if t == "tr" and "data-instance-arn" in a]
    # The violation before the compliant instance.
    assert instances == [
        "arn:aws:sso:::instance/ssoins-1111aaaa1111aaaa",
        "arn:aws:sso:::instance/ssoins-2222aaaa2222aaaa",
    ]


def test_the_posture_and_the_pending_deletions_are_shown() -> None:
    html = report(hostile_summary())
    text = re.sub(r"\s+", " ", "".join(parse(html).text))
    assert (
        "accounts: 4 listed = 2 swept (1 read, 1 not readable) + 2 not swept (1 management account, 1 suspended)"
        in text
    )
    assert "due 2026-12-04 06:00Z" in text  # the deletion, 72 hours after the sweep
    assert "ends 2026-12-04" in text  # the trial
    assert "ends 2026-12-06" in text  # the exemption
    assert "not protected" in text
    assert "SUSPENDED" in text


def test_accounts_with_nothing_to_say_are_listed_compactly() -> None:
    summary = hostile_summary()
    assert summary.organization is not None
    quiet = {
        f"5000000000{i:02d}": msgspec.structs.replace(
            summary.organization.accounts["333333333333"], account_id=f"5000000000{i:02d}", name=f"Fleet {i}"
        )
        for i in range(3)
    }
    tree = msgspec.structs.replace(summary.organization, accounts={**summary.organization.accounts, **quiet})
    html = report(msgspec.structs.replace(summary, organization=tree))
    assert "3 accounts read, without account instances" in html
    assert html.count('class="account ') == 4  # the quiet three are not drawn as accounts


def test_a_result_without_the_organization_lists_its_accounts_flat() -> None:
    html = report(msgspec.structs.replace(hostile_summary(), organization=None))
    assert "does not hold the organization's tree" in html
    parsed = parse(html)
    assert [a["data-unit-id"] for t, a in parsed.tags if "data-unit-id" in a] == [""]


def point(day: int, instances: int, violations: int) -> RunPoint:
    return RunPoint(
        run_id=f"run-{day}",
        finished_at=NOW + timedelta(days=day),
        accounts_listed=4,
        accounts_read=3,
        instances=instances,
        violations=violations,
    )


def test_the_chart_draws_instances_and_violations_from_run_to_run() -> None:
    drawn = chart([point(0, 6, 4), point(1, 5, 2), point(2, 9, 1)])
    instances, violations = drawn.series
    assert [p.value for p in instances.points] == [6, 5, 9]
    assert [p.value for p in violations.points] == [4, 2, 1]
    # Left to right in time, higher values higher on the page, within the plot.
    assert [p.x for p in instances.points] == sorted(p.x for p in instances.points)
    assert instances.points[2].y < instances.points[0].y < instances.points[1].y
    assert all(drawn.top <= p.y <= drawn.bottom for s in drawn.series for p in s.points)
    assert [t.label for t in drawn.y_ticks] == ["0", "3", "6", "9", "12"]  # a round top, whole steps
    html = report(hostile_summary(), [point(-2, 6, 4), point(-1, 5, 2)])
    parsed = parse(html)
    assert [t for t, _ in parsed.tags].count("polyline") == 2
    assert [t for t, _ in parsed.tags].count("circle") == 6  # two earlier runs and this one


def test_one_run_is_one_point_per_series_and_no_line() -> None:
    parsed = parse(report(hostile_summary()))
    tags = [t for t, _ in parsed.tags]
    assert (tags.count("polyline"), tags.count("circle")) == (0, 2)


def test_the_history_keeps_one_point_per_run_the_newest_last() -> None:
    runs = with_runs([point(1, 1, 1), point(0, 2, 2)], point(1, 7, 7), keep=90)
    assert [(r.run_id, r.instances) for r in runs] == [("run-0", 2), ("run-1", 7)]
    kept = with_runs((point(d, d, 0) for d in range(100)), point(100, 1, 0), keep=90)
    assert len(kept) == 90
    assert (kept[0].run_id, kept[-1].run_id) == ("run-11", "run-100")
    assert decode_history(encode_history(runs)).runs == runs


def test_history_that_is_no_history_is_refused_naming_the_field() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"runs\[0\]"):
        decode_history(b'{"runs": [{"run_id": 3}]}')
