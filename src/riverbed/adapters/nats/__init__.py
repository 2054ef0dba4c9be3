"""NATS JetStream adapters (nats-py): the distributed bus. Needs the ``nats`` extra."""
