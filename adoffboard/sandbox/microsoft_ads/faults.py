"""The Microsoft Advertising stand-in's errors: the codes it answers with, as the published
operation error list names them (`guides/operation-error-codes.md`), and the envelopes the msads
SDK parses (`ApplicationFault`: `ApiFaultDetail`, `ApiFault`, `AdApiFaultDetail`)."""

from __future__ import annotations

import uuid
from typing import Any

from adoffboard.sandbox.http import Response

# (code, symbolic code, message): documented in the Bing Ads operation error codes
INTERNAL = (0, "InternalError", "An internal error has occurred.")
INVALID_CREDENTIALS = (
    105,
    "InvalidCredentials",
    "Authentication failed. Either supplied credentials are invalid or the account is inactive.",
)
NOT_AUTHORIZED = (106, "UserIsNotAuthorized", "The user does not represent a authorized developer.")
TOKEN_EXPIRED = (109, "AuthenticationTokenExpired", "The OAuth access token has expired.")
MISSING_HEADERS = (
    116,
    "RequestMissingHeaders",
    "One or more required header elements are missing from the request.",
)
CALL_RATE = (
    117,
    "CallRateExceeded",
    "You have exceeded the number of calls that you are "
    "allowed to make in a minute. Please reduce the number of calls that you make per "
    "minute.",
)
INVALID_CAMPAIGN_ID = (
    1100,
    "CampaignServiceInvalidCampaignId",
    "The campaign identifier is not valid.",
)
# SearchAccounts without predicates, with a page size outside 1..1000 or an unknown field (the
# stand-in's own wording; the service answers such a request with an ApiFault too)
INVALID_SEARCH = (1001, "InvalidSearchRequest", "The search predicates or paging are not valid.")
INVALID_ACCOUNT_ID = (
    1102,
    "CampaignServiceInvalidAccountId",
    "The account identifier is not valid.",
)
INVALID_DAILY_BUDGET = (
    1106,
    "CampaignServiceInvalidDailyBudget",
    "The campaign daily budget is not valid.",
)
DUPLICATE_CAMPAIGN_IDS = (
    1107,
    "CampaignServiceDuplicateCampaignIds",
    "Duplicate identifiers are contained in the array of campaigns.",
)
CAMPAIGNS_EMPTY = (
    1113,
    "CampaignServiceCampaignsArrayShouldNotBeNullOrEmpty",
    "The array of campaigns is null or empty.",
)
CAMPAIGNS_LIMIT = (
    1114,
    "CampaignServiceCampaignsArrayExceedsLimit",
    "The list of campaigns exceeds the limit.",
)
INVALID_STATUS = (
    1120,
    "CampaignServiceInvalidCampaignStatus",
    "The campaign status is not valid for the requested operation.",
)
SHARED_BUDGET = (
    1159,
    "CampaignServiceCannotUpdateSharedBudget",
    "You cannot update shared "
    "budget through Campaign Entity, please use Budget entity to update shared "
    "budget.",
)
# Not found in the published list: the stand-in's own choices, same shape as the rest.
BUDGETS_LIMIT = (1114, "BudgetsArrayExceedsLimit", "The list of budgets exceeds the limit of 100.")
BUDGETS_EMPTY = (
    1113,
    "BudgetsArrayShouldNotBeNullOrEmpty",
    "The array of budgets is null or empty.",
)
INVALID_BUDGET_ID = (1100, "InvalidBudgetId", "The budget identifier is not valid.")
# Documented: a body the service cannot read (e.g. an unknown enum value) and experiment rules.
NULL_REQUEST = (100, "NullRequest", "The request message is null.")
EXPERIMENT_ID_INVALID = (6110, "ExperimentIdInvalid", "The experiment ID is invalid.")
EXPERIMENT_CAMPAIGN_NOT_UPDATABLE = (
    6133,
    "ExperimentCampaignCannotBeUpdated",
    "One or more properties of the experiment campaign cannot be updated.",
)


def _error(
    code: tuple[int, str, str],
    *,
    index: int | None = None,
    message: str = "",
    field_path: str | None = None,
    details: str | None = None,
) -> dict[str, Any]:
    """An OperationError, or with `index` a BatchError (operationerror.md, batcherror.md):
    `Details` says more where the service does, `FieldPath` names the element in error."""
    item: dict[str, Any] = {
        "Code": code[0],
        "ErrorCode": code[1],
        "Message": message or code[2],
        "Details": details,
    }
    if index is not None:
        item.update(Index=index, FieldPath=field_path, Type="BatchError")
    return item


def _tracking() -> str:
    return str(uuid.uuid4())


class _Fault(Exception):
    """A whole-request failure, answered as the API's fault envelope."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("Type", "fault"))
        self.status, self.body = status, body


def _operation_fault(service: str, *errors: dict[str, Any], status: int = 400) -> _Fault:
    kind = "ApiFault" if service == "CustomerManagementService" else "ApiFaultDetail"
    body: dict[str, Any] = {
        "TrackingId": _tracking(),
        "Type": kind,
        "OperationErrors": list(errors),
    }
    if kind == "ApiFaultDetail":
        body["BatchErrors"] = []
    return _Fault(status, body)


def _auth_fault(status: int, code: tuple[int, str, str]) -> Response:
    return Response(
        status,
        {
            "TrackingId": _tracking(),
            "Type": "AdApiFaultDetail",
            "Errors": [{"Code": code[0], "ErrorCode": code[1], "Message": code[2], "Detail": None}],
        },
    )
