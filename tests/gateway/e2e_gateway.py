"""A real gateway process: ``python -m tests.gateway.e2e_gateway``, configured by RIVERBED_GATEWAY__*."""

from __future__ import annotations

import uvicorn

from riverbed.gateway.app import create_app
from riverbed.gateway.upstreams import remote_endpoints
from riverbed.runtime.settings import load_settings
from tests.gateway.e2e_domain import COMMANDS


def main() -> None:
    settings = load_settings()
    services, views = remote_endpoints(
        settings.gateway, {u.name: COMMANDS for u in settings.gateway.upstreams}
    )
    app = create_app(settings, services=services, views=views)
    uvicorn.run(
        app, host=settings.gateway.host, port=settings.gateway.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
