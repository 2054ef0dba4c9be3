import riverbed

EXPECTED = {
    "NotFound",
    "OnDemandView",
    "Projection",
    "ProjectionRunner",
    "ViewQueries",
    "open_view_store",
    "AppendResult",
    "Checkpoint",
    "CloudEvent",
    "Command",
    "ConfigurationError",
    "DuplicateEventId",
    "Event",
    "EventStore",
    "EventStoreError",
    "EventTypeRegistry",
    "ExpectedVersion",
    "InvalidCloudEvent",
    "RecordedEvent",
    "RiverbedError",
    "StoreClosed",
    "StoreFailed",
    "UnknownEventType",
    "ValidationError",
    "WrongExpectedVersion",
    "__version__",
    # command side
    "Aggregate",
    "Decider",
    "applies",
    "handles",
    "CommandResult",
    "CommandService",
    "ServiceOptions",
    "ServiceRunner",
    "InvalidCommand",
    "ServiceDraining",
    "ServiceReplaying",
    "ServiceUnavailable",
    "event_type",
    "open_store",
}


def test_public_api_is_exactly_the_curated_list() -> None:
    # Adding a name to the public API is a decision: update this set in the same change.
    assert set(riverbed.__all__) == EXPECTED


def test_every_public_name_resolves() -> None:
    for name in riverbed.__all__:
        assert getattr(riverbed, name) is not None
