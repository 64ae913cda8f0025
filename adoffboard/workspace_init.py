"""`adoffboard init`: a workspace with the roles the checklists name and an example client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w
import yaml

from adoffboard.config import CLIENTS_DIR, WORKSPACE_FILE
from adoffboard.errors import InputError
from adoffboard.files import private_dir, write_private

PEOPLE: dict[str, dict[str, Any]] = {
    "amy": {"name": "Amy", "email": "amy@agency.example", "roles": ["retention"]},
    "anglee": {"name": "Anglee", "email": "anglee@agency.example", "roles": ["retention"]},
    "jeremy": {
        "name": "Jeremy Bliesner",
        "email": "jeremy.bliesner@agency.example",
        "roles": ["approver_1"],
    },
    "dustin": {
        "name": "Dustin Hunter",
        "email": "dustin.hunter@agency.example",
        "roles": ["approver_2"],
    },
    "finance": {"name": "Finance Team", "email": "finance@agency.example", "roles": ["finance"]},
    "accounting": {
        "name": "Accounting Team",
        "email": "accounting@agency.example",
        "roles": ["accounting"],
    },
    "dmo-lead": {
        "name": "Digital Marketing Operations Lead",
        "email": "dmo-lead@agency.example",
        "roles": ["dmo_lead"],
    },
    "dana": {
        "name": "Dana Whitfield",
        "email": "dana.whitfield@agency.example",
        "roles": ["account_manager"],
    },
    "sam": {"name": "Sam Ortiz", "email": "sam.ortiz@agency.example", "roles": ["sem_specialist"]},
    "sem-lead": {
        "name": "SEM Team Lead",
        "email": "sem-lead@agency.example",
        "roles": ["sem_team_lead"],
    },
    "sem-manager": {
        "name": "SEM Department Manager",
        "email": "sem-manager@agency.example",
        "roles": ["sem_department_manager"],
    },
    "mia": {"name": "Mia Chen", "email": "mia.chen@agency.example", "roles": ["ma_specialist"]},
    "ma-lead": {
        "name": "MA Team Lead",
        "email": "ma-lead@agency.example",
        "roles": ["ma_team_lead"],
    },
    "ma-manager": {
        "name": "MA Department Manager",
        "email": "ma-manager@agency.example",
        "roles": ["ma_department_manager"],
    },
    "juniper": {"name": "Juniper team", "email": "removals@juniper.example", "roles": ["juniper"]},
}


def workspace_document(
    platforms: dict[str, dict[str, Any]] | None = None,
    timezone: str = "America/Chicago",
    notifications: dict[str, Any] | None = None,
    single_user: bool = False,
) -> dict[str, Any]:
    """The workspace file's content. Strict by default: the CLI acts as the person bound to the
    OS user (their `os_users`) or signed in with a personal token, and `--as` cannot name
    anyone else; `single_user` (one person working every role from one account: a rehearsal, a
    one-person agency) takes `--as` on trust, and the audit trail says so."""
    return {
        "workspace": {
            "name": "Agency",
            "timezone": timezone,
            "store": "sqlite:///.adoffboard/state.db",
            "reports_dir": "reports",
        },
        "agency": {"identities": ["sem-team@agency.example", "analytics@agency.example"]},
        "approval": {
            "chain": ["approver_1", "approver_2"],
            "finance_role": "finance",
            "processing_role": "accounting",
        },
        "notifications": {
            "distribution_list": [
                "dmo-lead@agency.example",
                "dm-leads@agency.example",
                "dm-managers@agency.example",
            ],
            "sender": "adoffboard@agency.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": 25,
            # change requests: reminders to each department's team before the dates
            "reminder_days": [7, 1],
            "reminder_roles": {
                "SEM": ["sem_specialist", "sem_team_lead"],
                "MA": ["ma_specialist", "ma_team_lead"],
            },
            **(notifications or {}),
        },
        # approved change requests run at this time on their dates; failures are retried
        "schedule": {
            "run_at": "06:00",
            "max_attempts": 5,
            "retry_minutes": 15,
            "retry_max_minutes": 360,
            "lock_retry_minutes": 5,
            "poll_seconds": 60,
        },
        "identity": {"single_user": single_user, "token_days": 90},
        "people": PEOPLE,
        "platforms": platforms
        if platforms is not None
        else {
            "google_ads": {
                "developer_token": "env:GOOGLE_ADS_DEVELOPER_TOKEN",
                "client_id": "env:GOOGLE_ADS_CLIENT_ID",
                "client_secret": "env:GOOGLE_ADS_CLIENT_SECRET",
                "refresh_token": "keyring:adoffboard/google-ads-refresh-token",
                "timeout_s": 60.0,
                "attempts": 5,
            }
        },
    }


EXAMPLE_CLIENT: dict[str, Any] = {
    "slug": "lakeside-powersports",
    "name": "Lakeside Powersports",
    "departments": ["SEM"],
    "account_manager": {"name": "Dana Whitfield", "email": "dana.whitfield@agency.example"},
    "google_ads": {
        "customer_id": "123-456-7890",
        "manager_id": "111-222-3333",
        "expected_name": "Lakeside Powersports",
    },
}


def init_workspace(
    directory: Path,
    *,
    platforms: dict[str, dict[str, Any]] | None = None,
    clients: list[dict[str, Any]] | None = None,
    force: bool = False,
    notifications: dict[str, Any] | None = None,
    single_user: bool = False,
) -> Path:
    private_dir(directory)
    target = directory / WORKSPACE_FILE
    if target.exists() and not force:
        raise InputError(f"{target} already exists (use --force to overwrite)")
    document = workspace_document(platforms, notifications=notifications, single_user=single_user)
    write_private(target, tomli_w.dumps(document))
    private_dir(directory / CLIENTS_DIR)
    for client in clients if clients is not None else [EXAMPLE_CLIENT]:
        path = directory / CLIENTS_DIR / f"{client['slug']}.yaml"
        write_private(path, yaml.safe_dump(client, sort_keys=False))
    return target
