"""``/api/auth/*``: login, logout and personal access tokens (spec 0.8, 2.14)."""

from __future__ import annotations

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse

from annotask.api.body import json_body
from annotask.api.deps import CurrentCaller, Db, ServicesDep, client_address
from annotask.api.openapi import PAGING, query_doc
from annotask.api.pagination import paginate_list
from annotask.api.routing import CvatRouter
from annotask.api.schemas.common import Detail, Page
from annotask.api.schemas.server import Token
from annotask.api.schemas.users import (
    AccessTokenRead,
    AccessTokenWrite,
    LoginRequest,
    access_token_read,
)
from annotask.domain import auth
from annotask.domain.errors import NotFound, PermissionDenied, ValidationFailed
from annotask.domain.login_throttle import LoginLimits
from annotask.security.origins import cross_origin_source

router = CvatRouter(prefix="/api/auth", tags=["auth"])

SESSION_MAX_AGE_DAY = 24 * 3600
CSRF_MAX_AGE = 31449600


def _cookie(name: str, value: str, max_age: int, *, http_only: bool, secure: bool) -> str:
    """Write Set-Cookie by hand so it ends with a key=value attribute.

    urllib3 joins several Set-Cookie headers with ", " and the clients parse the
    result with SimpleCookie, which drops everything when a cookie that is not
    last ends with a bare flag such as ``Secure`` (spec 0.8).
    """
    parts = [f"{name}={value}"]
    if http_only:
        parts.append("HttpOnly")
    parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    parts += ["Path=/", "SameSite=Lax"]
    return "; ".join(parts)


def refuse_cross_origin(request: Request) -> None:
    """Login CSRF guard: a browser on another site must not sign the victim in to
    the attacker's account. Browsers send ``Origin`` (or at least ``Referer``) on
    such a POST; the CLI, the SDK and scripts send neither and pass."""
    own = [str(request.base_url)]
    if configured := request.app.state.services.settings.public_base_url:
        own.append(configured)
    foreign = cross_origin_source(
        request.headers.get("origin"), request.headers.get("referer"), own
    )
    if foreign is not None:
        raise PermissionDenied("Cross-origin login refused.")


@router.post("/login", dependencies=[Depends(refuse_cross_origin)], response_model=Token)
def login(
    request: Request,
    services: ServicesDep,
    body: LoginRequest = Depends(json_body(LoginRequest)),
) -> Response:
    """No authentication or CSRF token: the clients log in with a bare request."""
    username = body.username or body.email
    if not username:
        raise ValidationFailed({"username": "This field is required."})
    settings = services.settings
    result = auth.sign_in(
        services.sessions,
        username=username,
        password=body.password,
        address=client_address(request),
        session_days=settings.session_days,
        limits=LoginLimits.from_settings(settings),
        read_sessions=services.read_sessions,
    )
    if result is None:
        raise ValidationFailed("Unable to log in with provided credentials.")
    secure = request.url.scheme == "https"
    response = JSONResponse({"key": result.token_key})
    response.headers.append(
        "set-cookie",
        _cookie("csrftoken", result.csrf_token, CSRF_MAX_AGE, http_only=False, secure=secure),
    )
    response.headers.append(
        "set-cookie",
        _cookie(
            "sessionid",
            result.session_key,
            settings.session_days * SESSION_MAX_AGE_DAY,
            http_only=True,
            secure=secure,
        ),
    )
    return response


@router.post("/logout", response_model=Detail)
def logout(caller: CurrentCaller, db: Db) -> Response:
    """Ends the session used and the ``Token`` key; personal access tokens stay."""
    auth.logout(db, caller.user, caller.session_key)
    response = JSONResponse({"detail": "Successfully logged out."})
    response.headers.append("set-cookie", "sessionid=; Max-Age=0; Path=/; SameSite=Lax")
    return response


@router.get("/access_tokens", dependencies=[Depends(query_doc(**PAGING))])
def list_access_tokens(request: Request, caller: CurrentCaller, db: Db) -> Page[AccessTokenRead]:
    tokens = auth.list_access_tokens(db, caller.user)
    return paginate_list(
        request, tokens, lambda t: access_token_read(request, t), Page[AccessTokenRead]
    )


@router.post("/access_tokens", status_code=201)
def create_access_token(
    request: Request,
    caller: CurrentCaller,
    db: Db,
    body: AccessTokenWrite = Depends(json_body(AccessTokenWrite)),
) -> AccessTokenRead:
    auth.require_token_management(caller.access_token is not None)
    token, secret = auth.create_access_token(
        db, caller.user, name=body.name, expiry_date=body.expiry_date, read_only=body.read_only
    )
    return access_token_read(request, token, value=secret)


@router.get("/access_tokens/self")
def current_access_token(request: Request, caller: CurrentCaller) -> AccessTokenRead:
    if caller.access_token is None:
        raise NotFound("This request is not authenticated with an access token.")
    return access_token_read(request, caller.access_token)


@router.get("/access_tokens/{token_id}")
def get_access_token(
    request: Request, token_id: int, caller: CurrentCaller, db: Db
) -> AccessTokenRead:
    return access_token_read(request, auth.get_access_token(db, caller.user, token_id))


@router.delete("/access_tokens/{token_id}", status_code=204)
def revoke_access_token(token_id: int, caller: CurrentCaller, db: Db) -> Response:
    auth.require_token_management(caller.access_token is not None)
    auth.revoke_access_token(db, caller.user, token_id)
    return Response(status_code=204)
