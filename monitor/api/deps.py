"""Shared dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from monitor.runtime import Vigil


def get_vigil(request: Request) -> Vigil:
    vigil: Vigil = request.app.state.vigil
    return vigil


VigilDep = Annotated[Vigil, Depends(get_vigil)]
