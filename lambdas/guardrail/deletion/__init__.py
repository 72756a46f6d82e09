"""Deleting account instances, in one place: the lifecycle's effects (`lifecycle`), the schedules
that keep pending deletions (`schedules`), the claim and the hourly cap (`guard`), and
DeleteInstance itself (`remediator`). What a deletion should become is decided by the pure model
in `guardrail.core.deletion`."""
