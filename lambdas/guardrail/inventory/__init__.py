"""The inventory of instances in DynamoDB (`table`), and what an event reads and writes of it
(`events`); what a record holds and when a look is news is the pure `guardrail.core.inventory`."""
