"""The organization-wide sweep at scale: thousands of member accounts, every Region, latency, throttling.

The deployed sweep's own steps run here, on the emulation: the planner (`handlers.plan`), the
worker on each batch of accounts (`handlers.work`, with its recorder: the inventory and the
alerts) and the summary (`handlers.summarize_run`). Step Functions' Distributed Map is the emulator's
(`emulator.distributed_map`: items read from S3, batches of the map's batch size, results written
as the ResultWriter writes them), its children run by a pool of threads, each standing for one
child execution holding one warm worker runtime (a Lambda execution environment), at most the
map's max concurrency at once. The worker runs as deployed: with the coverage check on.

On the wire, each call waits a simulated round trip and is metered by token buckets that throttle
as STS, Identity Center, Account Management and Organizations do (``QUOTAS``): a call that finds
its bucket empty gets the service's throttling error, which botocore's adaptive retries see as
AWS's. Each call is attributed to the member account it is about (the member-role calls carry the
account's credentials; AssumeRole is made by the central account, with the account in the role
ARN; the recorder's reads and writes name the account or its instance), which gives the calls
per account and the longest chain of calls one after another per account.

One Python process cannot stand for 40 Lambda functions: the emulation answers with the GIL
held, so concurrent children share one core. The run of the whole organization shows what the
process manages; the per-batch time measured with a batch running alone is what a child takes,
and the projection to 10,000 accounts is built from it, with the quotas it rests on.

Modules: `settings` (what is swept, quotas), `organization` (the organization built),
`attribution` (calls per account, chains), `run` (the steps and the map), `batches` (batches alone,
cold child, STS stress), `projection`, `measure` (the figures), `report` (the Markdown).
"""

from benchmarks.sweep.measure import measure_sweep, stderr_progress
from benchmarks.sweep.report import report_sweep

__all__ = ["measure_sweep", "report_sweep", "stderr_progress"]
