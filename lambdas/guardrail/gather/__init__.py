"""Gathering the facts a decision is made from, from AWS, in one place.

One job a module: `cache` (what outlives an invocation), `deadline` (what is missing when AWS is
slow), `sessions` (role credentials), `organization` and `member` (the two sides of the facts),
`gatherer` (the facts about one API call, both sides at once), `assembly` (which facts a trigger
needs and what is recorded missing, for the gatherer, the sweep and a snapshot alike).
"""

from guardrail.gather.cache import FreshReads, TtlCache
from guardrail.gather.gatherer import FactGatherer, GatherSettings

__all__ = ["FactGatherer", "FreshReads", "GatherSettings", "TtlCache"]
