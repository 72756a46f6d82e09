"""Blind spots from one sweep to the next: which are new, which are known, which are resolved.

The deployed sweep's summary step keeps the blind spots it last knew in one object of the reports
bucket (`KNOWN_KEY`) and compares each run's with them: one alert per run lists the new ones and
those resolved, and a blind spot already said is not said again. A blind spot is resolved only when
its account and Region were read in full this run; one that could not be looked at (a batch that
failed, a read refused, the member role not assumable) is carried over as known, never taken for
resolved. A retried summary step finds its own run's baseline in the object and publishes nothing
twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import msgspec

from guardrail.core.alert import MESSAGE_LIST_LIMIT, SCHEMA_VERSION, SUBJECT_LIMIT, Alert, bounded, fitted
from guardrail.sweep.coverage import BlindSpot, BlindSpotKind, where
from guardrail.sweep.worker import AccountResult

KNOWN_KEY = "coverage/blind-spots.json"


class Store(Protocol):
    """Where the known blind spots are kept (the reports bucket's `ReportStore`)."""

    def exists(self, key: str) -> bool: ...

    def get(self, key: str) -> bytes: ...

    def put(self, key: str, body: bytes) -> None: ...


class KnownBlindSpots(msgspec.Struct, frozen=True, kw_only=True):
    """What the last run that compared knew: its blind spots, and the baseline it compared with."""

    run_id: str
    baseline: tuple[BlindSpot, ...] = ()
    blind_spots: tuple[BlindSpot, ...] = ()
    published: bool = False


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    new: tuple[BlindSpot, ...]
    resolved: tuple[BlindSpot, ...]
    # What to keep for the next run (not yet marked published).
    known: KnownBlindSpots
    # This run's alert went out already (a retried summary step).
    published: bool


def compare(
    known: KnownBlindSpots | None,
    run_id: str,
    results: Iterable[AccountResult],
    unswept: Iterable[str] = (),
) -> Comparison:
    """This run's blind spots against what was known; `unswept` are accounts of batches that failed."""
    results = [r for r in results if r.coverage is not None]
    if known is not None and known.run_id == run_id:
        baseline, published = known.baseline, known.published
    else:
        baseline, published = (known.blind_spots if known else ()), False
    current = [spot for r in results for spot in r.coverage.blind_spots]  # type: ignore[union-attr]
    seen = {spot.key for spot in current}
    by_account = {r.account_id: r for r in results}
    carried_over = set(unswept)
    resolved: list[BlindSpot] = []
    carried: list[BlindSpot] = []
    for spot in baseline:
        if spot.key in seen:
            continue
        verdict = _looked_at(spot, by_account.get(spot.account_id), carried_over)
        if verdict == "resolved":
            resolved.append(spot)
        elif verdict == "unknown":
            carried.append(spot)
    said = {spot.key for spot in baseline}
    new = tuple(spot for spot in current if spot.key not in said)
    return Comparison(
        new=new,
        resolved=tuple(resolved),
        known=KnownBlindSpots(
            run_id=run_id, baseline=baseline, blind_spots=(*current, *carried), published=published
        ),
        published=published,
    )


def _looked_at(spot: BlindSpot, result: AccountResult | None, unswept: set[str]) -> str:
    """`resolved` when this run read the spot's place in full, `unknown` when it could not look,
    `gone` when the place is no longer swept (the account left, or the Region is not enabled)."""
    if result is None or result.coverage is None:
        return "unknown" if spot.account_id in unswept else "gone"
    coverage = result.coverage
    if spot.kind is BlindSpotKind.ROLE_NOT_ASSUMABLE:
        return "resolved" if coverage.assumed else "unknown"
    if spot.region in coverage.checked:
        return "resolved"
    if not coverage.assumed or coverage.unchecked:
        return "unknown"
    return "gone"


# The most blind spots of each list the message's text names; the run's summary names them all.
TEXT_LIST_LIMIT = 50


def _more(count: int) -> list[str]:
    extra = count - TEXT_LIST_LIMIT
    return [f"  ... and {extra} more: see the run's summary"] if extra > 0 else []


def coverage_alert(new: tuple[BlindSpot, ...], resolved: tuple[BlindSpot, ...], run_id: str) -> Alert:
    """One message for the run: the new blind spots, each with its fix, and those resolved."""
    if new:
        first = new[0]
        more = f" +{len(new) - 1}" if len(new) > 1 else ""
        subject = f"[COVERAGE] {len(new)} new blind spot{'s' if len(new) > 1 else ''}: {where(first)} {first.kind}{more}"
    else:
        first = resolved[0]
        subject = f"[COVERAGE] {len(resolved)} blind spot{'s' if len(resolved) > 1 else ''} resolved: {where(first)}"
    body = {
        "schema_version": SCHEMA_VERSION,
        "alert_id": f"coverage:{run_id}",
        "kind": "coverage",
        "run_id": run_id,
        "new": msgspec.to_builtins(new),
        "resolved": msgspec.to_builtins(resolved),
        "new_count": len(new),
        "resolved_count": len(resolved),
    }
    body = bounded(body, MESSAGE_LIST_LIMIT)
    lines = [f"Sweep {run_id}: where instance events cannot reach the guardrail.", ""]
    if new:
        lines.append("New blind spots (an account instance created there would raise no alert):")
        for spot in new[:TEXT_LIST_LIMIT]:
            lines += [f"  {where(spot)}: {spot.detail}", f"    fix: {spot.fix}"]
        lines += _more(len(new))
    if resolved:
        lines += ["", "Resolved:"] if new else ["Resolved:"]
        lines += [f"  {where(spot)}: {spot.kind}" for spot in resolved[:TEXT_LIST_LIMIT]]
        lines += _more(len(resolved))
    attributes: dict[str, str | list[str]] = {
        "trigger": "sweep",
        "verdict": "blind-spot" if new else "resolved",
        "severity": "high" if new else "info",
        "rules": [],
    }
    return fitted(Alert(subject[:SUBJECT_LIMIT], body, attributes, "\n".join(lines) + "\n"))


def known_in(store: Store) -> KnownBlindSpots | None:
    """What the last run that compared kept; None before the first."""
    if not store.exists(KNOWN_KEY):
        return None
    return msgspec.json.decode(store.get(KNOWN_KEY), type=KnownBlindSpots)


def say(comparison: Comparison, run_id: str, store: Store, publish: Callable[[Alert], object]) -> None:
    """Keep this run's blind spots, then alert once on what is new or resolved.

    Kept before the alert goes out, so that a retry compares with this run's own baseline; marked
    published after, so that a retry does not publish again (a failure in between publishes twice,
    never not at all).
    """
    store.put(KNOWN_KEY, msgspec.json.encode(comparison.known))
    if (comparison.new or comparison.resolved) and not comparison.published:
        publish(coverage_alert(comparison.new, comparison.resolved, run_id))
        store.put(KNOWN_KEY, msgspec.json.encode(msgspec.structs.replace(comparison.known, published=True)))
