"""The gateway: an ASGI app that authenticates first and turns HTTP into commands and queries."""
