"""Scheduled execution: approved change requests carried out on their dates.

- `tables`, `repo`: the schedule's rows and their event history in the state store.
- `book`: which runs an approved request needs (runbook, date, order) and keeping the schedule in
  step with the requests (new approvals scheduled, voided ones withdrawn: `book.Schedule`, the
  change requests' follower, wired by `book.change_requests`).
- `runner`: the scheduler: due runs re-planned against live state, applied, verified, reported;
  retries with backoff; `serve` for the long-running service.
- `notify`: the emails a scheduled run sends (done, failed, retrying).

`adoffboard schedule ...` and `adoffboard scheduler ...` are the CLI's (`commands/schedule.py`).
"""
