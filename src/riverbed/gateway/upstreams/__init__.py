"""Ways to reach services and views: in this process, or in another process over HTTP."""

from riverbed.gateway.upstreams.remote import RemoteService, RemoteView, decode_error, remote_endpoints

__all__ = ["RemoteService", "RemoteView", "decode_error", "remote_endpoints"]
