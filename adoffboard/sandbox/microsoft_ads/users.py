"""The Microsoft Advertising stand-in's user-level reads (Customer Management), which take no
customer or account header: GetUser (no UserId: the signed-in user) and SearchAccounts, the two
calls of Microsoft's "search user accounts" example
(https://learn.microsoft.com/en-us/advertising/guides/code-example-search-user-accounts). The
sandbox has one API user, who manages every account of the scenario."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adoffboard.sandbox.http import Request, Response
from adoffboard.sandbox.microsoft_ads.accounts import Account
from adoffboard.sandbox.microsoft_ads.faults import (
    INVALID_SEARCH,
    NOT_AUTHORIZED,
    _error,
    _operation_fault,
)

CUSTOMER = "/CustomerManagement/v13"
USER_LEVEL = frozenset({f"{CUSTOMER}/User/Query", f"{CUSTOMER}/Accounts/Search"})
USER_ID = "50012345"


class UserReads:
    """Mixed into the stand-in: its `accounts` and `_answer` serve these reads."""

    accounts: dict[str, Account]

    @staticmethod
    def _answer(fn: Any, request: Request) -> Response:
        raise NotImplementedError

    def _get_user(self, request: Request) -> Response:
        def run(req: Request) -> dict[str, Any]:
            wanted = str((req.json() or {}).get("UserId") or USER_ID)
            if wanted != USER_ID:
                raise _operation_fault("CustomerManagementService", _error(NOT_AUTHORIZED))
            customers = sorted({a.customer_id for a in self.accounts.values()})
            return {
                "User": {"Id": USER_ID, "UserName": "sandbox-api-user", "Lcid": "EnglishUS"},
                "CustomerRoles": [
                    {"RoleId": 41, "CustomerId": c, "LinkedAccountIds": None} for c in customers
                ],
            }

        return self._answer(run, request)

    def _search_accounts(self, request: Request) -> Response:
        """Accounts matching every predicate (UserId, CustomerId, AccountId, AccountName with
        Equals/Contains), a page of them (PageInfo Index, Size up to 1000), ordered by Id."""

        def run(req: Request) -> dict[str, Any]:
            body = req.json() or {}
            page = body.get("PageInfo") or {}
            index, size = int(page.get("Index") or 0), int(page.get("Size") or 0)
            if not body.get("Predicates") or not 1 <= size <= 1000:
                raise _operation_fault("CustomerManagementService", _error(INVALID_SEARCH))
            found = sorted(self.accounts.values(), key=lambda a: int(a.account_id))
            for pred in body["Predicates"]:
                found = [a for a in found if _matches(a, pred)]
            rows = found[index * size : (index + 1) * size]
            return {
                "Accounts": [
                    {
                        "Id": a.account_id,
                        "Name": a.name,
                        "Number": a.number,
                        "ParentCustomerId": a.customer_id,
                        "CurrencyCode": a.currency,
                        "AccountLifeCycleStatus": "Active",
                        "Type": "Advertiser",
                    }
                    for a in rows
                ]
            }

        return self._answer(run, request)


def _matches(account: Account, predicate: Mapping[str, Any]) -> bool:
    field, op = str(predicate.get("Field") or ""), str(predicate.get("Operator") or "Equals")
    value = str(predicate.get("Value") or "")
    if field == "UserId":
        return value == USER_ID
    have = {
        "CustomerId": account.customer_id,
        "AccountId": account.account_id,
        "AccountName": account.name,
        "AccountNumber": account.number,
    }.get(field)
    if have is None:
        raise _operation_fault("CustomerManagementService", _error(INVALID_SEARCH))
    return value.lower() in have.lower() if op == "Contains" else value == have
