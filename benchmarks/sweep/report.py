"""The Markdown section of the sweep benchmark."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from benchmarks.sweep.projection import on_lambda
from benchmarks.sweep.settings import (
    BATCH_SIZE,
    FULL_VCPU_MB,
    GOAL_ACCOUNTS,
    GOAL_READ_ROUND_TRIPS,
    GOAL_SECONDS,
    INSTANCE_REGIONS,
    INSTANCE_SHARE,
    LAMBDA_CONCURRENCY,
    MAP_MAX_CONCURRENCY,
    MAX_CONCURRENCY,
    ORGANIZATIONS_PAGE,
    OUS,
    QUOTAS,
    STATE_PAYLOAD_LIMIT,
    WORKER_MEMORY_MB,
)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _calls(by_service: dict[str, float]) -> str:
    return ", ".join(f"{service} {n:g}" for service, n in by_service.items()) or "none"


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds:.0f} s ({seconds / 60:.1f} min)"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def report_sweep(f: dict[str, Any]) -> str:
    """The Markdown section for `SweepFigures` (as `dataclasses.asdict` gives them)."""
    modes: list[dict[str, Any]] = f["modes"]
    by_mode = {m["mode"]: m for m in modes}
    parts = [
        "## Organization-wide sweep at scale\n\n"
        f"{f['accounts']:,} member accounts added to the example organization ({f['organization_accounts']:,} "
        f"accounts in all) over {len(OUS)} OUs ({', '.join(p for p, _ in OUS)}), "
        f"{f['instances_seeded']} of them ({INSTANCE_SHARE:.0%}) with an account instance in one of "
        f"{len(INSTANCE_REGIONS)} Regions; {f['regions']} Regions watched (every commercial Region where "
        f"Identity Center is available); {f['latency_ms']:g} ms of simulated latency per call. The deployed "
        "steps run as they are (planner, worker with its inventory and alerts, summary); only Step "
        "Functions is simulated (below).\n\n"
        f"Setup: **{f['setup_seconds']:g} s** ({f['setup_accounts_seconds']:g} s for the accounts, made "
        f"through Organizations and IAM as the emulation makes any account; {f['setup_instances_seconds']:g} s "
        "for the instances). moto finds the account of every request by scanning every account's IAM "
        f"backend for the access key ({f['unindexed_lookup_ms']:g} ms per request for the newest account at "
        "this size, growing with the organization): the benchmark indexes the keys STS issues "
        "(`indexed_access_keys`); moto's answers are unchanged. It also pages ListAccounts by 20 (moto: by 100), "
        "as Organizations pages it and ListAccountsForParent, which the planner reads.\n\n"
        "Throttling on the wire (`emulator.wire.Throttle`): a token bucket per quota, calling account and "
        "Region; a call finding its bucket empty gets the service's throttling error, and botocore's "
        "adaptive retries back off as against AWS.\n\n"
        + _table(
            ["quota", "rate / s", "burst", "figures"],
            [[f"`{n}`", q["rate"], q["burst"], q["source"]] for n, q in f["quotas"].items()],
        )
    ]

    rows: list[list[Any]] = []

    def row(label: str, value: Callable[[dict[str, Any]], Any]) -> None:
        rows.append([label, *(value(m) for m in modes)])

    def mapped(m: dict[str, Any]) -> str:
        if m["mapped_batches"] == m["batches"]:
            return f"{m['mapped_accounts']:,} ({m['batches']} batches of {BATCH_SIZE}): every account"
        return (
            f"{m['mapped_accounts']:,} of {m['accounts']:,} ({m['mapped_batches']} of {m['batches']} batches, "
            "spread over the run)"
        )

    def alone(m: dict[str, Any], key: str = "alone") -> str:
        a = m[key]
        if a is None:
            return "not measured"
        return f"{statistics.median(a['wall_seconds']):.2f} ({a['batches']} batches: {', '.join(f'{w:g}' for w in a['wall_seconds'])})"

    def chain(c: dict[str, Any]) -> str:
        return (
            f"{c['median']:g} / {c['max']} / {c['max_with_instance']} ({c['accounts']} accounts, "
            f"{c['with_instance']} with an instance; {c['over_goal']} over {GOAL_READ_ROUND_TRIPS})"
        )

    row("accounts mapped", mapped)
    row("**simulated Distributed Map** in this process: children at once", lambda m: m["concurrency"])
    row(
        "wall time: plan + map + summary (s)",
        lambda m: (
            f"**{m['wall_seconds']:g}** = {m['plan_seconds']:g} + {m['map_seconds']:g} + {m['summary_seconds']:g}"
        ),
    )
    row(
        "map: process CPU (s)",
        lambda m: f"{m['map_cpu_seconds']:g} (the process is CPU-bound: one core under the GIL)",
    )
    row("a batch while the children shared the process, median (s)", lambda m: m["batch_seconds_in_map"])
    row(f"a batch alone on a warm runtime, median (s), {f['latency_ms']:g} ms", alone)
    if f["slow_latency_ms"] is not None:
        row(f"a batch alone, {f['slow_latency_ms']:g} ms per call (s)", lambda m: alone(m, "alone_slow"))
    row(
        "  of which the function's CPU / moto's CPU (s)",
        lambda m: f"{m['alone']['function_cpu_seconds']:.2f} / {m['alone']['emulation_cpu_seconds']:.2f}",
    )
    row(
        f"a batch on Lambda ({WORKER_MEMORY_MB} MB), estimated (s)",
        lambda m: f"{on_lambda(m['alone']):.2f}",
    )
    row(
        "a cold child: extra time for its first batch (s)",
        lambda m: "as the one call's" if m["cold_start_seconds"] is None else m["cold_start_seconds"],
    )
    row("AWS calls per account", lambda m: _calls(m["calls_per_account"]))
    row("calls per batch, not about one account", lambda m: _calls(m["calls_per_batch"]))
    row(
        "planner: calls; sequential chain; throttled",
        lambda m: f"{_calls(m['plan_calls'])}; {m['plan_chain']}; {m['plan_throttled']}",
    )
    row("summary: calls; sequential chain", lambda m: f"{m['summary_calls']}; {m['summary_chain']}")
    row("calls throttled, then retried by botocore", lambda m: _calls(m["throttled"]))
    row(
        "**sequential round trips of reads per account**, batches alone: median / max / max with an instance",
        lambda m: chain(m["reads"]),
    )
    row("  the same with the recorder's inventory and alert calls", lambda m: chain(m["with_recorder"]))
    row(
        "  reads of accounts swept one at a time (no other account's CPU)",
        lambda m: chain(m["reads_one_by_one"]),
    )
    row("  reads while the children shared the process (contended)", lambda m: chain(m["reads_in_map"]))
    row("  longest chain of an account with an instance", lambda m: " → ".join(m["with_recorder"]["example"]))
    row(
        "sequential sweep (one account, one batch at a time): s per account",
        lambda m: (
            f"{m['sequential_seconds_per_account']:.3f} ({m['sequential_sample_accounts']} accounts measured); "
            f"{_minutes(m['sequential_projected_seconds'])} for all {m['accounts']:,}, extrapolated"
        ),
    )
    row("speed-up of the map over it, in this process", lambda m: f"{m['speedup_in_process']:g}x")
    row(
        "accounts read / unreadable; instances found; violations",
        lambda m: f"{m['accounts_read']:,} / {m['unreadable']}; {m['instances']}; {m['violations']}",
    )
    row(
        "payloads: child input / output, planner output; snapshot in S3 (bytes)",
        lambda m: (
            f"{m['child_input_bytes']:,} / {m['child_output_bytes']:,}, {m['plan_output_bytes']:,}; {m['snapshot_bytes']:,}"
        ),
    )
    errors = {m["summary_error"] for m in modes if m["summary_error"]}
    parts.append(
        "### Measured\n\n"
        "Step Functions is **simulated**: the planner's items in batches of "
        f"{BATCH_SIZE} (the map's ItemBatcher), run by threads that each stand for a child execution "
        f"holding a warm worker runtime, at most {f['concurrency']} at once (the deployed max concurrency). "
        "One process cannot be 40 Lambda functions: its children share one core, so the map's wall time "
        "here is the emulation's CPU, not AWS's latency. What a child takes is measured with a batch "
        "alone: the worker's own concurrency (8 accounts at once, 32 calls in flight) in one process, as "
        "on Lambda. Round trips are `longest_chain` over each account's calls: the member role's calls "
        "carry the account's credentials; AssumeRole (made by the central account) and the recorder's "
        "calls are attributed by the account or instance their request names.\n\n"
        + _table(["", *(m["mode"] + " listing" for m in modes)], rows)
        + (
            "\n\nThe summary step failed after writing the summary (read here from S3): "
            + "; ".join(sorted(errors))
            if errors
            else ""
        )
    )

    scale = FULL_VCPU_MB / WORKER_MEMORY_MB
    projection_rows = [
        [
            m["mode"],
            f"{p['accounts']:,}",
            f"{p['latency_ms']:g}",
            f"{p['batches']} / {p['concurrency']} = {p['waves']} waves * {p['batch_seconds']:g} s",
            f"{p['assume_role_rate']:g}",
            f"{p['sts_floor_seconds']:g}",
            f"{p['plan_seconds']:g}",
            f"{p['map_seconds']:g}",
            f"{p['summary_seconds']:g}",
            f"**{_minutes(p['total_seconds'])}**",
            "yes" if p["total_seconds"] < GOAL_SECONDS else "no",
            p["concurrency_for_goal"] if p["concurrency_for_goal"] is not None else "-",
            f"{_minutes(p['sequential_seconds'])}: {p['speedup']:g}x (map {p['map_speedup']:g}x)",
        ]
        for m in modes
        for p in m["projections"]
    ]
    parts.append(
        "### Projection: the deployed sweep\n\n"
        f"From a batch alone (each child has its own Lambda CPU): batch on Lambda = the batch's wall time "
        f"- moto's CPU + the function's CPU * ({FULL_VCPU_MB}/{WORKER_MEMORY_MB} - 1) (a {WORKER_MEMORY_MB} MB "
        f"function has {1 / scale:.2f} of a vCPU; one vCPU at {FULL_VCPU_MB} MB). Then, for N accounts: "
        f"batches = ceil(N / {BATCH_SIZE}), waves = ceil(batches / {MAX_CONCURRENCY}); map = max(waves * batch, "
        f"(N - {QUOTAS['sts'].burst:g}) / {QUOTAS['sts'].rate:g} s, the least time STS allows for N "
        "AssumeRoles) + one cold start; plan = the measured planner * its pages of accounts at N / at N0 "
        f"(ListAccountsForParent, {ORGANIZATIONS_PAGE} accounts a page), and no less than "
        f"its Organizations calls at N at the assumed {QUOTAS['organizations'].rate:g} per second; "
        "summary = the measured summary * batches / batches0 (it reads each batch's report in turn). "
        "AssumeRole / s is what the map asks of STS: min(40, batches) * 25 / batch. Sequential: the same "
        "planner and summary around the measured time per account one at a time times N (emulation CPU "
        "included).\n\n"
        + _table(
            [
                "listing",
                "accounts",
                "ms / call",
                "batches / concurrency",
                "AssumeRole / s",
                "STS floor (s)",
                "plan (s)",
                "map (s)",
                "summary (s)",
                "total",
                "< 2 min",
                "concurrency for 2 min",
                "sequential: speed-up",
            ],
            projection_rows,
        )
    )

    goals = []
    one = by_mode.get("one call")
    if one is not None:
        tenk = [p for p in one["projections"] if p["accounts"] == GOAL_ACCOUNTS]
        worst = max(tenk, key=lambda p: p["total_seconds"]) if tenk else None
        if worst is not None:
            goals.append(
                f"- {GOAL_ACCOUNTS:,} accounts with the coverage check on, in under 2 minutes (one-call listing): "
                + ", ".join(
                    f"{_minutes(p['total_seconds'])} at {p['latency_ms']:g} ms per call" for p in tenk
                )
                + f", projected: {_met(worst['total_seconds'] < GOAL_SECONDS)}. Not measured at that scale: "
                "the projection above is the evidence."
            )
        reads, alone_reads, in_map = one["reads_one_by_one"], one["reads"], one["reads_in_map"]
        contended = [
            f"{c['over_goal']} of {c['accounts']:,} accounts took {c['max']} {where}"
            for c, where in (
                (alone_reads, "in batches run alone (8 accounts at once in one process, as on Lambda)"),
                (in_map, f"while {one['concurrency']} children shared this process"),
            )
            if c["over_goal"]
        ]
        goals.append(
            f"- At most {GOAL_READ_ROUND_TRIPS} sequential round trips of reads per account with the one-call "
            f"listing: {_met(reads['max'] <= GOAL_READ_ROUND_TRIPS and alone_reads['max'] <= GOAL_READ_ROUND_TRIPS)}"
            f" by the calls the worker makes: at most {reads['max']} for an account swept with no other account "
            f"sharing its CPU ({reads['accounts']} accounts, {reads['with_instance']} with an instance; an account "
            f"without an instance needs 2), and at most {alone_reads['max']} in batches run alone "
            f"({alone_reads['accounts']} accounts, {alone_reads['with_instance']} with an instance). "
            + (
                "Where the CPU was contended, "
                + "; ".join(contended)
                + ": the second of two concurrent reads waited for the CPU (other accounts' client creation, "
                "moto's answers) until the first had returned. "
                if contended
                else ""
            )
            + "With the recorder's inventory and alert calls, which follow the reads one after another, an "
            f"account with an instance waits for {one['with_recorder']['max_with_instance']} round trips."
        )
    stress = one["sts_stress"] if one is not None else None
    if stress is not None:
        goals.append(
            f"- STS throttling: the projected {GOAL_ACCOUNTS:,}-account map asks STS {stress['demand_ratio']:g}x "
            f"its quota. Scaled down (STS at {stress['sts_rate']:g} per second, so that this process asks the "
            f"same multiple), {stress['accounts']:,} accounts with {stress['concurrency']} children took "
            f"{stress['seconds']:g} s against a floor of {stress['floor_seconds']:g} s: "
            f"{stress['throttled']:,} of {stress['assume_role_attempts']:,} AssumeRole attempts throttled, "
            f"{stress['achieved_rate']:g} answered per second, **{stress['unreadable']} accounts unreadable** "
            "(throttled past botocore's 5 attempts)."
        )
    per_region = by_mode.get("per Region")
    if per_region is not None:
        goals.append(
            f"- Per-Region listing (a botocore without `RegionScope`): "
            f"{per_region['calls_per_account'].get('sso-admin', 0):g} sso-admin calls per account and "
            f"{per_region['reads']['median']:g} round trips (median): the goal assumes the one-call listing."
        )
    parts.append("### Goals\n\n" + "\n".join(goals))

    any_mode = modes[0] if modes else None
    quota_lines = [
        f"- Lambda: {MAX_CONCURRENCY} workers at once, against {LAMBDA_CONCURRENCY:,} concurrent executions per "
        "account and Region by default (shared with the detect function and anything else there).",
        f"- Distributed Map: max concurrency {MAX_CONCURRENCY} (configurable up to {MAP_MAX_CONCURRENCY:,} child "
        "executions); items are read from S3 (ItemReader) and results written to S3 (ResultWriter).",
        f"- STS: {QUOTAS['sts'].rate:g} requests per second per account and Region, shared with every STS call "
        f"of the central account: {GOAL_ACCOUNTS:,} AssumeRoles need at least "
        f"{(GOAL_ACCOUNTS - QUOTAS['sts'].burst) / QUOTAS['sts'].rate:.0f} s. The member sessions are one per "
        "account (cached by the worker), so the sweep makes one AssumeRole per account.",
        f"- Identity Center: {QUOTAS['sso-admin'].rate:g} requests per second; a sweep's sso-admin calls "
        "are made in each member account (one bucket per account and Region), a few per account.",
        f"- Organizations: no published rate; the planner's calls grow with the accounts "
        f"(ListAccountsForParent, pages of 20), here at an assumed {QUOTAS['organizations'].rate:g} per second.",
    ]
    if any_mode is not None:
        snapshot_per_account = any_mode["snapshot_bytes"] / max(1, f["organization_accounts"])
        quota_lines.append(
            f"- {STATE_PAYLOAD_LIMIT // 1024} KB per state input or output: a child's input is "
            f"{any_mode['child_input_bytes']:,} bytes ({BATCH_SIZE} account ids and the run's fields) and its "
            f"output {any_mode['child_output_bytes']:,}; the planner's output {any_mode['plan_output_bytes']:,}: "
            f"the same at {GOAL_ACCOUNTS:,} accounts, since the accounts and results travel through S3. The "
            f"snapshot each worker reads from S3 (not a payload) is {any_mode['snapshot_bytes'] / 1024:.0f} KB, "
            f"about {snapshot_per_account * GOAL_ACCOUNTS / 2**20:.1f} MB at {GOAL_ACCOUNTS:,} accounts."
        )
    quota_lines.append(
        "- Not modelled: Step Functions starting each child execution and Lambda invoking it (paid once per "
        "wave of children), a batch retried after a failure, and other callers sharing these quotas."
    )
    parts.append("### Quotas the projection rests on\n\n" + "\n".join(quota_lines))
    return "\n\n".join(parts)
