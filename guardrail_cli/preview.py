"""`guardrail sweep --show FORM`: the alerts the deployed sweep would send, as a subscriber gets them.

The deployed recorder decides (`guardrail.sweep.recorder.SweepRecorder`: new, changed, reminder,
resolved), over an inventory kept in memory instead of the DynamoDB table, and the alerts are
caught instead of published; the summary's alert and the coverage alert follow, as the summary
step makes them. Without an earlier state every violation is new, as on a first deployed run;
`--inventory FILE` keeps the inventory and the known blind spots between two previews (read before,
written after), so a second one shows what changed, what ended and what is only a reminder.
Nothing is scheduled, deleted or sent.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import msgspec

from guardrail.channels.delivery import notice_id
from guardrail.channels.registry import RenderContext, form_channel, forms
from guardrail.channels.securityhub import Importer
from guardrail.core.alert import Alert
from guardrail.core.inventory import InventoryRecord
from guardrail.core.policy import Policy
from guardrail.inventory.table import InventoryTable
from guardrail.sweep.blind_spots import Comparison, KnownBlindSpots, coverage_alert
from guardrail.sweep.recorder import SweepRecorder
from guardrail.sweep.summary import Summary, summary_alert

# The forms `--show` prints; `json` is each alert's body as the alert topic's JSON subscribers get it.
FORMS = forms()
# The order the deployed sweep's alerts go out in: instances (during the map), then the summary step's.
_CHANGES = ("new", "changed", "reminder", "resolved")


class MemoryInventory(InventoryTable):
    """The inventory table's interface, kept in memory (and in a file with `--inventory`)."""

    def __init__(self, records: tuple[InventoryRecord, ...] = ()) -> None:
        self._records = {record.instance_arn: record for record in records}
        self._claims: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, instance_arn: str) -> InventoryRecord | None:
        with self._lock:
            return self._records.get(instance_arn)

    def of_account(self, account_id: str) -> list[InventoryRecord]:
        with self._lock:
            return [r for r in self._records.values() if r.account_id == account_id]

    def put(self, record: InventoryRecord) -> None:
        with self._lock:
            self._records[record.instance_arn] = record

    def claim_alert(self, instance_arn: str, claim: str) -> bool:
        with self._lock:
            if self._claims.get(instance_arn) == claim:
                return False
            self._claims[instance_arn] = claim
            return True

    def release_alert(self, instance_arn: str, claim: str) -> None:
        with self._lock:
            if self._claims.get(instance_arn) == claim:
                del self._claims[instance_arn]

    def records(self) -> tuple[InventoryRecord, ...]:
        with self._lock:
            return tuple(sorted(self._records.values(), key=lambda r: r.instance_arn))


class State(msgspec.Struct, frozen=True, kw_only=True):
    """What a preview keeps for the next one: the inventory, and the blind spots said."""

    inventory: tuple[InventoryRecord, ...] = ()
    blind_spots: KnownBlindSpots | None = None


class Preview:
    """Catches what the deployed sweep would publish, in the order it would."""

    def __init__(self, state: State | None = None) -> None:
        state = state or State()
        self.inventory = MemoryInventory(state.inventory)
        self.known_blind_spots = state.blind_spots
        self.instance_alerts: list[Alert] = []
        self.run_alerts: list[Alert] = []
        self._lock = threading.Lock()

    def publish(self, alert: Alert) -> str:
        with self._lock:
            self.instance_alerts.append(alert)
        return notice_id(alert.body)

    def recorder(self, policy: Policy, reminder_days: int) -> SweepRecorder:
        """The deployed recorder, publishing here; no deletion is scheduled."""
        return SweepRecorder(
            self.inventory, self, mode=policy.mode.value, reminder=timedelta(days=reminder_days)
        )

    def finish(self, summary: Summary, blind_spots: Comparison | None) -> None:
        """The summary step's alerts: the summary, then the coverage alert when some blind spots are
        new or resolved; the blind spots said are kept for the next preview."""
        # The deployed step names its bucket and links the report; a preview has neither.
        self.run_alerts.append(summary_alert(summary, f"<reports bucket>/runs/{summary.run_id}/summary.json"))
        if blind_spots is not None:
            if blind_spots.new or blind_spots.resolved:
                self.run_alerts.append(coverage_alert(blind_spots.new, blind_spots.resolved, summary.run_id))
            self.known_blind_spots = msgspec.structs.replace(blind_spots.known, published=True)

    def alerts(self) -> list[Alert]:
        def order(alert: Alert) -> tuple[int, str, str]:
            body = alert.body
            change = body.get("change")
            return (
                _CHANGES.index(change) if change in _CHANGES else len(_CHANGES),
                str(body.get("account_id")),
                str(body.get("instance_arn")),
            )

        return [*sorted(self.instance_alerts, key=order), *self.run_alerts]

    def state(self) -> State:
        return State(inventory=self.inventory.records(), blind_spots=self.known_blind_spots)


def load_state(path: Path) -> State:
    """The state an earlier preview wrote; none when the file does not exist yet."""
    if not path.exists():
        return State()
    try:
        return msgspec.json.decode(path.read_bytes(), type=State)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ValueError(f"{path} is not a preview's inventory: {error}") from None


def save_state(path: Path, state: State) -> None:
    try:
        path.write_bytes(msgspec.json.encode(state))
    except OSError as error:
        raise ValueError(f"cannot write {path}: {error.strerror}") from None


def _kind(alert: Alert) -> str:
    body = alert.body
    if body.get("kind") == "sweep-summary":
        return "summary"
    if body.get("kind") == "coverage":
        return "coverage"
    return f"{body.get('change') or 'alert'} {body.get('account_id')} {body.get('instance_arn')}"


def show(alert: Alert, form: str, importer: Importer) -> str:
    """One alert as the subscriber of `form` would receive it, under a line saying which it is.

    The summary and coverage alerts go to the alert topic only (email, JSON), never to chat or to
    Security Hub, and an alert that makes no finding gives Security Hub nothing: each says so.
    """
    header = f"== {_kind(alert)}"
    body = alert.body
    instance = body.get("kind") not in ("sweep-summary", "coverage")
    if form == "email":
        return f"{header}\nSubject: {alert.subject}\n\n{alert.email()}"
    if form == "json":
        return f"{header}\n{json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False, default=str)}\n"
    spec = form_channel(form)
    if not instance and not spec.takes_notices:
        return f"{header}\n(not sent to {spec.title}: the sweep's summary and coverage alerts go to the alert topic)\n"
    when = str((body.get("trigger") or {}).get("observed_at") or "")
    sent = spec.forms[form](alert, RenderContext(importer.account_id, importer.region, when))
    if (
        form == "securityhub"
        and not sent["BatchImportFindings"]["Findings"]
        and not sent["BatchUpdateFindings"]
    ):
        return f"{header}\n(nothing for Security Hub: no finding to import or update)\n"
    return f"{header}\n{json.dumps(sent, indent=2, ensure_ascii=False)}\n"
