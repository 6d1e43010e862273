"""The snapshot store (reduced states per version); built by the reducers/snapshots issue."""
