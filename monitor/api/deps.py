"""Shared dependencies as Annotated aliases.

Staff identity: every route that reads or changes state takes one of the role aliases below
(`Viewer`, `Nurse`, `Clinician`, `Admin`) and records `user.username` as who did it. Until
staff accounts land (issue #6) `current_user` answers with a local admin; the aliases are
the seam, so routes need not change when login arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from monitor.runtime import Vigil

ROLES = ("viewer", "nurse", "clinician", "admin")  # each role includes those before it


@dataclass(frozen=True, slots=True)
class Staff:
    username: str
    role: str


def get_vigil(request: Request) -> Vigil:
    vigil: Vigil = request.app.state.vigil
    return vigil


def current_user(request: Request) -> Staff:
    return Staff(username="local", role="admin")


def require_role(role: str):  # type: ignore[no-untyped-def]
    def dep(user: Annotated[Staff, Depends(current_user)]) -> Staff:
        return user

    return dep


VigilDep = Annotated[Vigil, Depends(get_vigil)]
Viewer = Annotated[Staff, Depends(require_role("viewer"))]
Nurse = Annotated[Staff, Depends(require_role("nurse"))]
Clinician = Annotated[Staff, Depends(require_role("clinician"))]
Admin = Annotated[Staff, Depends(require_role("admin"))]
