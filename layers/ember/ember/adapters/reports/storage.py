"""Where burn reports are kept: S3 (encrypted at rest), or a local directory without AWS.

    reports/<period kind>/<from>_<to>/report.{json,csv,html,pdf}

```python
storage = S3ReportStorage(boto3.client("s3"), "ember-reports", kms_key_id=None)  # AES256
storage.put(period, {"json": b"...", "csv": b"..."})
storage.report_ids()          # every stored report, newest period first
storage.links("weekly.2026-11-01_2026-11-08", expires_s=900)   # {"json": presigned URL, ...}
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from ember.domain.burn_report import Period

from .renderers import CONTENT_TYPES, FORMATS

PREFIX = "reports/"


def report_key(period: Period, fmt: str) -> str:
    return f"{PREFIX}{period.kind}/{period.key}/report.{fmt}"


def period_of_key(key: str) -> Period | None:
    """The period a stored report's key names; None for any other key."""
    parts = key.removeprefix(PREFIX).split("/")
    if not key.startswith(PREFIX) or len(parts) != 3 or parts[2] != "report.json":
        return None
    try:
        return Period.from_report_id(f"{parts[0]}.{parts[1]}")
    except ValueError:
        return None


def newest_first(periods: list[Period]) -> list[str]:
    ordered = sorted(periods, key=lambda p: (p.end, p.start, p.kind), reverse=True)
    return [p.report_id for p in ordered]


class ReportStorage(Protocol):
    def put(self, period: Period, files: dict[str, bytes]) -> dict[str, str]: ...

    def report_ids(self) -> list[str]: ...

    def formats(self, report_id: str) -> list[str]: ...

    def read(self, report_id: str, fmt: str) -> bytes | None: ...

    def links(self, report_id: str, expires_s: int) -> dict[str, str]: ...


class S3ReportStorage:
    """Reports in an S3 bucket, each object encrypted: SSE-KMS with `kms_key_id`, else AES256."""

    def __init__(self, s3: Any, bucket: str, *, kms_key_id: str | None = None) -> None:
        self.s3, self.bucket, self.kms_key_id = s3, bucket, kms_key_id

    def put(self, period: Period, files: dict[str, bytes]) -> dict[str, str]:
        """Writes each format; the s3:// location of each."""
        encryption: dict[str, str] = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
            if self.kms_key_id else {"ServerSideEncryption": "AES256"})
        written = {}
        for fmt in _ordered(files):  # report.json last: a listed report has every format
            key = report_key(period, fmt)
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=files[fmt],
                               ContentType=CONTENT_TYPES[fmt], **encryption)
            written[fmt] = f"s3://{self.bucket}/{key}"
        return written

    def report_ids(self) -> list[str]:
        periods = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=PREFIX):
            for item in page.get("Contents", []):
                period = period_of_key(item["Key"])
                if period is not None:
                    periods.append(period)
        return newest_first(periods)

    def formats(self, report_id: str) -> list[str]:
        period = Period.from_report_id(report_id)
        prefix = report_key(period, "").removesuffix("report.")
        found = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        names = {item["Key"].rsplit(".", 1)[-1] for item in found}
        return [fmt for fmt in FORMATS if fmt in names]

    def read(self, report_id: str, fmt: str) -> bytes | None:
        key = report_key(Period.from_report_id(report_id), fmt)
        try:
            return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            return None

    def links(self, report_id: str, expires_s: int) -> dict[str, str]:
        period = Period.from_report_id(report_id)
        return {fmt: self.s3.generate_presigned_url(
                    "get_object", Params={"Bucket": self.bucket, "Key": report_key(period, fmt)},
                    ExpiresIn=expires_s)
                for fmt in self.formats(report_id)}


class LocalReportStorage:
    """Reports under a local directory, for runs without AWS; links are file:// URLs."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, period: Period, files: dict[str, bytes]) -> dict[str, str]:
        written = {}
        for fmt in _ordered(files):
            path = self.root / report_key(period, fmt)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(files[fmt])
            tmp.replace(path)  # a reader sees the old file or the new one
            written[fmt] = str(path)
        return written

    def report_ids(self) -> list[str]:
        found = [period_of_key(path.relative_to(self.root).as_posix())
                 for path in (self.root / PREFIX).glob("*/*/report.json")]
        return newest_first([p for p in found if p is not None])

    def formats(self, report_id: str) -> list[str]:
        period = Period.from_report_id(report_id)
        return [fmt for fmt in FORMATS if (self.root / report_key(period, fmt)).is_file()]

    def read(self, report_id: str, fmt: str) -> bytes | None:
        path = self.root / report_key(Period.from_report_id(report_id), fmt)
        return path.read_bytes() if path.is_file() else None

    def links(self, report_id: str, expires_s: int) -> dict[str, str]:
        period = Period.from_report_id(report_id)
        return {fmt: (self.root / report_key(period, fmt)).resolve().as_uri()
                for fmt in self.formats(report_id)}


def _ordered(files: dict[str, bytes]) -> list[str]:
    return sorted(files, key=lambda fmt: fmt == "json")
