"""The event store: models, the store service, backends."""
