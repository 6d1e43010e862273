"""Behaviour suites every backend runs: a backend's test module plugs its fixture into them."""
