import uuid
from datetime import datetime, UTC
import pytest
from streams import services
from streams.exceptions import *

def test_probe(db_backend):
    services.append_to_stream("n", [{"name": "A"}, {"name": "B"}], kind="neutral")
    print("neutral from_version", services.read_stream("n", from_version=1).items)
    services.append_to_stream("v", [{"name": "A"}] * 1 + [{"name": "B"}, {"name": "C"}])
    services.append_to_stream("w", [{"name": "A"}, {"name": "B"}, {"name": "C"}])
    p = services.read_stream("v", limit=2)
    print("cross-stream cursor", [e.version for e in services.read_stream("w", limit=2, cursor=p.next_cursor).items])
    try:
        services.append_to_stream("v", [{"name": "X", "version": 6}])
    except Exception as e:
        print("gap", type(e), e.details)
    try:
        services.append_to_stream("v", [{"name": "X", "version": 4}], expected_version="exists")
    except Exception as e:
        print("exists+explicit", type(e), e.details)
    try:
        services.append_to_stream("n", [{"name": "X"}], expected_version=0)
    except Exception as e:
        print("neutral 0", type(e), e.details)
    try:
        services.append_to_stream("n", [{"name": "X"}], expected_version=2)
    except Exception as e:
        print("neutral 2", type(e), e.details)
    try:
        services.append_to_stream("n", [{"name": "X", "version": 3}])
    except Exception as e:
        print("neutral explicit", type(e), e.details)
    print(services.stream_head("n"))
    print(services.read_all(limit=3))
