"""Where alerts go out: the alert topic (email and JSON subscribers), chat, Security Hub CSPM, and
the audit trail; the deliverer that tries them all at once and records which took an alert."""
