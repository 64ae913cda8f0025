"""Runs, reports, planner, schedule, manual tasks and audit pages (registered by `create_app`)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ops", __name__)
