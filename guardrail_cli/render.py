"""Alerts as a person reads them at a terminal: one row a fact, one line a finding."""

from __future__ import annotations

from guardrail.core.alert import Alert


def render(alert: Alert) -> str:
    """A readable table of one alert."""
    body = alert.body
    rows = [
        ("subject", alert.subject),
        ("verdict", f"{body['verdict']} ({body['severity']})"),
        ("action", f"{body['action']}: {body['action_reason']} [mode {body['mode']}]"),
    ]
    trigger = body.get("trigger") or {"kind": "api-call"}
    if trigger["kind"] == "sweep":
        rows.append(("seen", f"by sweep {trigger['run_id']} at {trigger['observed_at']}"))
    else:
        rows.append(("call", f"{body['event_name']} {body['outcome']} at {body['event_time']}"))
    rows += [
        ("account", f"{body['account_id']} {body['account_name'] or ''} {body['ou_path'] or ''}".rstrip()),
        ("region", body["region"]),
        ("instance", body["instance_arn"] or "-"),
    ]
    if body.get("actor"):
        rows.append(("actor", f"{body['actor']['arn'] or '-'} from {body['actor']['source_ip'] or '-'}"))
    if body.get("applications"):
        rows.append(("apps", ", ".join(a["name"] or a["arn"] for a in body["applications"])))
    lines = [f"{name:<9} {value}" for name, value in rows]
    for finding in body["findings"]:
        lines.append(f"finding   {finding['rule']} [{finding['severity']}]: {finding['reason']}")
    for item in body["suppressed"]:
        until = f"{item['ticket']} until {item['expires']}"
        lines.append(f"exempted  {item['rule']} by {until}: {item['reason']}")
    for item in body["undetermined"]:
        lines.append(f"unknown   {item['rule']}: needs {item['missing_fact']}")
    for item in body["missing_facts"]:
        lines.append(f"missing   {item['fact']}: {item['reason']}")
    return "\n".join(lines)
