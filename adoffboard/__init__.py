"""adoffboard: offboard an agency client from its ad and marketing platforms.

Plan first (a dry run that writes nothing), apply exactly the reviewed plan, then verify with an
independent read-only pass. Kept import-light: SDKs load only when their connector is used.
"""

__version__ = "0.1.0"
