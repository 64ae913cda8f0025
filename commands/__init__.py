"""The command line's commands, beside `cli.py` (which registers them on the main group).

    common     the context object (`Ctx`), exit codes, output helpers
    workspace  init, clients, runbooks
    runs       plan, apply, verify, resume, resend, history
    running    run (what a case calls for today, or one runbook), restore
    case       case list, case show (a change request and everything done for it)
    tasks      the manual tasks
    sandbox    sandbox up, demo
    cr         cr, planner, reminders (change requests: `adoffboard.cr`)
    schedule   schedule, scheduler (`adoffboard.scheduling`)

Linked into the package as `adoffboard/commands` (like `connectors/`); only the CLI imports them.
"""
