"""Shared dependencies as Annotated aliases.

Staff identity: every route that reads or changes state takes one of the role aliases below
(`Viewer`, `Nurse`, `Clinician`, `Admin`) and records `user.username` as who did it.
`monitor.auth.middleware.AuthMiddleware` authenticates each request (session cookie or
Bearer token) and puts the `Staff` into `request.state.staff`; the aliases check the role.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from monitor.auth.store import ROLES, Staff
from monitor.runtime import Vigil

__all__ = ["ROLES", "Staff", "Viewer", "Nurse", "Clinician", "Admin", "VigilDep"]


def get_vigil(request: Request) -> Vigil:
    vigil: Vigil = request.app.state.vigil
    return vigil


def current_user(request: Request) -> Staff:
    staff: Staff | None = getattr(request.state, "staff", None)
    if staff is None:  # only when a route is mounted outside the auth middleware
        raise HTTPException(401, "authentication required", {"WWW-Authenticate": "Bearer"})
    return staff


def require_role(role: str):  # type: ignore[no-untyped-def]
    assert role in ROLES, role

    def dep(user: Annotated[Staff, Depends(current_user)]) -> Staff:
        if not user.has(role):
            raise HTTPException(403, f"needs role {role}; {user.username} is {user.role}")
        return user

    return dep


VigilDep = Annotated[Vigil, Depends(get_vigil)]
Viewer = Annotated[Staff, Depends(require_role("viewer"))]
Nurse = Annotated[Staff, Depends(require_role("nurse"))]
Clinician = Annotated[Staff, Depends(require_role("clinician"))]
Admin = Annotated[Staff, Depends(require_role("admin"))]
