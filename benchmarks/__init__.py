"""Measured performance of the detect function: ``python -m benchmarks`` (``--json`` for figures).

Everything runs against the emulated AWS (moto and the Identity Center model), never real AWS:

* ``calls``: AWS calls per event type, cold and warm, and the longest chain of calls made one
  after another, with a simulated network latency so that concurrent calls overlap in time;
* ``cold_start``: import and set-up of the function, and its first event, in fresh processes,
  against a floor of boto3 and Powertools alone;
* ``throughput``: events per second through the handler, and memory;
* ``package``: the size of the function's code asset;
* ``sweep`` (only with ``--only sweep``): the organization-wide sweep of ``--accounts`` member
  accounts over every Region, with latency and throttling, and its projection to 10,000 accounts.
"""
