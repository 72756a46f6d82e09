"""An organization trail's log folder, written as CloudTrail delivers it, for tests and benchmarks.

CloudTrail writes gzipped JSON files, each one object `{"Records": [...]}`, under
`AWSLogs/<org id>/<account>/CloudTrail/<region>/YYYY/MM/DD/`, named
`<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<random>.json.gz`, with digest files beside them
under `CloudTrail-Digest/`. What is written here has that layout and the records of a busy
organization: many services, read and write calls, look-alikes of the instance calls (sso-admin's
other calls, Lightsail's CreateInstances, EC2's RunInstances), with enough variety in the fields
that it compresses as real logs do. The instance events given are placed among them, in the file
of their own account, Region and day. Deterministic for a given seed.
"""

from __future__ import annotations

import base64
import gzip
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

__all__ = ["TrailLayout", "TrailWritten", "write_organization_trail"]

_AGENTS = (
    "aws-cli/2.31.4 md/awscrt#0.27.2 ua/2.1 os/linux#6.8 md/arch#x86_64 lang/python#3.13.7",
    "Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linux#5.10 md/arch#aarch64 lang/python#3.13.0 exec-env/AWS_Lambda_python3.13",
    "aws-sdk-java/2.29.1 Linux/5.10.228 OpenJDK_64-Bit_Server_VM/21.0.5+11-LTS Java/21.0.5 vendor/Amazon.com_Inc.",
    "aws-sdk-go-v2/1.32.4 os/linux lang/go#1.23.2 md/GOOS#linux md/GOARCH#amd64 api/s3#1.66.3",
    "AWS Internal",
    "console.amazonaws.com",
)


@dataclass(frozen=True)
class TrailLayout:
    """Whose trail, over which accounts, Regions and day."""

    organization_id: str = "o-exampleorg1"
    accounts: tuple[str, ...] = ("111111111111", "222222222222", "333333333333", "444444444444")
    regions: tuple[str, ...] = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
    day: date = date(2026, 11, 2)


@dataclass(frozen=True)
class TrailWritten:
    files: tuple[Path, ...]
    records: int
    instance_records: int
    compressed_bytes: int
    uncompressed_bytes: int


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def uuid(self) -> str:
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def text(self, length: int) -> str:
        """Upper-case letters and digits, as in access key ids."""
        return base64.b32encode(self._rng.randbytes(length)).decode()[:length]

    def hex(self, length: int) -> str:
        return f"{self._rng.getrandbits(length * 4):0{length}x}"


def _identity(ids: _Ids, rng: random.Random, account: str) -> dict[str, Any]:
    role = rng.choice(("app-runtime", "ci-deployer", "data-pipeline", "AWSReservedSSO_ReadOnly_0a1b2c3d"))
    session = rng.choice(
        ("i-0" + ids.hex(16), "botocore-session-" + str(rng.randrange(10**9)), "alice", "bob")
    )
    return {
        "type": "AssumedRole",
        "principalId": f"AROA{ids.text(17)}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIA" + ids.text(16),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROA" + ids.text(17),
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2026-11-02T08:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def _call(
    service: str, name: str, *, read_only: bool, management: bool = True
) -> Callable[..., dict[str, Any]]:
    def make(ids: _Ids, rng: random.Random, account: str, region: str, when: str) -> dict[str, Any]:
        record: dict[str, Any] = {
            "eventVersion": "1.11",
            "userIdentity": _identity(ids, rng, account),
            "eventTime": when,
            "eventSource": f"{service}.amazonaws.com",
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
            "userAgent": rng.choice(_AGENTS),
            "requestParameters": _parameters(ids, rng, service, account, region),
            "responseElements": None,
            "requestID": ids.uuid(),
            "eventID": ids.uuid(),
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "managementEvent": management,
            "recipientAccountId": account,
            "eventCategory": "Management" if management else "Data",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": f"{service}.{region}.amazonaws.com",
            },
        }
        if not read_only:
            record["responseElements"] = {"requestId": ids.uuid()}
        if rng.random() < 0.02:
            record["errorCode"] = rng.choice(
                ("AccessDenied", "ThrottlingException", "ResourceNotFoundException")
            )
            record["errorMessage"] = "User is not authorized to perform this operation"
        return record

    return make


def _parameters(ids: _Ids, rng: random.Random, service: str, account: str, region: str) -> dict[str, Any]:
    if service == "s3":
        return {"bucketName": f"data-{account}-{region}", "key": f"part-{ids.hex(12)}.parquet"}
    if service == "sts":
        return {"roleArn": f"arn:aws:iam::{account}:role/app-runtime", "roleSessionName": ids.text(12)}
    if service == "kms":
        return {
            "keyId": f"arn:aws:kms:{region}:{account}:key/{ids.uuid()}",
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        }
    if service == "sso":
        return {"instanceArn": f"arn:aws:sso:::instance/ssoins-{ids.hex(16)}", "maxResults": 100}
    return {
        "maxResults": rng.choice((50, 100, 1000)),
        "filterSet": {"items": [{"name": "tag:team", "valueSet": {}}]},
    }


# Weights roughly as in a busy organization: data reads dominate, instance look-alikes are rare.
_BACKGROUND: Sequence[tuple[float, Callable[..., dict[str, Any]]]] = (
    (30, _call("s3", "GetObject", read_only=True, management=False)),
    (10, _call("s3", "PutObject", read_only=False, management=False)),
    (15, _call("sts", "AssumeRole", read_only=True)),
    (15, _call("kms", "Decrypt", read_only=True)),
    (8, _call("ec2", "DescribeInstances", read_only=True)),
    (5, _call("lambda", "Invoke", read_only=False, management=False)),
    (5, _call("logs", "PutLogEvents", read_only=False, management=False)),
    (4, _call("dynamodb", "DescribeTable", read_only=True)),
    (3, _call("cloudformation", "DescribeStacks", read_only=True)),
    (2, _call("sso", "ListInstances", read_only=True)),
    (1, _call("sso", "CreateInstanceAccessControlAttributeConfiguration", read_only=False)),
    (1, _call("sso", "ListPermissionSets", read_only=True)),
    (0.5, _call("lightsail", "CreateInstances", read_only=False)),
    (0.5, _call("ec2", "RunInstances", read_only=False)),
)


def _write_digest(root: Path, layout: TrailLayout, account: str, region: str, when: datetime) -> None:
    """A digest file, where CloudTrail puts them: it lists log files and holds no records."""
    folder = (
        root
        / "AWSLogs"
        / layout.organization_id
        / account
        / "CloudTrail-Digest"
        / region
        / when.strftime("%Y/%m/%d")
    )
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{account}_CloudTrail-Digest_{region}_organization-trail_{region}_{when:%Y%m%dT%H%M%SZ}.json.gz"
    body = {"awsAccountId": account, "digestStartTime": when.isoformat(), "logFiles": []}
    (folder / name).write_bytes(gzip.compress(msgspec.json.encode(body), mtime=0))


def _slots(layout: TrailLayout) -> Iterator[tuple[str, str, datetime]]:
    """(account, Region, delivery time) round-robin: every account and Region, every 5 minutes."""
    start = datetime.combine(layout.day, datetime.min.time(), tzinfo=UTC)
    minute = 0
    while True:
        for account in layout.accounts:
            for region in layout.regions:
                yield account, region, start + timedelta(minutes=minute % (24 * 60))
        minute += 5


def write_organization_trail(
    root: Path,
    *,
    records: int,
    instance_records: Sequence[Mapping[str, Any]] = (),
    records_per_file: int = 500,
    layout: TrailLayout | None = None,
    seed: int = 0,
    digests: bool = True,
) -> TrailWritten:
    """Write ``records`` background records plus ``instance_records`` (raw CloudTrail records) below
    ``root``/AWSLogs, ``records_per_file`` to a file; return what was written."""
    layout = layout or TrailLayout()
    rng = random.Random(seed)  # noqa: S311 -- reproducible test data, not secrets
    ids = _Ids(rng)
    weights = [w for w, _ in _BACKGROUND]
    makers = [m for _, m in _BACKGROUND]
    pending: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in instance_records:
        pending.setdefault((str(record["recipientAccountId"]), str(record["awsRegion"])), []).append(record)
    files: list[Path] = []
    compressed = uncompressed = 0
    written = 0
    slots = _slots(layout)

    def flush(account: str, region: str, when: datetime, batch: list[Any]) -> None:
        nonlocal compressed, uncompressed
        folder = (
            root
            / "AWSLogs"
            / layout.organization_id
            / account
            / "CloudTrail"
            / region
            / when.strftime("%Y/%m/%d")
        )
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{account}_CloudTrail_{region}_{when:%Y%m%dT%H%MZ}_{ids.text(16)}.json.gz"
        data = msgspec.json.encode({"Records": batch})
        packed = gzip.compress(data, compresslevel=6, mtime=0)
        (folder / name).write_bytes(packed)
        files.append(folder / name)
        compressed += len(packed)
        uncompressed += len(data)

    while written < records:
        account, region, when = next(slots)
        size = min(records_per_file, records - written)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        batch: list[Any] = [
            maker(ids, rng, account, region, stamp) for maker in rng.choices(makers, weights, k=size)
        ]
        written += size
        if (account, region) in pending and rng.random() < 0.5:
            for record in pending.pop((account, region)):
                batch.insert(rng.randrange(len(batch) + 1), dict(record))
        flush(account, region, when, batch)
        if digests and len(files) == 1:
            _write_digest(root, layout, account, region, when)
    noon = datetime.combine(layout.day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    for (account, region), left in pending.items():  # an account or Region not drawn above
        flush(account, region, noon, [dict(record) for record in left])
    return TrailWritten(
        files=tuple(files),
        records=written + len(instance_records),
        instance_records=len(instance_records),
        compressed_bytes=compressed,
        uncompressed_bytes=uncompressed,
    )
