"""Staff accounts over the API, for admins (the same store as `vigil users`)."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from monitor.api.deps import Admin
from monitor.api.routes.auth import StoreDep, audit_auth
from monitor.auth import audit, tokens
from monitor.auth.store import AccountError

router = APIRouter(prefix="/api/users", tags=["users"])


class UserIn(BaseModel):
    username: str = Field(max_length=64)
    role: str
    password: str = Field(max_length=1024)


class UserChange(BaseModel):
    role: str | None = None
    password: str | None = Field(None, max_length=1024)


class TokenIn(BaseModel):
    label: str = Field("", max_length=200)
    days: int = Field(
        tokens.DEFAULT_DAYS, ge=1, le=tokens.MAX_DAYS, description="Days until the token expires."
    )


def _bad(exc: AccountError) -> HTTPException:
    return HTTPException(404 if str(exc).startswith("no user") else 422, str(exc))


def _token_bad(exc: AccountError) -> HTTPException:
    text = str(exc)
    code = 404 if text.startswith("no ") else 409 if "already revoked" in text else 422
    return HTTPException(code, text)


@router.get("")
async def list_users(user: Admin, store: StoreDep) -> list[dict[str, str]]:
    return [{"username": s.username, "role": s.role} for s in await run_in_threadpool(store.users)]


@router.post("", status_code=201)
async def add_user(body: UserIn, request: Request, user: Admin, store: StoreDep) -> dict[str, str]:
    try:
        staff = await run_in_threadpool(store.add_user, body.username, body.role, body.password)
    except AccountError as exc:
        raise _bad(exc) from None
    audit_auth(request, audit.USER_ADDED, user.username, username=staff.username, role=staff.role)
    return {"username": staff.username, "role": staff.role}


@router.patch("/{username}")
async def change_user(
    username: str, body: UserChange, request: Request, user: Admin, store: StoreDep
) -> dict[str, str]:
    before = await run_in_threadpool(store.get, username)
    try:
        if body.role is not None:
            await run_in_threadpool(store.set_role, username, body.role)
            audit_auth(
                request,
                audit.ROLE_CHANGED,
                user.username,
                username=username,
                role=body.role,
                was=before.role if before else None,
            )
        if body.password is not None:
            await run_in_threadpool(store.set_password, username, body.password)
            audit_auth(request, audit.PASSWORD_CHANGED, user.username, username=username)
    except AccountError as exc:
        raise _bad(exc) from None
    staff = await run_in_threadpool(store.get, username)
    if staff is None:
        raise HTTPException(404, f"no user {username!r}")
    return {"username": staff.username, "role": staff.role}


@router.delete("/{username}")
async def remove_user(
    username: str, request: Request, user: Admin, store: StoreDep
) -> dict[str, str]:
    if username == user.username:
        raise HTTPException(409, "an admin cannot remove their own account")
    before = await run_in_threadpool(store.get, username)
    try:
        await run_in_threadpool(store.remove_user, username)
    except AccountError as exc:
        raise _bad(exc) from None
    audit_auth(
        request,
        audit.USER_REMOVED,
        user.username,
        username=username,
        role=before.role if before else None,
    )
    return {"status": "removed"}


@router.post("/{username}/tokens", status_code=201)
async def create_token(
    username: str, body: TokenIn, request: Request, user: Admin, store: StoreDep
) -> dict[str, object]:
    """A new API token acting as `username`; shown once, stored only as a keyed hash."""
    try:
        made = await run_in_threadpool(store.issue_token, username, body.label, body.days)
    except AccountError as exc:
        raise _bad(exc) from None
    audit_auth(
        request,
        audit.TOKEN_CREATED,
        user.username,
        username=username,
        label=body.label,
        token_id=made.info.id,
        expires=made.info.expires_t,
    )
    return {"token": made.secret, "id": made.info.id, "expires": made.info.expires_t}


@router.get("/{username}/tokens")
async def list_tokens(username: str, user: Admin, store: StoreDep) -> list[dict[str, object]]:
    """`username`'s API tokens (id, label, times, state); never their secrets."""
    try:
        infos = await run_in_threadpool(store.user_tokens, username)
    except AccountError as exc:
        raise _token_bad(exc) from None
    now = time.time()
    return [info.as_dict(now) for info in infos]


@router.delete("/{username}/tokens/{token_id}")
async def revoke_token(
    username: str, token_id: str, request: Request, user: Admin, store: StoreDep
) -> dict[str, object]:
    """Revoke one token at once (the others and the account are untouched); audited."""
    now = time.time()
    try:
        info = await run_in_threadpool(store.revoke_token, username, token_id, user.username, now)
    except AccountError as exc:
        raise _token_bad(exc) from None
    audit_auth(
        request,
        audit.TOKEN_REVOKED,
        user.username,
        username=username,
        token_id=info.id,
        label=info.label,
    )
    return info.as_dict(now)
