"""The command line's commands, beside `cli.py` (which registers them on the main group).

    common     the context object (`Ctx`), exit codes, output helpers
    workspace  init, clients, runbooks
    runs       plan, apply, verify, run, restore, resume, resend, history
    tasks      the manual tasks
    sandbox    sandbox up, demo
    cr         cr, planner, reminders (change requests: `adoffboard.cr`)
    schedule   schedule, scheduler (`adoffboard.scheduling`)

Linked into the package as `adoffboard/commands` (like `connectors/`); only the CLI imports them.
"""
