from streams import services


def test_append_and_read_back(db_backend):
    result = services.append_to_stream("s-1", [{"name": "Opened"}], expected_version=0)
    assert result.version == 1
    assert [e.name for e in services.read_stream("s-1").items] == ["Opened"]
