"""The bucket of the sweep's run files: the snapshot, the accounts, the reports and the map's results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge, resource_of

# Where the planner, the workers and the summary write (`guardrail.adapters.reports.run_key`).
RUNS_PREFIX: Final = "runs/"
# Where the Distributed Map's ResultWriter writes: `map-results/<map run id>/manifest.json`, ...
MAP_RESULTS_PREFIX: Final = "map-results"
# What reading the run files takes (their content, attributes, tags, versions, and the key listing,
# whose keys name accounts), and what writing or removing one takes.
READ_ACTIONS: Final = ("s3:GetObject*", "s3:ListBucket*")
WRITE_ACTIONS: Final = ("s3:PutObject*", "s3:DeleteObject*", "s3:AbortMultipartUpload")


def run_objects(bucket_arn: str, name: str) -> str:
    """The ARN of an object named `name` in every run, e.g. `accounts.json` or `batches/*`."""
    return f"{bucket_arn}/{RUNS_PREFIX}*/{name}"


class ReportsBucket(Construct):
    """Private, TLS only, encrypted (SSE-S3); every object expires after `retention_days`.

    Everything in it is written by one run and read by the same run (and by people, afterwards),
    so objects are never overwritten by a later run and versioning would only keep copies nobody
    reads: it is off. Retained when the stack is deleted, as the reports are an audit trail.

    The run files list every account id and the inventory, so `restrict` denies, by bucket policy,
    reading them to every principal but the sweep's own roles and the named administrators, and
    writing or deleting them to every principal but the sweep's roles: an identity policy of the
    account granting `s3:*` (an administrator's, a CI role's) does not open them.
    """

    def __init__(self, scope: Construct, construct_id: str, *, retention_days: int) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireRunFiles",
                    enabled=True,
                    expiration=Duration.days(retention_days),
                    # The ResultWriter uploads in parts; a run that stops leaves none behind for long.
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            resource_of(self.bucket),
            "AwsSolutions-S1",
            "Only the sweep's own roles (planner, worker, summary, state machine) write and read this "
            "bucket, each on its own keys; a server access log would need a second bucket that itself "
            "goes unlogged. CloudTrail S3 data events, where the organization trail records them, give a "
            "per-request record of who read a report",
        )

    def restrict(self, *, readers: Sequence[str], writers: Sequence[str]) -> None:
        """Deny reading the bucket to all but `readers`, writing to all but `writers` (ARNs of roles
        or users, wildcards allowed: `aws:PrincipalArn` is a role's ARN for its sessions)."""
        for sid, actions, principals in (
            ("ReadOnlyBySweepAndAdministrators", READ_ACTIONS, readers),
            ("WriteOnlyBySweep", WRITE_ACTIONS, writers),
        ):
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=list(actions),
                    resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
                    conditions={"ArnNotLike": {"aws:PrincipalArn": list(principals)}},
                )
            )
