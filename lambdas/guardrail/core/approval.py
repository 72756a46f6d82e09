"""Whether the policy approves an account for account instances, by id or by OU name path.

Organizations lets anyone allowed to create or rename an OU give it any name of 1 to 128
characters, `/` and `ou-…` included. So a name must never pass for an id, and a path must never
be compared as a joined string:

* an entry shaped as an id (`ou-…`, `r-…`) matches the id of the account's OU or of an OU (or the
  root) above it, and nothing else;
* any other entry is a name path below the root, split on `/` into a sequence of names, and
  matches when that sequence starts the account's own sequence of OU names. A name holding `/`
  can never equal one segment of such an entry, so a path made ambiguous by it never approves.
"""

from __future__ import annotations

from collections.abc import Sequence

from guardrail.core.facts import OrganizationalUnit

ID_PREFIXES = ("ou-", "r-")


def is_id_entry(entry: str) -> bool:
    """Whether an approval entry names an OU or the root by id (and so is compared with ids only)."""
    return entry.startswith(ID_PREFIXES)


def path_segments(entry: str) -> tuple[str, ...]:
    """A name-path entry as the names it is made of: `Workloads/Prod` -> ('Workloads', 'Prod')."""
    return tuple(entry.split("/"))


def names_below_root(parents: Sequence[OrganizationalUnit]) -> tuple[str, ...]:
    """The names of the OUs from below the root down to the account's own OU."""
    return tuple(unit.name for unit in parents if not unit.id.startswith("r-"))


def approving_unit(parents: Sequence[OrganizationalUnit], entries: Sequence[str]) -> str | None:
    """The first entry that approves an account under `parents` (root first), or None."""
    ids = {unit.id for unit in parents}
    names = names_below_root(parents)
    for entry in entries:
        if is_id_entry(entry):
            if entry in ids:
                return entry
        else:
            wanted = path_segments(entry)
            if names[: len(wanted)] == wanted:
                return entry
    return None
