"""The console's web application (Starlette): the page, its live stream, and the API.

Routes (JSON unless said; every `/api` route but login needs a session cookie):

- `GET /`: the page (static HTML; it holds no hit data, which comes from the API);
- `POST /api/login` `{"user", "password"}`: opens a session (cookie `feblam_console`,
  HttpOnly, SameSite=Strict, Secure over HTTPS) and returns the user, their
  destinations, the CSRF token, and the reasons and outcomes of the routing
  configuration; `POST /api/logout` ends it; `GET /api/session` returns the same
  as the login for a page reloaded within its session;
- `GET /api/deliveries[?destination=D]`: the open deliveries the user may see,
  most urgent first, then newest (`console.views.summary`);
- `GET /api/deliveries/{delivery_id}`: one, with its sightings and history
  (`console.views.detail`); 404 for one the user may not see, as for one that
  does not exist;
- `POST /api/deliveries/{delivery_id}/actions` `{"action", "reason", "outcome",
  "note"}` with header `X-CSRF-Token`: a lifecycle event to the gateway, as the
  user. The answer waits for the gateway's: 200 `{"state"}` when its STATE record
  came, 409 `{"refused": reason}` when it refused the event, 202 when neither came
  within `confirm_timeout_s` (the page then sees the outcome on its stream);
- `GET /api/stream`: server-sent events: `snapshot` (the open cards, and the
  server's clock for countdowns), then `card` and `feedback` as they happen;
  `expired` when the session ends;
- `GET /health`: ready (the boards are whole) and the feed alive; no hit data.

Every answer carries a Content-Security-Policy allowing this origin's scripts and
styles only, `Cache-Control: no-store`, and headers that forbid framing and
sniffing. POSTs must be JSON (a cross-site form cannot send it), and actions carry
the session's CSRF token too. Logging names routes by their pattern, never a
delivery, plate or body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from console.accounts import Account, Accounts, LoginRefused, LoginThrottle
from console.hub import Hub
from console.sessions import Session, Sessions
from gateway.events import ACTIONS, EventError

LOG = logging.getLogger("feblam.console")
STATIC = Path(__file__).parent / "static"
COOKIE = "feblam_console"
HEARTBEAT_S = 15.0
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


@dataclass
class ConsoleState:
    """What the routes work with; built by `console.server`."""

    hub: Hub
    accounts: Accounts
    sessions: Sessions
    throttle: LoginThrottle
    send: Callable[[dict], Any]            # writes a lifecycle event (EventSender.send); blocking
    display_names: dict[str, str]
    reasons: tuple[str, ...]
    outcomes: tuple[str, ...]
    note_required_for: tuple[str, ...]
    confirm_timeout_s: float = 5.0
    feed_alive: Callable[[], bool] = lambda: True


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status, headers)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return _json({"error": message, **extra}, status)


def create_app(state: ConsoleState) -> SecureHeaders:
    def session_of(request: Request) -> Session | None:
        return state.sessions.get(request.cookies.get(COOKIE))

    def whoami(session: Session) -> dict:
        account = session.account
        return {"user": account.name, "role": account.role, "csrf": session.csrf,
                "destinations": [{"name": d, "display_name": state.display_names.get(d, d)}
                                 for d in sorted(account.destinations)],
                "reasons": list(state.reasons), "outcomes": list(state.outcomes),
                "note_required_for": list(state.note_required_for)}

    async def json_body(request: Request) -> dict | None:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return None
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def login(request: Request) -> Response:
        body = await json_body(request)
        if body is None or not isinstance(body.get("user"), str) or not isinstance(body.get("password"), str):
            return _error(400, "a login is a JSON object with user and password")
        client = request.client.host if request.client else "unknown"
        try:
            # scrypt takes tens of milliseconds by design: off the event loop.
            account = await run_in_threadpool(state.accounts.authenticate, body["user"], body["password"], client,
                                              state.throttle)
        except LoginRefused as refused:
            LOG.warning("login refused for user %r from %s%s", body["user"][:64], client,
                        " (throttled)" if refused.retry_after_s else "")
            headers = {"Retry-After": str(refused.retry_after_s)} if refused.retry_after_s else None
            return _json({"error": refused.reason, "retry_after_s": refused.retry_after_s},
                         429 if refused.retry_after_s else 401, headers)
        session = state.sessions.open(account)
        LOG.info("user %s logged in", account.name)
        response = _json(whoami(session))
        response.set_cookie(COOKIE, session.token, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
        return response

    async def logout(request: Request) -> Response:
        state.sessions.close(request.cookies.get(COOKIE))
        response = _json({"logged_out": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    async def current(request: Request) -> Response:
        session = session_of(request)
        return _json(whoami(session)) if session else _error(401, "not logged in")

    async def deliveries(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return _error(401, "not logged in")
        if not state.hub.ready.is_set():
            return _error(503, "the console is still reading the gateway's topics", retry_after_s=2)
        destination = request.query_params.get("destination")
        if destination is not None and destination not in session.account.destinations:
            return _error(403, f"you do not act for {destination}")
        return _json({"deliveries": state.hub.open_cards(session.account, destination), "now": _now_ms()})

    async def delivery(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return _error(401, "not logged in")
        found = state.hub.detail(session.account, request.path_params["delivery_id"])
        return _json(found) if found is not None else _error(404, "no such delivery")

    async def act(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return _error(401, "not logged in")
        if not session.csrf_matches(request.headers.get("x-csrf-token")):
            LOG.warning("an action without a valid CSRF token was refused (user %s)", session.account.name)
            return _error(403, "missing or wrong CSRF token")
        account: Account = session.account
        if account.role != "dispatcher":
            return _error(403, f"the role {account.role} does not act on deliveries")
        body = await json_body(request)
        if body is None or body.get("action") not in ACTIONS:
            return _error(400, f"an action is a JSON object with action one of {', '.join(ACTIONS)}")
        card = state.hub.card(account, request.path_params["delivery_id"])
        if card is None:
            return _error(404, "no such delivery")
        record = {"hit_id": card.hit_id, "destination": card.destination, "action": body["action"],
                  "reason": body.get("reason"), "outcome": body.get("outcome"), "note": body.get("note"),
                  "user": account.name, "at": _now_ms()}
        future = state.hub.expect(card.destination, card.hit_id, body["action"], account.name)
        try:
            await run_in_threadpool(state.send, record)
            outcome = await asyncio.wait_for(asyncio.wrap_future(future), state.confirm_timeout_s)
        except EventError as error:
            return _error(400, error.reason)
        except asyncio.TimeoutError:
            return _json({"pending": True, "message": "sent; the gateway has not answered yet"}, 202)
        except Exception as error:   # Kafka did not take it: say so, change nothing
            LOG.error("an action could not be sent: %s", type(error).__name__)
            return _error(503, "the action could not be sent to the gateway; try again")
        finally:   # an answered future is gone already; one that was not answered waits no more
            state.hub.forget(card.destination, card.hit_id, body["action"], account.name, future)
        if outcome.verdict == "REFUSED":
            return _json({"refused": outcome.reason}, 409)
        return _json({"state": outcome.state})

    async def stream(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return _error(401, "not logged in")
        token = request.cookies.get(COOKIE)
        subscriber, cards = state.hub.subscribe(session.account, asyncio.get_running_loop())

        async def events():
            try:
                yield _sse("snapshot", json.dumps({"deliveries": cards, "now": _now_ms(),
                                                   "ready": state.hub.ready.is_set()}))
                while True:
                    try:
                        event = await asyncio.wait_for(subscriber.queue.get(), HEARTBEAT_S)
                    except asyncio.TimeoutError:
                        if state.sessions.get(token) is None:
                            yield _sse("expired", "{}")
                            return
                        yield b": heartbeat\n\n"
                        continue
                    yield _sse("message", event)
                    if subscriber.dropped:
                        return
            finally:
                state.hub.unsubscribe(subscriber)

        return StreamingResponse(events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})

    async def health(request: Request) -> Response:
        alive = state.feed_alive()
        return _json({"ready": state.hub.ready.is_set(), "feed_alive": alive, **state.hub.counts()},
                     200 if alive else 503)

    routes = [
        Route("/", page), Route("/health", health),
        Route("/api/login", login, methods=["POST"]), Route("/api/logout", logout, methods=["POST"]),
        Route("/api/session", current), Route("/api/deliveries", deliveries),
        Route("/api/deliveries/{delivery_id}", delivery),
        Route("/api/deliveries/{delivery_id}/actions", act, methods=["POST"]),
        Route("/api/stream", stream),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
    return SecureHeaders(Starlette(routes=routes))


def _sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def _now_ms() -> int:
    return int(time.time() * 1000)


class SecureHeaders:
    """ASGI middleware: the security headers on every answer, and one log line per
    request naming its route's pattern (never its path, which holds delivery ids).
    A plain ASGI wrapper rather than BaseHTTPMiddleware, which would buffer the stream."""

    def __init__(self, app: Starlette):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = {}

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, send_with_headers)
        route = scope.get("route")
        LOG.debug("%s %s %s %.0f ms", scope["method"], getattr(route, "path", "-"), status.get("code"),
                  (time.monotonic() - started) * 1000)


