"""Google Analytics (GA4).

`declaration` is what the registry imports (no vendor SDK); `connector` and the modules it
uses load only when a runbook step uses the platform. Kept empty: importing the declaration
stays cheap."""
