"""Health of every part: drivers, InfluxDB, the live stream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from monitor.api.deps import VigilDep

router = APIRouter(prefix="/api", tags=["system"])


@router.get("/health")
async def health(vigil: VigilDep) -> dict[str, Any]:
    return vigil.health()
