"""The live page's vocabulary: labels, kinds, priorities, phases, channels, clinic timings.

Served so the page keeps no copy of Python's tables (monitor/vocabulary.py builds it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from monitor.api.deps import Viewer, VigilDep
from monitor.vocabulary import vocabulary as build

router = APIRouter(prefix="/api", tags=["vocabulary"])


@router.get("/vocabulary")
async def vocabulary(vigil: VigilDep, user: Viewer) -> dict[str, Any]:
    return build(vigil.settings)
