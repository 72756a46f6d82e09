"""The Regions an account has enabled (AWS Account Management), read inside the account."""

from __future__ import annotations

from typing import Any

from guardrail.adapters.clients import pages

# The Regions an account can call: those enabled by default and the opt-in ones it enabled.
ENABLED = ("ENABLED", "ENABLED_BY_DEFAULT")
# Account Management is a global service, served from this Region in the commercial partition.
ACCOUNT_REGION = "us-east-1"


def enabled_regions(client: Any) -> frozenset[str]:
    """The Regions the calling account may use (`ListRegions`, paged to the end)."""
    return frozenset(
        region["RegionName"]
        for page in pages(client.list_regions, RegionOptStatusContains=list(ENABLED))
        for region in page.get("Regions", [])
    )
