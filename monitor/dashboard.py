"""Where the live dashboard's files are (plain HTML/JS/CSS, served as they are)."""

from __future__ import annotations

from pathlib import Path

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "dashboards" / "live"
