"""Change requests and the approval chain (the checklists' "Retention", "Cancellation / Contract
Pause / Addendums" and "Approval" sections).

    model     values: content (what is approved, hashed), requests, transitions; field parsing
    validate  raw values (CLI, CRM exports) -> content, with every problem by field
    rules     who may do what, in which order: pure functions, refusals are `NotPermitted`
    tables    their tables: requests, transitions, planner, notice outbox
    repo      what is read and written there
    service   one transaction per action: load, decide, save, queue what follows; delivery
    notify    the approval notice and reminders, composed
    gate      what `apply`/`run`/`resume` require: an approved, unchanged request
    importer  CSV and JSON exports from the CRM

The `cr`, `planner` and `reminders` commands are the CLI's (`commands/cr.py`, `planner.py`).
Change requests know nothing of the schedule: an approval's follow-up there is handed in
(`service.Follower`).
"""
