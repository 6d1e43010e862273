"""deploy/helm/flipbook: `helm lint --strict`, and `helm template` (every optional part on)
validated by kubeconform against Kubernetes' schemas, offline; plus what the chart promises."""

from __future__ import annotations

import yaml

from tests.deploy.conftest import CHART, KUBERNETES_VERSION, TOOLS, run, tool

ALL_ON = [
    "--set", "ingress.enabled=true",
    "--set", "ingress.grpc.enabled=true",
    "--set", "push.podDisruptionBudget.enabled=true",
]  # fmt: skip


def render(*values: str) -> str:
    result = run(
        tool("helm"), "template", "fb", str(CHART),
        "--namespace", "prod", "--kube-version", KUBERNETES_VERSION, *values,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def kubeconform(manifests: str):
    schemas = TOOLS / "k8s-schemas"
    template = f"{schemas}/{{{{ .NormalizedKubernetesVersion }}}}-standalone{{{{ .StrictSuffix }}}}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"  # noqa: E501
    return run(
        tool("kubeconform"), "-strict", "-summary", "-kubernetes-version", KUBERNETES_VERSION,
        "-schema-location", template, "-",
        input=manifests,
    )  # fmt: skip


def test_helm_lint_strict():
    result = run(tool("helm"), "lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_rendered_chart_passes_kubeconform():
    result = kubeconform(render(*ALL_ON))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    assert "Valid: 10, Invalid: 0, Errors: 0, Skipped: 0" in summary, summary


def test_kubeconform_rejects_an_invalid_manifest():
    broken = render().replace("containerPort: 8000", 'containerPort: "8000"', 1)
    result = kubeconform(broken)
    assert result.returncode != 0
    assert "containerPort" in result.stdout


def documents(text: str) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text) if d}


def test_chart_objects_and_their_promises():
    docs = documents(render(*ALL_ON))
    server = docs[("Deployment", "fb-flipbook-server")]["spec"]["template"]["spec"]
    container = server["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["args"][0] == "serve"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert server["securityContext"]["runAsNonRoot"] is True
    env = {e["name"]: e for e in container["env"]}
    assert env["FLIPBOOK_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "flipbook"
    assert env["FLIPBOOK_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "database-url"
    assert env["FLIPBOOK_BUS_PREFIX"]["value"] == "prod.fb"
    assert env["FLIPBOOK_PUSH_IN_SERVE"]["value"] == "false"
    push = docs[("Deployment", "fb-flipbook-push")]["spec"]["template"]["spec"]["containers"][0]
    assert push["args"] == ["subscriptions"]
    ports = {p["name"]: p["port"] for p in docs[("Service", "fb-flipbook")]["spec"]["ports"]}
    assert ports == {"http": 8000, "grpc": 50051}
    assert ("HorizontalPodAutoscaler", "fb-flipbook-server") in docs
    assert ("PodDisruptionBudget", "fb-flipbook-server") in docs
    assert ("Ingress", "fb-flipbook-grpc") in docs
    job = docs[("Job", "fb-flipbook-migrate-1")]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate", "--noinput"]


def test_secrets_are_required_not_templated():
    result = run(
        tool("helm"), "template", "fb", str(CHART), "--kube-version", KUBERNETES_VERSION,
        "--set", "secrets.databaseUrl.name=",
    )  # fmt: skip
    assert result.returncode != 0
    assert "every pod must share one PostgreSQL" in result.stderr
    assert "kind: Secret\n" not in render(*ALL_ON)
