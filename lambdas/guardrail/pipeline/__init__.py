"""The event pipeline: an instance API call in, at most one alert out.

`events` parses what EventBridge delivers (strictly), `patterns` is the one rule pattern the
stacks deploy and the replay matches with, `service` gathers, decides, settles the deletion and
concludes, and `synthetic` handles `guardrail doctor`'s test events.
"""
