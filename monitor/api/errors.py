"""422 answers that say which field is wrong and why, without echoing what was sent.

FastAPI's own handler puts each error's `input` (and `ctx`) into the response; for a missing
field that is the whole body, so a password or a clinical note would come back in the answer
and land in any proxy or client log on the way. Here each error keeps only `type`, `loc` and
`msg`: the same `detail` list shape and field locations clients and tests rely on.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.requests import Request

#: The keys of a validation error that describe the problem, not the data.
KEPT = ("type", "loc", "msg")


def redact(errors: Any) -> list[dict[str, Any]]:
    """`errors` (pydantic's list of dicts) with only the KEPT keys of each."""
    return [{k: e[k] for k in KEPT if k in e} for e in errors]


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(status_code=422, content={"detail": redact(exc.errors())})
