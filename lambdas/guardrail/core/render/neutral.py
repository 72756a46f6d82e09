"""Creator text made neutral for each channel that renders it, in one step per channel.

Whoever creates an instance chooses its name, its tags and its applications' names; whoever may
create accounts or OUs chooses their names; callers choose their user agent, and error messages
quote what they sent. AWS lets these hold line breaks (application and OU names take any
character; tag values take `\\u2028`, a line separator), chat markup (`<!channel>`, `<@U…>`,
`<url|text>`, `[text](url)`, `*bold*`) and bidirectional or invisible controls. Rendered as they
are, they forge what a reader trusts: a `*Deleted?* skipped` line in chat, a mention that pages
a channel, a link whose text lies, a line in the email's "What happens next".

So each renderer first passes the whole alert body through its channel's cleaner (`neutral`),
every string of it, keys included, and renders only from the result: no field is forgotten, and
the renderer's own words (labels, fixes, links) are the only structure in what it sends. The JSON
alert keeps the values as recorded: JSON escapes them, and its subscribers parse it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

# How much of one creator-controlled text each channel shows.
EMAIL_TEXT = 600
CHAT_TEXT = 400
SECURITY_HUB_TEXT = 1_000  # below ASFF's 1,024-character description, as resource details were kept
_ELLIPSIS = "..."

# Line and paragraph separators (Zl, Zp), controls and format characters (C*: bidirectional
# overrides, zero-width characters, unassigned and private code points) all become a space.
_BREAKING = frozenset({"Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"})

# Chat markup, replaced by look-alikes no chat client reads as markup: `<` and `>` open and close
# mentions and links in Slack (`<!channel>`, `<@U…>`, `<url|text>`) and HTML elsewhere; `*`, `~`
# and `` ` `` mark emphasis and code.
_CHAT_MARKUP = str.maketrans({"<": "\u2039", ">": "\u203a", "*": "\u2217", "~": "\u223c", "`": "\u02cb"})
# `_` marks emphasis only at a word's edge (`_x_`), `@` a mention only at a word's start
# (`@here`); inside a word (`cost_center`, `bob@example.com`) both are kept.
_EDGE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_MENTION = re.compile(r"(?<![^\W_])@")
# A Markdown link is `[text](url)`: a `]` before a `(` closes its text, and so does one that ends
# the text, when what the renderer writes after it opens with `(` (` (Root)`).
_MARKDOWN_LINK = re.compile(r"\](?=\s*(\(|$))")
# A URL with a scheme is made a link by every client.
_SCHEME = re.compile(r":/{2}")


def one_line(text: str, limit: int) -> str:
    """`text` on one line: every line break, control or format character a space, runs of
    whitespace one space, at most `limit` characters (ending in '...' when cut)."""
    if text.isprintable() and text.isascii() and "  " not in text and len(text) <= limit:
        return text.strip()  # the common case, kept cheap
    spaced = "".join(" " if unicodedata.category(ch) in _BREAKING else ch for ch in text)
    flat = " ".join(spaced.split())
    return flat if len(flat) <= limit else flat[: max(limit - len(_ELLIPSIS), 0)].rstrip() + _ELLIPSIS


def plain(limit: int) -> Callable[[str], str]:
    """The cleaner of a plain-text channel (the email, Security Hub): one line, clipped."""
    return lambda text: one_line(text, limit)


def chat_text(text: str, limit: int = CHAT_TEXT) -> str:
    """Text for a chat client's markdown: one line, clipped, and no mention, link or emphasis."""
    flat = one_line(text, limit).translate(_CHAT_MARKUP)
    flat = _EDGE_UNDERSCORE.sub("\uff3f", flat)
    flat = _MENTION.sub("\uff20", flat)
    flat = _MARKDOWN_LINK.sub("\uff3d", flat)
    return _SCHEME.sub(":\u2215\u2215", flat)


def neutral(value: Any, clean: Callable[[str], str]) -> Any:
    """`value` (an alert body) with every string in it, map keys included, passed through `clean`."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {
            clean(key) if isinstance(key, str) else key: neutral(item, clean) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [neutral(item, clean) for item in value]
    return value
