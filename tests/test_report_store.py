"""Reports kept in the store: the same HTML as the report files, and refused once edited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli, approved_cr
from sqlalchemy import update

from adoffboard.config import load_workspace
from adoffboard.errors import InputError, NotFound, StoreError
from adoffboard.report_store import kept_reports, report_html, reports_t
from adoffboard.store import Store

CLIENT = "lakeside-powersports"


def run_client(cli: Cli) -> dict:
    approved_cr(cli, CLIENT, scope="platform")
    result = cli("--json", "run", CLIENT, "-r", "sem-cancellation", "--scope", "platform", "--yes")
    assert result.exit_code in (0, 13), result.output
    return json.loads(result.output)


def open_store(workspace: Path) -> Store:
    return Store.open(load_workspace(workspace).store_url)


def test_run_plan_and_verify_reports_from_the_store_equal_the_files(
    cli: Cli, workspace: Path
) -> None:
    ran = run_client(cli)
    files = ran["report_files"]
    with open_store(workspace) as store:
        run_id = ran["run_id"]
        run_html = Path(files["html"]).read_text()  # a later verify of the run takes its name
        assert report_html(store, "run", run_id) == run_html
        kept = kept_reports(store, run_id=run_id)
        assert kept and kept[0].verification_id is not None
        plan = cli("--json", "plan", CLIENT, "-r", "sem-cancellation", "--scope", "platform")
        assert plan.exit_code == 0, plan.output
        planned = json.loads(plan.output)
        html = report_html(store, "plan", planned["plan_id"])
        assert html == Path(planned["report_files"]["html"]).read_text()
        verified = json.loads(cli("--json", "verify", CLIENT).output)
        latest = kept_reports(store)[0]
        assert latest.kind == "verify" and latest.verification_id is not None
        page = report_html(store, "verify", latest.verification_id)
        assert page == Path(verified["report_files"]["html"]).read_text()
        # the run's report is still the one that says what the run did, not the later pass
        assert report_html(store, "run", run_id) == run_html


def test_a_report_edited_in_the_store_is_refused(cli: Cli, workspace: Path) -> None:
    ran = run_client(cli)
    with open_store(workspace) as store:
        before = report_html(store, "run", ran["run_id"])
        assert "<script" not in before
        with store.transaction(write=True) as conn:
            doc = (
                conn.execute(reports_t.select().where(reports_t.c.run_id == ran["run_id"]))
                .mappings()
                .all()[-1]
            )
            edited = doc["document"].replace(CLIENT, "someone-else", 1)
            conn.execute(
                update(reports_t).where(reports_t.c.id == doc["id"]).values(document=edited)
            )
        with pytest.raises(StoreError, match="fails its check"):
            report_html(store, "run", ran["run_id"])
        # moved to another run: refused too
        with store.transaction(write=True) as conn:
            conn.execute(
                update(reports_t)
                .where(reports_t.c.id == doc["id"])
                .values(document=doc["document"], run_id="r-elsewhere")
            )
        with pytest.raises(StoreError, match="fails its check"):
            report_html(store, "run", "r-elsewhere")


def test_unknown_and_malformed_report_keys(cli: Cli, workspace: Path) -> None:
    with open_store(workspace) as store:
        with pytest.raises(NotFound):
            report_html(store, "run", "r-20260101-000000")
        with pytest.raises(InputError):
            report_html(store, "verify", "1; drop table reports")
        with pytest.raises(InputError):
            report_html(store, "nonsense", "1")
