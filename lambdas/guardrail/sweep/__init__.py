"""The organization-wide sweep: the guardrail's ground truth of which account instances exist.

`planner` lists the organization once (accounts, OU tree, SCPs, the organization instance) into a
snapshot; `worker` judges the instances of a batch of accounts against it; `summary` adds the
batches up. Step Functions runs them deployed (a Distributed Map over the accounts); `guardrail
sweep` runs them from a workstation, read-only.
"""
