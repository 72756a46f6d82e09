import boto3

from guardrail.core.regions import IDENTITY_CENTER_REGIONS


def test_the_core_knows_every_region_where_botocore_lists_identity_center() -> None:
    session = boto3.session.Session()
    botocore_regions = {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sso", partition_name=partition)
    }
    assert botocore_regions - IDENTITY_CENTER_REGIONS == set(), "add these Regions to core/regions.py"
    assert IDENTITY_CENTER_REGIONS - botocore_regions == set(), "botocore no longer lists these Regions"
