"""CloudEvents 1.0: the value object, the JSON and batch formats, the HTTP binding, and domain mapping."""

from riverbed.cloudevents.event import CloudEvent, ExtensionValue
from riverbed.cloudevents.http import from_http, from_http_events, to_http, to_http_batch
from riverbed.cloudevents.json_format import (
    BATCH_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    from_dict,
    from_json,
    from_json_batch,
    to_dict,
    to_json,
    to_json_batch,
)
from riverbed.cloudevents.mapping import from_cloudevent, to_cloudevent

__all__ = [
    "BATCH_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "CloudEvent",
    "ExtensionValue",
    "from_cloudevent",
    "from_dict",
    "from_http",
    "from_http_events",
    "from_json",
    "from_json_batch",
    "to_cloudevent",
    "to_dict",
    "to_http",
    "to_http_batch",
    "to_json",
    "to_json_batch",
]
