"""Keep-alive connections stay usable after any answer, including early errors.

A handler may answer before it has read the request body: authentication
fails, the body is too large, the disk is full halfway through an upload. The
client may still be sending that body (or have stopped, expecting an answer).
Reusing such a connection would read the rest of the old body as the next
request, or wait for bytes that never come. So a response sent while the body
is still unread carries ``Connection: close``: the server then closes the
connection after it, and the client opens a new one. Complete bodies (and
requests without one) keep the connection alive as usual.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _has_body(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    if b"transfer-encoding" in headers:
        return True
    length = headers.get(b"content-length", b"0").strip()
    return not (length.isdigit() and int(length) == 0)


class CloseUnreadBody:
    """Pure ASGI middleware: ``Connection: close`` on a response sent while the
    request body has not been read to its end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = not _has_body(scope)

        async def tracking_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] == "http.disconnect" or (
                message["type"] == "http.request" and not message.get("more_body", False)
            ):
                body_done = True
            return message

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not body_done:
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, tracking_receive, closing_send)
