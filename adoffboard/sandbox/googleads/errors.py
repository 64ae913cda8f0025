"""Google Ads stand-in: errors as the real API sends them."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import status_pb2

from adoffboard.sandbox.googleads.model import _ERROR_CODE, FAILURE, GOOGLE_ADS_ERROR

# --------------------------------------------------------------------------------------------
# Errors as the real API sends them

Location = tuple[tuple[str, int | None], ...]
INVALID = grpc.StatusCode.INVALID_ARGUMENT
_STATUS_MESSAGES = {
    grpc.StatusCode.INVALID_ARGUMENT: "Request contains an invalid argument.",
    grpc.StatusCode.PERMISSION_DENIED: "The caller does not have permission",
    grpc.StatusCode.UNAUTHENTICATED: "Request had invalid authentication credentials.",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "Resource has been exhausted (e.g. check quota).",
    grpc.StatusCode.INTERNAL: "Internal error encountered.",
    grpc.StatusCode.UNAVAILABLE: "The service is currently unavailable.",
    grpc.StatusCode.DEADLINE_EXCEEDED: "Deadline expired before operation could complete.",
}


def ads_error(
    code_field: str,
    enum_name: str,
    message: str,
    *,
    trigger: str | int | None = None,
    location: Location = (),
    details: Any = None,
) -> Any:
    """A GoogleAdsError protobuf; unknown code names fail loudly (they are stand-in bugs)."""
    err = GOOGLE_ADS_ERROR()
    number = _ERROR_CODE.fields_by_name[code_field].enum_type.values_by_name[enum_name].number
    setattr(err.error_code, code_field, number)
    err.message = message
    if isinstance(trigger, int):
        err.trigger.int64_value = trigger
    elif trigger is not None:
        err.trigger.string_value = trigger
    for name, index in location:
        element = err.location.field_path_elements.add(field_name=name)
        if index is not None:
            element.index = index
    if details is not None:
        err.details.CopyFrom(details)
    return err


def error_code_name(err: Any) -> str:
    """'campaign_budget_error.NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT' for logs and messages."""
    which = err.error_code.WhichOneof("error_code")
    enum = _ERROR_CODE.fields_by_name[which].enum_type
    return f"{which}.{enum.values_by_number[getattr(err.error_code, which)].name}"


def _path(location: Any) -> str:
    return ".".join(
        e.field_name + (f"[{e.index}]" if e.HasField("index") else "")
        for e in location.field_path_elements
    )


class AdsFault(Exception):
    """A whole request fails: gRPC status plus the GoogleAdsErrors for the trailing metadata."""

    def __init__(self, status: grpc.StatusCode, errors: list[Any] | None = None) -> None:
        super().__init__(status.name)
        self.status = status
        self.errors = errors or []

    @property
    def detail(self) -> str:
        return ", ".join(error_code_name(e) for e in self.errors) or self.status.name


def _fault(
    status: grpc.StatusCode, code_field: str, enum_name: str, message: str, **kw: Any
) -> AdsFault:
    return AdsFault(status, [ads_error(code_field, enum_name, message, **kw)])


class _OpError(Exception):
    """One operation refused; its location is relative to the operation."""

    def __init__(
        self,
        code_field: str,
        enum_name: str,
        message: str,
        *,
        location: Location = (),
        trigger: str | int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.args4 = (code_field, enum_name, message)
        self.location, self.trigger, self.details = location, trigger, details

    def to_error(self, prefix: Location) -> Any:
        return ads_error(
            *self.args4, trigger=self.trigger, location=prefix + self.location, details=self.details
        )


def _partial_failure_status(errors: list[Any], request_id: str) -> Any:
    """google.rpc.Status for MutateGoogleAdsResponse.partial_failure_error."""
    first = errors[0]
    where = _path(first.location)
    message = first.message + (f", at {where}" if where else "")
    if len(errors) > 1:
        message = f"Multiple errors in 'details'. First error: {message}"
    packed = any_pb2.Any()
    packed.Pack(FAILURE(errors=errors, request_id=request_id))
    return status_pb2.Status(
        code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message=message, details=[packed]
    )
