"""One alert, rendered for each kind of subscriber.

The alert body (`guardrail.core.alert`) is the channel-neutral notice; each module here renders it
for one channel, purely, from the body alone: `email` (plain text a person reads), `chat` (an
Amazon Q Developer in chat applications custom notification), `securityhub` (ASFF findings and
their workflow updates). The JSON subscribers (`default`, `email-json`, `sqs`, `lambda`, `https`)
get the body itself.
"""
