"""The sweep's reports bucket (S3): the run's snapshot and accounts, each batch's report, the
summary. Objects are JSON; keys are under `runs/<run id>/`."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def run_key(run_id: str, name: str) -> str:
    return f"runs/{run_id}/{name}"


class ReportStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    def put(self, key: str, body: bytes, content_type: str = "application/json") -> None:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def get(self, key: str, bucket: str | None = None) -> bytes:
        data: bytes = self._client.get_object(Bucket=bucket or self.bucket, Key=key)["Body"].read()
        return data

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
