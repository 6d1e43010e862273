"""Build the server image (deploy/image.sh: podman, on a debootstrap base where the official
one cannot be pulled) and smoke-test it (deploy/image-smoke.sh: start, /readyz, one append
and one read, HEALTHCHECK, non-root, no compiler). Layers are cached: a rebuild takes
seconds; the first build on a fresh machine a few minutes."""

from __future__ import annotations

import shutil

from tests.deploy.conftest import DEPLOY, need, run

IMAGE = "localhost/flipbook:test"


def test_image_builds_and_passes_the_smoke_test():
    if shutil.which("podman") is None and shutil.which("apt-get") is None:
        need("NEEDS podman (deploy/image.sh installs it from Debian's packages)")
    built = run(str(DEPLOY / "image.sh"), IMAGE, timeout=1800)
    assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
    assert f"image: built {IMAGE}" in built.stdout
    smoke = run(str(DEPLOY / "image-smoke.sh"), IMAGE, timeout=600)
    output = smoke.stdout + smoke.stderr
    assert smoke.returncode == 0, output[-4000:]
    for line in (
        '/readyz {"status": "ready"',
        '"name":"Smoked","payload":{"n":42}',
        "HEALTHCHECK passed",
        "runs as uid 10001",
        "no compiler",
        "image-smoke: passed",
    ):
        assert line in output, f"{line!r} missing from:\n{output[-3000:]}"
