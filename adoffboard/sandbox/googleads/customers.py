"""Google Ads stand-in: CustomerService.ListAccessibleCustomers.

"Returns resource names of customers directly accessible by the user authenticating the call"
(https://developers.google.com/google-ads/api/reference/rpc/v26/CustomerService): no customer
id, login-customer-id is ignored, and clients reached only through a manager are not listed
(https://developers.google.com/google-ads/api/docs/account-management/listing-accounts).
"""

from __future__ import annotations

from typing import Any

from google.ads.googleads.v26.services.types import customer_service as cu_svc

from adoffboard.sandbox.googleads.state import GoogleAdsState


class CustomerHandlers:
    """The work of CustomerService (the server wraps it in its common request path)."""

    state: GoogleAdsState

    def _do_list_accessible(self) -> tuple[Any, str]:
        resp = cu_svc.ListAccessibleCustomersResponse.pb()()
        with self.state.lock:
            names = [self.state.customers[cid].resource_name for cid in self.state.accessible]
        resp.resource_names.extend(names)
        return resp, f"{len(names)} customers"
