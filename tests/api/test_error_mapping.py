"""The one error table: every error of the hierarchy has an HTTP status and a gRPC code."""

import grpc

from api.errors import ERROR_STATUS, error_body, status_for
from streams import exceptions


def all_error_classes() -> list[type]:
    found, todo = [], [exceptions.FlipbookError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [c for c in found if c.__module__ == "streams.exceptions"]


def test_every_error_of_the_hierarchy_is_mapped_to_http_and_grpc():
    for cls in all_error_classes():
        if cls is exceptions.FlipbookError:
            continue
        assert cls in ERROR_STATUS, f"{cls.__name__} has no entry in api/errors.py"
        http, code = ERROR_STATUS[cls]
        assert 400 <= http < 600
        assert grpc.StatusCode[code]  # a real grpc.StatusCode name


def test_unknown_errors_are_internal_and_show_nothing_inside():
    error = RuntimeError("SELECT secret FROM table at /srv/app.py:12")
    assert status_for(error) == (500, "INTERNAL")
    body = error_body(error)
    assert body["error"]["code"] == "internal_error"
    assert "SELECT" not in str(body) and "/srv" not in str(body)


def test_version_conflict_body_names_the_current_version():
    error = exceptions.VersionConflict("s", 3, 7)
    assert status_for(error) == (409, "FAILED_PRECONDITION")
    assert error_body(error)["error"]["details"]["current_version"] == 7
