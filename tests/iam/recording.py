"""Records every AWS call the guardrail's functions make in the emulation, as IAM would authorize it.

The functions make their calls through `guardrail.adapters.clients.AwsClients`, one boto3 session
per function: the detect function's runtime (`handlers.detect.build_runtime`), the sweep's planner
(`handlers.sweep.plan`), worker (`build_worker`) and summary (`summarize_run`). `install` wraps
`AwsClients.__init__`: a session created inside one of those entry points gets botocore hooks that
record each call made through it, with the function it belongs to. A call made with credentials
that an `sts:AssumeRole` through the same session returned is the assumed role's; any other is the
function's own role (the emulation runs every function with one operator's credentials, where AWS
would give each its role). Calls made by the tests and the emulator themselves go through other
sessions and are not recorded.

Each call becomes its IAM needs (`tests.iam.calls`), looked up while the emulated world is alive
(the organization's ids, a topic's key, a table's key attribute), is put in canonical form
(`tests.iam.normalize`: what varies from test to test replaced by fixed values) and is kept once per
distinct need. `write` stores them as JSON lines, one file per test process, which `tests.iam.plugin`
evaluates once at the end of the session.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from guardrail.adapters.clients import AwsClients
from tests.iam.calls import LOOKUPS, Call, Need, UnmappedCall, needs_of
from tests.iam.normalize import canonical

# The functions' entry points, by module and function name: an AwsClients made while one of them is
# on the stack is that function's.
ENTRY_POINTS: dict[tuple[str, str], str] = {
    ("guardrail.handlers.detect", "build_runtime"): "detect",
    ("guardrail.handlers.sweep", "plan"): "planner",
    ("guardrail.handlers.sweep", "build_worker"): "worker",
    ("guardrail.handlers.sweep", "summarize_run"): "summary",
}
# Error codes with which AWS (or the emulation of it) refuses a call it does not authorize.
ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation"}
)
# Error codes saying the resource named does not exist: a test that points a function at a resource
# the deployment does not have (to see the call fail) makes a call the templates need not allow.
_MISSING = ("NotFound", "NoSuch", "DoesNotExist", "NonExistent")
# The emulated organization's management account, where moto keeps the organization.
MANAGEMENT_ACCOUNT_ID = "111111111111"


@dataclass(frozen=True)
class Recorded:
    """One distinct authorization a function needed, with where and how the call went."""

    function: str
    # The assumed role's ARN when the call was made with its credentials; None: the function's own.
    role: str | None
    account: str
    region: str
    call: str
    action: str
    resource: str
    context: list[tuple[str, Any]]
    resource_account: str | None
    implied: str | None
    unvalidated: str | None
    # The organization's ids (in canonical form, the example organization's: `tests.iam.normalize`).
    organization_id: str | None
    root_id: str | None
    # Whether the principal's account belongs to the organization (aws:PrincipalOrgID).
    principal_in_organization: bool
    # None: the call succeeded; else the error code (or exception) the emulation answered with.
    error: str | None
    test: str

    def key(self) -> str:
        data = asdict(self)
        del data["test"]
        return json.dumps(data, sort_keys=True, default=str)

    @property
    def denied_by_emulation(self) -> bool:
        """The emulation refused the call as unauthorized (a role missing, a denial a test injected)."""
        return self.error in ACCESS_DENIED_CODES

    @property
    def missing_in_emulation(self) -> bool:
        """The emulation answered that the resource named does not exist."""
        return self.error is not None and any(word in self.error for word in _MISSING)

    @classmethod
    def from_json(cls, line: str) -> Recorded:
        data = json.loads(line)
        data["context"] = [tuple(item) for item in data["context"]]
        return cls(**data)


@dataclass(frozen=True)
class Problem:
    """A call the recorder could not turn into needs."""

    function: str
    call: str
    reason: str
    test: str


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]


def _entry_point() -> str | None:
    frame = sys._getframe(1)
    while frame is not None:
        function = ENTRY_POINTS.get((frame.f_globals.get("__name__", ""), frame.f_code.co_name))
        if function is not None:
            return function
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _account_of_key(access_key: str) -> str:
    from moto.iam.models import get_account_id_from  # moto maps access keys to accounts

    return str(get_account_id_from(access_key))


def _organization() -> Any:
    from moto.organizations.models import organizations_backends

    return organizations_backends[MANAGEMENT_ACCOUNT_ID]["aws"].org


def _in_organization(account: str) -> bool:
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[MANAGEMENT_ACCOUNT_ID]["aws"]
    return backend.org is not None and any(a.id == account for a in backend.accounts)


def _lookups(call: Call, kinds: tuple[str, ...]) -> dict[str, Any]:
    """What a mapper needs from the emulated world (`tests.iam.calls.LOOKUPS`)."""
    found: dict[str, Any] = {}
    for kind in kinds:
        if kind == "organization":
            organization = _organization()
            if organization is not None:
                found["organization_id"] = organization.id
                found["management_account_id"] = organization.master_account_id
        elif kind == "resource_org":
            target = str(call.params["RoleArn"]).split(":")[4]
            organization = _organization()
            if organization is not None and _in_organization(target):
                found["resource_org_id"] = organization.id
        elif kind == "topic_key":
            from moto.sns.models import sns_backends

            topic = str(call.params["TopicArn"])
            owner, region = topic.split(":")[4], topic.split(":")[3]
            found["topic_key"] = getattr(
                sns_backends[owner][region].topics.get(topic), "kms_master_key_id", None
            )
        elif kind == "hash_keys":
            from moto.dynamodb.models import dynamodb_backends

            names = call.params.get("RequestItems") or {call.params.get("TableName"): None}
            for name in names:
                table = dynamodb_backends[call.account][call.region].tables.get(name)
                if table is not None:
                    found[f"hash_key:{name}"] = table.hash_key_attr
        elif kind == "bucket_owner":
            from moto.s3.models import s3_backends

            bucket = call.params.get("Bucket")
            for account in (call.account, *s3_backends.keys()):
                if bucket in s3_backends[account]["aws"].buckets:
                    found["bucket_owner"] = account
                    break
    return found


class Recorder:
    """Collects the distinct needs of the recorded calls, from every thread of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, Recorded] = {}
        self._problems: dict[tuple[str, str, str], Problem] = {}
        # Access key -> the role ARN whose credentials it is (from AssumeRole answers).
        self._assumed: dict[str, str] = {}
        self._accounts: dict[str, str] = {}
        self._sessions: set[int] = set()
        # The tests that passed, and those during which a function made a call.
        self.tests: set[str] = set()
        self.calling_tests: set[str] = set()
        # The tests this process collected: a recorded test's file among theirs, but not the test
        # itself, is a test renamed or removed since the record was written.
        self.collected: set[str] = set()
        # While a test runs a function with what the templates do not deploy (`not_deployed`).
        self.paused = False

    # -------------------------------------------------------------- hooks on a function's session
    def watch(self, session: Any, function: str) -> None:
        if id(session) in self._sessions:
            return
        self._sessions.add(id(session))
        events = session.events
        tag = f"iam-recorder-{id(self)}"
        events.register("before-parameter-build", self._before_parameters, unique_id=f"{tag}-params")
        events.register("before-call", self._before_call, unique_id=f"{tag}-call")
        events.register(
            "after-call", lambda **kwargs: self._after_call(function, **kwargs), unique_id=f"{tag}-after"
        )
        events.register(
            "after-call-error",
            lambda **kwargs: self._after_error(function, **kwargs),
            unique_id=f"{tag}-error",
        )

    @staticmethod
    def _before_parameters(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if "iam-recorder" in context:  # another recorder's hook got there first: the same call
            return
        context["iam-recorder"] = {
            "service": model.service_model.service_name,
            "operation": model.name,
            "params": dict(params),
        }

    @staticmethod
    def _before_call(request_signer: Any, context: dict[str, Any], **_: Any) -> None:
        seen = context.get("iam-recorder")
        if seen is not None:
            seen["region"] = request_signer.region_name
            seen["access_key"] = request_signer._credentials.access_key

    def _after_call(
        self, function: str, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        seen = context.get("iam-recorder")
        if seen is None or "access_key" not in seen:
            return
        error = None
        if http_response.status_code >= 300:
            error = str(parsed.get("Error", {}).get("Code") or http_response.status_code)
        elif (seen["service"], seen["operation"]) == ("sts", "AssumeRole"):
            with self._lock:
                self._assumed[parsed["Credentials"]["AccessKeyId"]] = str(seen["params"]["RoleArn"])
        self._record(function, seen, error)

    def _after_error(
        self, function: str, exception: BaseException, context: dict[str, Any], **_: Any
    ) -> None:
        seen = context.get("iam-recorder")
        if seen is not None and "access_key" in seen:
            self._record(function, seen, f"exception:{type(exception).__name__}")

    # -------------------------------------------------------------- records
    def _account(self, access_key: str) -> str:
        account = self._accounts.get(access_key)
        if account is None:
            account = self._accounts[access_key] = _account_of_key(access_key)
        return account

    def _record(self, function: str, seen: dict[str, Any], error: str | None) -> None:
        if self.paused:
            return
        access_key = seen["access_key"]
        with self._lock:
            role = self._assumed.get(access_key)
        account = role.split(":")[4] if role else self._account(access_key)
        call = Call(seen["service"], seen["operation"], seen["params"], seen["region"], account)
        test = _current_test()
        if test:
            with self._lock:
                self.calling_tests.add(test)
        try:
            call = Call(
                call.service,
                call.operation,
                call.params,
                call.region,
                account,
                _lookups(call, LOOKUPS.get((call.service, call.operation), ())),
            )
            needs = needs_of(call)
        except (UnmappedCall, KeyError, TypeError, ValueError) as error_:
            problem = Problem(function, f"{call.service}:{call.operation}", str(error_), test)
            with self._lock:
                self._problems.setdefault((function, problem.call, problem.reason), problem)
            return
        organization = _organization()
        for need in needs:
            self._keep(function, role, account, call, need, organization, error, test)

    def _keep(
        self,
        function: str,
        role: str | None,
        account: str,
        call: Call,
        need: Need,
        organization: Any,
        error: str | None,
        test: str,
    ) -> None:
        recorded = Recorded(
            function=function,
            role=role,
            account=account,
            region=call.region,
            call=f"{call.service}:{call.operation}",
            action=need.action,
            resource=need.resource,
            context=[(k, list(v) if isinstance(v, tuple) else v) for k, v in need.context],
            resource_account=need.resource_account,
            implied=need.implied,
            unvalidated=need.unvalidated,
            organization_id=organization.id if organization is not None else None,
            root_id=organization.root_id if organization is not None else None,
            principal_in_organization=_in_organization(account),
            error=error,
            test=test,
        )
        recorded = canonical(recorded)
        key = recorded.key()
        with self._lock:
            self._seen.setdefault(key, recorded)

    @property
    def records(self) -> list[Recorded]:
        with self._lock:
            return list(self._seen.values())

    @property
    def problems(self) -> list[Problem]:
        with self._lock:
            return list(self._problems.values())

    def write(self, path: Path) -> None:
        """The records and problems of this process, one JSON object a line."""
        with path.open("w", encoding="utf-8") as out:
            for recorded in self.records:
                out.write(json.dumps({"recorded": asdict(recorded)}) + "\n")
            for problem in self.problems:
                out.write(json.dumps({"problem": asdict(problem)}) + "\n")
            out.write(
                json.dumps(
                    {
                        "tests": sorted(self.tests),
                        "calling_tests": sorted(self.calling_tests),
                        "collected": sorted(self.collected),
                    }
                )
                + "\n"
            )


@dataclass
class Recording:
    """What every process recorded."""

    records: list[Recorded]
    problems: list[Problem]
    # The tests that passed, and those during which a function made a call.
    tests: set[str]
    calling_tests: set[str]
    collected: set[str] = field(default_factory=set)

    def gone(self, test: str) -> bool:
        """Whether `test` no longer exists: its file was collected, and it was not."""
        file = test.split("::", 1)[0]
        return test not in self.collected and any(c.split("::", 1)[0] == file for c in self.collected)


def read(paths: list[Path]) -> Recording:
    """The records, problems and test ids of every process's file, deduplicated."""
    records: dict[str, Recorded] = {}
    problems: dict[tuple[str, str, str], Problem] = {}
    tests: set[str] = set()
    calling: set[str] = set()
    collected: set[str] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            if "recorded" in data:
                item = data["recorded"]
                item["context"] = [tuple(pair) for pair in item["context"]]
                recorded = Recorded(**item)
                records.setdefault(recorded.key(), recorded)
            elif "problem" in data:
                problem = Problem(**data["problem"])
                problems.setdefault((problem.function, problem.call, problem.reason), problem)
            else:
                tests.update(data["tests"])
                calling.update(data.get("calling_tests", ()))
                collected.update(data.get("collected", ()))
    return Recording(list(records.values()), list(problems.values()), tests, calling, collected)


def _wrap(recorder: Recorder) -> Callable[..., None]:
    original: Callable[..., None] = AwsClients.__init__

    def init(self: AwsClients, session: Any = None, **kwargs: Any) -> None:
        original(self, session, **kwargs)
        if session is None:  # a new session: whose is it?
            function = _entry_point()
            if function is not None:
                recorder.watch(self.session, function)

    return init


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """While open, the functions' sessions made anywhere in the process record into `recorder`."""
    with mock.patch.object(AwsClients, "__init__", _wrap(recorder)):
        yield recorder
