"""The Regions each account has enabled, answering Account Management `ListRegions` under moto.

moto's Account Management knows alternate contacts only. Every account has the Regions enabled by
default (launched before 20 March 2019); an opt-in Region is enabled per account, here with
`enable`. The Identity Center model asks `is_enabled` so that a call in a Region the account has
not enabled fails as AWS fails it.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, ClassVar, Self
from unittest import mock

from moto.account import urls as account_urls
from moto.account.responses import AccountResponse
from moto.core.exceptions import JsonRESTError

from guardrail.core.regions import IDENTITY_CENTER_REGIONS, REGIONS_ENABLED_BY_DEFAULT

__all__ = ["AccountRegions"]

_PATH = "{0}/listRegions$"
_MAX_PAGE = 50
_STATUSES = ("ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT")


class _ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(error_type="ValidationException", message=message)


class AccountRegions:
    """The Region opt-in state of every account; the commercial partition's Regions are modelled."""

    _installed: ClassVar[AccountRegions | None] = None

    def __init__(self, regions: Iterable[str] = ()) -> None:
        self._known = sorted(set(regions) or {r for r in IDENTITY_CENTER_REGIONS if "-gov-" not in r})
        self._enabled: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._patch = mock.patch.dict(account_urls.url_paths, {_PATH: AccountResponse.dispatch})

    def enable(self, account_id: str, *regions: str) -> None:
        """Enable opt-in Regions in one account."""
        with self._lock:
            self._enabled.setdefault(account_id, set()).update(regions)

    def is_enabled(self, account_id: str, region: str) -> bool:
        with self._lock:
            return region in REGIONS_ENABLED_BY_DEFAULT or region in self._enabled.get(account_id, set())

    def status(self, account_id: str, region: str) -> str:
        if region in REGIONS_ENABLED_BY_DEFAULT:
            return "ENABLED_BY_DEFAULT"
        return "ENABLED" if self.is_enabled(account_id, region) else "DISABLED"

    # ------------------------------------------------------------------ plumbing into moto
    def install(self) -> Self:
        if AccountRegions._installed is not None:
            raise RuntimeError("another AccountRegions is installed; uninstall it first")
        self._patch.start()
        AccountResponse.list_regions = self._handler()  # type: ignore[attr-defined]
        AccountRegions._installed = self
        return self

    def uninstall(self) -> None:
        if AccountRegions._installed is not self:
            return
        del AccountResponse.list_regions  # type: ignore[attr-defined]
        self._patch.stop()
        AccountRegions._installed = None

    def __enter__(self) -> Self:
        return self.install()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.uninstall()

    def _handler(self) -> Callable[[AccountResponse], str]:
        # A plain function: moto dispatches only to class attributes that are functions.
        def list_regions(response: AccountResponse) -> str:
            params: dict[str, Any] = json.loads(response.body) if response.body else {}
            return json.dumps(self._list_regions(str(response.current_account), params))

        return list_regions

    def _list_regions(self, caller: str, params: dict[str, Any]) -> dict[str, Any]:
        account_id = params.get("AccountId") or caller
        wanted = params.get("RegionOptStatusContains") or list(_STATUSES)
        if any(status not in _STATUSES for status in wanted):
            raise _ValidationException(f"RegionOptStatusContains must hold only {', '.join(_STATUSES)}.")
        max_results = params.get("MaxResults", _MAX_PAGE)
        if not isinstance(max_results, int) or not 1 <= max_results <= _MAX_PAGE:
            raise _ValidationException(f"MaxResults must be between 1 and {_MAX_PAGE}.")
        start = _decode(params.get("NextToken"))
        matching = [
            {"RegionName": region, "RegionOptStatus": status}
            for region in self._known
            if (status := self.status(account_id, region)) in wanted
        ]
        page: dict[str, Any] = {"Regions": matching[start : start + max_results]}
        if start + max_results < len(matching):
            page["NextToken"] = base64.urlsafe_b64encode(str(start + max_results).encode()).decode()
        return page


def _decode(token: Any) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(str(token).encode()).decode())
    except (binascii.Error, ValueError) as error:
        raise _ValidationException("Invalid NextToken.") from error
