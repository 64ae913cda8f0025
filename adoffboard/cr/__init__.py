"""Change requests and the approval chain (the checklists' "Retention", "Cancellation / Contract
Pause / Addendums" and "Approval" sections).

    model     values: content (what is approved, hashed), requests, transitions; field parsing
    validate  raw values (CLI, CRM exports) -> content, with every problem by field
    rules     who may do what, in which order: pure functions, refusals are `NotPermitted`
    repo      the store's tables: requests, transitions, planner, notice outbox
    service   one transaction per action: load, decide, save, queue what follows; delivery
    notify    the approval notice and reminders, composed
    gate      what `apply`/`run`/`resume` require: an approved, unchanged request
    importer  CSV and JSON exports from the CRM
    commands  the `cr`, `planner` and `reminders` command groups
"""
