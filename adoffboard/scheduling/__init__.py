"""Scheduled execution: approved change requests carried out on their dates.

- `tables`, `repo`: the schedule's rows and their event history in the state store.
- `book`: scheduling the runs an approved request needs (which, and when: `adoffboard.timing`),
  keeping the schedule in
  step with the requests (new approvals scheduled, voided ones withdrawn: `book.Schedule`, the
  change requests' follower, wired by `book.change_requests`).
- `runner`: the scheduler: due runs re-planned against live state, applied, verified, reported;
  retries with backoff; a row a run of the same case already did is done without running;
  `serve` for the long-running service. `outcomes`: what one tick did, per row.
- `notify`: the emails a scheduled run sends (done, failed, retrying).

`adoffboard schedule ...` and `adoffboard scheduler ...` are the CLI's (`commands/schedule.py`).
"""
