"""Application errors with a stable `error_id`, and the one handler that turns them into JSON."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.ari.errors import AriError, AriNotFound, AriUnavailable


class AppError(Exception):
    status_code = 400
    error_id = "bad-request"
    message = "bad request"

    def __init__(self, message: str | None = None, **details: object) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details


class NotFound(AppError):
    status_code = 404
    error_id = "not-found"
    message = "not found"


class Unauthorized(AppError):
    status_code = 401
    error_id = "unauthorized"
    message = "missing or invalid bearer token"


class Forbidden(AppError):
    status_code = 403
    error_id = "forbidden"
    message = "your role may not do this"


class Conflict(AppError):
    status_code = 409
    error_id = "conflict"
    message = "conflicts with the current state"


class InvalidRange(AppError):
    error_id = "invalid-range"
    message = "`since` must be before `until`"


class AcdUnavailable(AppError):
    status_code = 503
    error_id = "acd-unavailable"
    message = "call distribution is not running"


def _body(error_id: str, message: str, **details: object) -> dict[str, object]:
    body: dict[str, object] = {"error_id": error_id, "message": message}
    if details:
        body["details"] = details
    return body


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        if (retry := exc.details.get("retry_after_seconds")) is not None:
            headers["Retry-After"] = str(retry)
        return JSONResponse(_body(exc.error_id, exc.message, **exc.details),
                            status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse(_body("invalid-request", "the request is not valid", errors=errors),
                            status_code=422)

    @app.exception_handler(AriUnavailable)
    async def _ari_down(_: Request, exc: AriUnavailable) -> JSONResponse:
        return JSONResponse(_body("asterisk-unavailable", "the telephone system is not reachable"),
                            status_code=503)

    @app.exception_handler(AriNotFound)
    async def _ari_gone(_: Request, exc: AriNotFound) -> JSONResponse:
        return JSONResponse(_body("telephony-object-gone", str(exc)), status_code=404)

    @app.exception_handler(AriError)
    async def _ari_error(_: Request, exc: AriError) -> JSONResponse:
        return JSONResponse(_body("asterisk-error", str(exc)), status_code=502)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        error_id = {404: "not-found", 405: "method-not-allowed",
                    413: "body-too-large"}.get(exc.status_code, "http-error")
        return JSONResponse(_body(error_id, str(exc.detail)), status_code=exc.status_code)
