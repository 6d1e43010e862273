"""REST API v1: DRF views over the store service (streams/services.py), served under /api/v1/."""
