"""`python -m bench.serve`: `flipbook serve` against a minimal reference server, same load."""
