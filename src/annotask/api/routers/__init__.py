"""Every API router, in the order they are mounted."""

from annotask.api.routers import auth, server, users

ROUTERS = [server.router, auth.router, users.router]
