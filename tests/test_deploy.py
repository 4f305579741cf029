"""The deployment files read as an operator would, and the commands they run, run for real.

No Docker engine and no Kubernetes cluster here: deploy/Dockerfile, deploy/compose.yaml, the
manifests under deploy/kubernetes and the systemd units are parsed and checked (complete, no
secret written in them, probes on real routes, every setting a real one). Then the image's
command, its health checks and the probes' paths are run against real `suricate` processes
started through the installed console script, the image's ENTRYPOINT.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from configparser import ConfigParser
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from suricate.settings import Settings
from tests.support import ROOT
from tests.support.servers import Server, clean_env, free_port
from tests.support.wait import wait_until

DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
SURICATE = Path(sys.executable).with_name("suricate")  # the console script: the ENTRYPOINT

SETTINGS = {f"SURICATE_{name.upper()}" for name in Settings.model_fields}
# The AWS SDK's own variables: the S3 object store's credentials and region.
AWS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASS$|_KEY|TOKEN|CREDENTIAL", re.IGNORECASE)
# Settings whose value carries a password (in the URL) or is a key.
SECRET_SETTINGS = {
    "SURICATE_DATABASE_URL",
    "SURICATE_BROKER_URL",
    "SURICATE_SECRET_KEY",
    "SURICATE_WEBHOOK_SECRET",
    "SURICATE_TOKEN",
    "SURICATE_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
}
FRONTEND_PROBES = {"/api/v1/health", "/api/v1/ready"}
NODE_PROBES = {"/healthz", "/readyz"}


def _validate_settings(values: dict[str, str]) -> None:
    """Build Settings from SURICATE_* values: a malformed one (a typo'd choice) raises."""
    known = {
        key.removeprefix("SURICATE_").lower(): value
        for key, value in values.items()
        if key.startswith("SURICATE_")
        and key.removeprefix("SURICATE_").lower() in Settings.model_fields
    }
    Settings(**known)  # type: ignore[arg-type]


def _url_password(value: str) -> str | None:
    if "://" not in value:
        return None
    return urlsplit(value).password


# --- Dockerfile ---------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str
    stage: int


def _dockerfile() -> list[Instruction]:
    """Parse deploy/Dockerfile into instructions (continuations joined, comments dropped)."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments may sit inside a continued instruction too
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, args.strip(), stage))
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return instructions


def _final(instructions: list[Instruction], keyword: str) -> list[Instruction]:
    last = instructions[-1].stage
    return [i for i in instructions if i.stage == last and i.keyword == keyword]


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def _healthcheck_command(instructions: list[Instruction]) -> list[str]:
    (check,) = _final(instructions, "HEALTHCHECK")
    _, _, command = check.args.partition("CMD ")
    return _exec_form(command)


def _image_cmd() -> list[str]:
    (cmd,) = _final(_dockerfile(), "CMD")
    return _exec_form(cmd.args)


def _ignore_rules() -> list[tuple[bool, str, re.Pattern[str]]]:
    """Read deploy/Dockerfile.dockerignore: (negated, pattern, regex), in order."""
    rules = []
    for raw in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        rules.append((negated, pattern, re.compile(regex + r"\Z")))
    return rules


def _ignored(path: str, rules: list[tuple[bool, str, re.Pattern[str]]]) -> bool:
    """Tell whether the build context leaves out ``path`` (Docker: last match wins, parents too)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for negated, _, regex in rules:
        if any(regex.match(p) for p in prefixes):
            ignored = not negated
    return ignored


def _context_files() -> Iterator[tuple[str, int]]:
    """Walk the working tree as `docker build` would send it: (path, size) of each file."""
    rules = _ignore_rules()
    negations = [pattern for negated, pattern, _ in rules if negated]
    for directory, dirs, files in os.walk(ROOT):
        rel_dir = Path(directory).relative_to(ROOT).as_posix()
        for name in list(dirs):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            # Prune what is left out and holds nothing a later "!pattern" takes back.
            if _ignored(rel, rules) and not any(n.startswith(rel + "/") for n in negations):
                dirs.remove(name)
        for name in files:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if not _ignored(rel, rules):
                yield rel, (Path(directory) / name).stat().st_size


def test_the_image_is_built_in_stages_ui_then_wheels_then_runtime() -> None:
    instructions = _dockerfile()
    stages = [i.args for i in instructions if i.keyword == "FROM"]
    assert len(stages) == 3, stages
    assert stages[0].endswith("AS ui") and stages[1].endswith("AS builder"), stages
    runs = {i.stage: "" for i in instructions}
    for i in instructions:
        if i.keyword == "RUN":
            runs[i.stage] += i.args + "\n"
    assert "npm ci" in runs[0] and "npm run build" in runs[0]
    assert re.search(r"pip wheel .*-c constraints\.txt", runs[1])
    assert "apt-get install" in runs[2] and "bubblewrap" in runs[2]
    assert re.search(r"pip install .*-c \S*constraints\.txt.* suricate", runs[2])
    assert "--no-index" in runs[2], "the runtime stage installs the builder's wheels only"
    args = {i.args.split("=")[0]: i.args for i in instructions if i.keyword == "ARG"}
    assert "python:3.11-slim" in args["PYTHON_IMAGE"] and "node:20" in args["NODE_IMAGE"]


def test_the_image_runs_as_a_non_root_user() -> None:
    users = _final(_dockerfile(), "USER")
    assert users, "the runtime stage sets USER"
    user = users[-1].args.split(":")[0]
    assert user not in {"0", "root"}
    assert user == "10001"


def test_the_entrypoint_is_suricate_and_the_default_command_serves_on_8888() -> None:
    instructions = _dockerfile()
    (entrypoint,) = _final(instructions, "ENTRYPOINT")
    assert _exec_form(entrypoint.args) == ["suricate"]
    assert _image_cmd() == ["serve", "--host", "0.0.0.0", "--port", "8888"]
    exposed = " ".join(i.args for i in _final(instructions, "EXPOSE")).split()
    assert "8888" in exposed and "8081" in exposed
    env = " ".join(i.args for i in _final(instructions, "ENV"))
    assert "SURICATE_DATA_DIR=/var/lib/suricate" in env
    assert [i.args for i in _final(instructions, "WORKDIR")] == ["/var/lib/suricate"]


def test_the_image_holds_no_secret() -> None:
    for instruction in _dockerfile():
        if instruction.keyword in {"ENV", "ARG", "LABEL"}:
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_.]*)=", instruction.args):
                assert not SECRET_NAME.search(name), instruction
                if name.startswith("SURICATE_"):
                    assert name in SETTINGS, name
    text = (DEPLOY / "Dockerfile").read_text()
    assert not re.search(r"://[^/\s:@]+:[^@\s]+@", text), "a URL with a password"
    assert "AWS_" not in text


def test_the_image_checks_its_health_on_the_health_route() -> None:
    command = _healthcheck_command(_dockerfile())
    assert command[:2] == ["python", "-c"]  # the slim image has python, not curl
    assert "http://127.0.0.1:8888/api/v1/health" in command[2]


def test_every_source_the_image_copies_is_in_the_build_context() -> None:
    rules = _ignore_rules()
    sources = []
    for instruction in _dockerfile():
        words = instruction.args.split()
        if instruction.keyword == "COPY" and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[:-1] if not w.startswith("--")]
        if instruction.keyword == "RUN":
            for mount in re.findall(r"--mount=(\S+)", instruction.args):
                options = dict(o.split("=", 1) for o in mount.split(","))
                if options.get("type") == "bind" and "from" not in options:
                    sources.append(options["source"])
    assert "constraints.txt" in sources and "src/" in sources
    for source in sources:
        path = ROOT / source
        assert path.exists(), source
        assert not _ignored(source.rstrip("/"), rules), f"{source} is left out of the context"
    # What pip and npm need, and nothing built on this machine.
    for needed in ["README.md", "ui/package-lock.json", "src/suricate/cli.py"]:
        assert not _ignored(needed, rules), needed
    for left_out in [
        ".venv/bin/python",
        "ui/node_modules/x",
        "src/suricate/server/web/assets/app.js",
    ]:
        assert _ignored(left_out, rules), left_out
    assert _ignored(".git/HEAD", rules) and _ignored("suricate-data/suricate.db", rules)


def test_the_build_context_is_small() -> None:
    files = dict(_context_files())
    assert "pyproject.toml" in files and "src/suricate/settings.py" in files
    assert not [f for f in files if "__pycache__" in f or f.startswith(("tests/", ".git/"))]
    assert sum(files.values()) < 30 * 1024**2, sorted(files, key=files.__getitem__)[-10:]


# --- compose.yaml -------------------------------------------------------------------------------

INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]


def _env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Do what compose does to ${VAR}, ${VAR:-default} and ${VAR:?message} (and $$)."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        found = variables.get(name, "")
        if op in {":?", "?"} and not found:
            raise KeyError(f"{name}: {arg}")
        return found or (arg if op in {":-", "-"} else "")

    return INTERPOLATION.sub(one, value).replace("$$", "$")


def _filled_env_example() -> dict[str, str]:
    """.env.example as an operator fills it in: every empty value gets a URL-safe secret."""
    return {k: v or f"{k.lower().replace('_', '')}0123456789" for k, v in _env_example().items()}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping"
    return {k: str(v) for k, v in env.items()}


def test_compose_runs_two_frontends_behind_nginx_two_nodes_and_the_stores() -> None:
    services = _services()
    expected = {"frontend", "proxy", "execnode", "rabbitmq", "postgres", "minio", "minio-init"}
    assert expected <= set(services)
    assert services["frontend"]["deploy"]["replicas"] == 2
    assert services["execnode"]["deploy"]["replicas"] == 2
    assert services["proxy"]["image"].startswith("nginx:1.")
    mounts = [str(v).split(":") for v in services["proxy"]["volumes"]]
    assert ["./nginx/suricate.conf", "/etc/nginx/conf.d/default.conf", "ro"] in mounts
    assert (DEPLOY / "nginx" / "suricate.conf").is_file()
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["postgres"]["image"] == "postgres:16"
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image"


def test_compose_runs_the_image_commands() -> None:
    services = _services()
    frontend = services["frontend"]
    assert frontend["command"] == _image_cmd()
    assert "ports" not in frontend, "reached through the proxy only"
    assert [str(p).rsplit(":", 1)[1] for p in services["proxy"]["ports"]] == ["8888"]
    assert services["execnode"]["command"] == ["execnode"]
    dedicated = services["execnode-dedicated"]
    assert dedicated["command"][:2] == ["execnode", "--tenant"]
    assert dedicated["profiles"] == ["dedicated"], "only started on request"
    for name in ["frontend", "execnode", "execnode-dedicated"]:
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        assert service["image"] == frontend["image"], "one image"


def test_compose_services_have_health_checks_and_wait_for_healthy_dependencies() -> None:
    services = _services()
    for name, service in services.items():
        if name == "minio-init":
            assert service["restart"] == "no", "a one-shot job"
            continue
        assert service["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name
        for key in ["interval", "timeout", "retries"]:
            assert key in service["healthcheck"], (name, key)
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            wanted = condition["condition"]
            if dependency == "minio-init":
                assert wanted == "service_completed_successfully", name
            else:
                assert wanted == "service_healthy", (name, dependency)
    assert set(services["frontend"]["depends_on"]) == {
        "postgres",
        "rabbitmq",
        "minio",
        "minio-init",
    }
    assert {"rabbitmq", "frontend"} <= set(services["execnode"]["depends_on"])
    assert services["rabbitmq"]["healthcheck"]["test"] == [
        "CMD",
        "rabbitmq-diagnostics",
        "-q",
        "ping",
    ]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_compose_health_checks_probe_the_readiness_routes() -> None:
    services = _services()
    frontend = " ".join(services["frontend"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8888/api/v1/ready" in frontend
    for name in ["execnode", "execnode-dedicated"]:
        service = services[name]
        port = _environment(service)["SURICATE_NODE_HEALTH_PORT"]
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])


def test_compose_keeps_state_in_declared_named_volumes() -> None:
    compose = _compose()
    declared = set(compose["volumes"])
    # A frontend's data dir is its own (an anonymous volume): nothing in it is worth keeping.
    assert [str(v) for v in compose["services"]["frontend"]["volumes"]] == ["/var/lib/suricate"]
    wanted = {
        "postgres": "/var/lib/postgresql/data",
        "rabbitmq": "/var/lib/rabbitmq",
        "minio": "/data",
    }
    for name, target in wanted.items():
        mounts = [str(v).split(":") for v in compose["services"][name]["volumes"]]
        assert [m for m in mounts if m[1] == target and m[0] in declared], (name, mounts)
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            assert source.startswith((".", "/")) or source in declared, source


def test_compose_writes_no_secret_only_required_variables() -> None:
    required = re.compile(r"\$\{[A-Z0-9_]+:\?[^}]*\}")
    for name, service in _services().items():
        for key, value in _environment(service).items():
            # Each ${...} stands in for its value; a password in a URL must be one of them.
            holes = INTERPOLATION.findall(value)
            masked = INTERPOLATION.sub(lambda m, h=holes: f"var{h.index(m.groups())}", value)
            password = _url_password(masked)
            if password is not None:
                assert re.fullmatch(r"var\d+", password), (name, key)
                assert holes[int(password[3:])][1] == ":?", (name, key, "a required variable")
            elif SECRET_NAME.search(key) or key in SECRET_SETTINGS:
                assert required.fullmatch(value), (name, key, value)


def test_every_compose_variable_is_in_the_env_example_and_secrets_are_left_empty() -> None:
    example = (DEPLOY / ".env.example").read_text()
    values = _env_example()
    for name, op, _ in INTERPOLATION.findall(json.dumps(_compose())):
        assert re.search(rf"^#? ?{name}=", example, re.MULTILINE), name
        if op == ":?" and SECRET_NAME.search(name):
            assert values[name] == "", f"{name}: leave it empty, compose then refuses to start"
    assert (DEPLOY / ".gitignore").read_text().splitlines()[-1] == ".env"


def test_compose_sets_only_real_settings_and_valid_values() -> None:
    filled = _filled_env_example()
    for name, service in _services().items():
        env = {k: _interpolate(v, filled) for k, v in _environment(service).items()}
        if name in {"frontend", "execnode", "execnode-dedicated"}:
            assert set(env) <= SETTINGS | AWS, (name, set(env) - SETTINGS - AWS)
            _validate_settings(env)


def test_compose_urls_name_the_services_of_the_stack() -> None:
    services = _services()
    frontend = {
        k: _interpolate(v, _filled_env_example())
        for k, v in _environment(services["frontend"]).items()
    }
    assert urlsplit(frontend["SURICATE_DATABASE_URL"]).hostname == "postgres"
    assert frontend["SURICATE_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert urlsplit(frontend["SURICATE_BROKER_URL"]).hostname == "rabbitmq"
    assert urlsplit(frontend["SURICATE_S3_ENDPOINT_URL"]).hostname == "minio"
    assert frontend["SURICATE_OBJECT_STORE_URL"].startswith("s3://suricate/")
    assert "local/suricate" in " ".join(services["minio-init"]["command"]), "the bucket"
    node = _environment(services["execnode"])
    assert node["SURICATE_URL"] == "http://proxy:8888", "through the proxy: any frontend"


def test_compose_nodes_get_the_broker_but_no_database_keys_or_store_credentials() -> None:
    for name in ["execnode", "execnode-dedicated"]:
        env = _environment(_services()[name])
        assert "SURICATE_BROKER_URL" in env
        for key in ["SURICATE_DATABASE_URL", "SURICATE_SECRET_KEY", "SURICATE_WEBHOOK_SECRET"]:
            assert key not in env, (name, key)
        assert not set(env) & AWS, name


def test_compose_nodes_are_sandboxed_or_say_why_not() -> None:
    for name in ["execnode", "execnode-dedicated"]:
        service = _services()[name]
        assert _interpolate(_environment(service)["SURICATE_KERNEL_SANDBOX"], {}) == "bwrap"
        # What nesting bubblewrap needs in Docker (docs/deploy.md, "Kernels in containers").
        assert {"seccomp=unconfined", "systempaths=unconfined"} <= set(service["security_opt"])
    frontend = _services()["frontend"]
    assert frontend["security_opt"] == ["no-new-privileges:true"], "the frontend keeps them"


# --- Kubernetes ---------------------------------------------------------------------------------


def _manifest_files() -> list[Path]:
    return sorted(p for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")


def _documents(*names: str) -> list[dict[str, Any]]:
    paths = [KUBERNETES / n for n in names] if names else _manifest_files()
    docs = []
    for path in paths:
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    return docs


def _one(kind: str, name: str, *files: str) -> dict[str, Any]:
    found = [d for d in _documents(*files) if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def _deployments() -> list[dict[str, Any]]:
    return [d for d in _documents() if d["kind"] == "Deployment"]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _port(container: dict[str, Any], port: str | int) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


def _config() -> dict[str, str]:
    return _one("ConfigMap", "suricate-config", "configmap.yaml")["data"]


def _secret_keys() -> set[str]:
    return set(_one("Secret", "suricate-secrets", "secret.example.yaml")["stringData"])


def test_every_manifest_parses_and_names_its_kind() -> None:
    documents = _documents()
    assert documents
    for document in documents:
        assert document["apiVersion"] and document["kind"], document
        assert document["metadata"]["name"], document
    kinds = {d["kind"] for d in documents}
    expected = {"Namespace", "ConfigMap", "Secret", "Deployment"}
    assert expected | {"Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds


def test_the_kustomization_lists_the_manifests_but_never_the_secret() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    resources = kustomization["resources"]
    for resource in resources:
        assert (KUBERNETES / resource).is_file(), resource
    listed = set(resources) | {"secret.example.yaml", "execnode-tenant.example.yaml"}
    assert listed == {p.name for p in _manifest_files()}
    assert "secret.example.yaml" not in resources
    assert kustomization["namespace"] == "suricate"
    assert [i["name"] for i in kustomization["images"]] == ["suricate"]


def test_kubectl_kustomize_builds_the_manifests_offline() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(KUBERNETES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    documents = list(yaml.safe_load_all(result.stdout))
    assert {d["kind"] for d in documents} >= {"Namespace", "Deployment", "Service", "ConfigMap"}
    assert "Secret" not in {d["kind"] for d in documents}
    for document in documents:
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "suricate", document["metadata"]
        if document["kind"] == "Deployment":
            image = _container(document)["image"]
            assert image.endswith("/suricate:0.1.0"), image


def test_the_frontend_is_replicated_rolled_and_budgeted_without_a_claim() -> None:
    frontend = _one("Deployment", "suricate-frontend", "frontend.yaml")
    assert frontend["spec"]["replicas"] >= 2
    strategy = frontend["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    pod = frontend["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in _container(frontend)["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/var/lib/suricate"]], "a data dir of its own"
    assert not [d for d in _documents() if d["kind"] == "PersistentVolumeClaim"]
    assert _config()["SURICATE_DATA_DIR"] == "/var/lib/suricate"
    assert _config()["SURICATE_OBJECT_STORE_URL"].startswith("s3://"), "a shared store"
    budget = _one("PodDisruptionBudget", "suricate-frontend", "frontend.yaml")
    assert budget["spec"]["minAvailable"] == 1
    labels = frontend["spec"]["template"]["metadata"]["labels"].items()
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels
    assert not [d for d in _documents() if d["kind"] == "HorizontalPodAutoscaler"
                and d["spec"]["scaleTargetRef"]["name"] == "suricate-frontend"]  # fmt: skip


def test_the_nginx_config_spreads_requests_and_passes_websockets_and_feeds(
    tmp_path: Path,
) -> None:
    conf = (DEPLOY / "nginx" / "suricate.conf").read_text()
    services = _services()
    port = services["frontend"]["command"][-1]
    assert re.search(rf"^\s*server frontend:{port}\b", conf, re.MULTILINE), "compose's frontends"
    assert re.search(r"^\s*listen 8888;", conf, re.MULTILINE)
    for directive in [
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_http_version 1.1;",
        "proxy_buffering off;",
        "proxy_request_buffering off;",
        "client_max_body_size 0;",
    ]:
        assert directive in conf, directive
    assert "non_idempotent" not in conf, "a POST is never sent to two frontends"
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx is not installed (scripts/system-packages.sh installs it)")
    # `nginx -t` as Debian's nginx loads it, the upstream on loopback (no name to resolve).
    local = conf.replace(f"server frontend:{port}", f"server 127.0.0.1:{free_port()}")
    (tmp_path / "suricate.conf").write_text(local)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n  include {tmp_path}/suricate.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def test_probes_point_at_the_real_routes_and_ports() -> None:
    frontend = _container(_one("Deployment", "suricate-frontend", "frontend.yaml"))
    args = frontend["args"]
    assert args == _image_cmd()
    serving_port = int(args[args.index("--port") + 1])
    probes = {
        k: frontend[k]["httpGet"] for k in ["startupProbe", "livenessProbe", "readinessProbe"]
    }
    assert probes["livenessProbe"]["path"] == "/api/v1/health"
    assert probes["readinessProbe"]["path"] == "/api/v1/ready"
    for probe in probes.values():
        assert probe["path"] in FRONTEND_PROBES
        assert _port(frontend, probe["port"]) == serving_port
    for deployment in _deployments():
        container = _container(deployment)
        if container["args"][0] != "execnode":
            continue
        env = {e["name"]: e.get("value") for e in container["env"]}
        health_port = int(env["SURICATE_NODE_HEALTH_PORT"])
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        for kind in ["startupProbe", "livenessProbe", "readinessProbe"]:
            probe = container[kind]["httpGet"]
            assert probe["path"] in NODE_PROBES
            assert _port(container, probe["port"]) == health_port, deployment["metadata"]
        assert env["SURICATE_URL"] == "http://suricate-frontend:8888"


def test_pods_run_as_non_root_read_only_with_resources() -> None:
    for deployment in _deployments():
        pod = deployment["spec"]["template"]["spec"]
        container = _container(deployment)
        context = pod.get("securityContext", {}) | container.get("securityContext", {})
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] == 10001
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert pod["automountServiceAccountToken"] is False
        assert pod["enableServiceLinks"] is False, "no SURICATE_FRONTEND_* service variables"
        assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}
        for bound in ["requests", "limits"]:
            assert {"cpu", "memory"} <= set(container["resources"][bound]), deployment["metadata"]


def test_the_service_selects_the_frontend_pods_only() -> None:
    service = _one("Service", "suricate-frontend", "frontend.yaml")
    selector = service["spec"]["selector"].items()
    for deployment in _deployments():
        labels = deployment["spec"]["template"]["metadata"]["labels"].items()
        is_frontend = deployment["metadata"]["name"] == "suricate-frontend"
        assert (selector <= labels) == is_frontend, deployment["metadata"]["name"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels
    frontend = _container(_one("Deployment", "suricate-frontend", "frontend.yaml"))
    (port,) = service["spec"]["ports"]
    assert _port(frontend, port["targetPort"]) == port["port"] == 8888


def test_config_and_secret_references_name_defined_keys() -> None:
    config, secret_keys = _config(), _secret_keys()
    for deployment in _deployments():
        container = _container(deployment)
        for source in container.get("envFrom", []):
            assert source == {"configMapRef": {"name": "suricate-config"}}, source
        for env in container.get("env", []):
            reference = env.get("valueFrom", {})
            if "secretKeyRef" in reference:
                assert reference["secretKeyRef"]["name"] == "suricate-secrets"
                assert reference["secretKeyRef"]["key"] in secret_keys, env
            if "configMapKeyRef" in reference:
                assert reference["configMapKeyRef"]["name"] == "suricate-config"
                assert reference["configMapKeyRef"]["key"] in config, env
    used = {
        e["valueFrom"]["secretKeyRef"]["key"]
        for d in _deployments()
        for e in _container(d).get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert used == secret_keys, "every key of the Secret is read, and only those"


def test_manifests_set_only_real_settings_and_write_no_secret() -> None:
    config = _config()
    assert set(config) <= SETTINGS | AWS, set(config) - SETTINGS - AWS
    _validate_settings(config)
    for key in config:
        assert not SECRET_NAME.search(key) and key not in SECRET_SETTINGS, key
    for deployment in _deployments():
        for env in _container(deployment).get("env", []):
            assert env["name"] in SETTINGS | AWS, env["name"]
            if env["name"] in SECRET_SETTINGS or SECRET_NAME.search(env["name"]):
                assert "secretKeyRef" in env.get("valueFrom", {}), env
    secret = _one("Secret", "suricate-secrets", "secret.example.yaml")["stringData"]
    for key, value in secret.items():
        assert "REPLACE" in value, f"{key}: placeholders only in the example"


def test_nodes_get_the_broker_secret_only_and_scale_per_tenant() -> None:
    nodes = [d for d in _deployments() if _container(d)["args"][0] == "execnode"]
    shared = _one("Deployment", "suricate-execnode", "execnode.yaml")
    tenant = _one("Deployment", "suricate-execnode-acme", "execnode-tenant.example.yaml")
    assert {n["metadata"]["name"] for n in nodes} == {"suricate-execnode", "suricate-execnode-acme"}
    assert _container(shared)["args"] == ["execnode"]
    assert _container(tenant)["args"] == ["execnode", "--tenant", "acme"]
    for node in nodes:
        keys = {
            e["valueFrom"]["secretKeyRef"]["key"]
            for e in _container(node)["env"]
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        assert keys == {"broker-url"}, node["metadata"]["name"]
        labels = node["spec"]["template"]["metadata"]["labels"]
        for other in nodes:
            if other is not node:
                selector = other["spec"]["selector"]["matchLabels"].items()
                assert not selector <= labels.items(), "each Deployment owns its own pods"
    for node, file in [(shared, "execnode.yaml"), (tenant, "execnode-tenant.example.yaml")]:
        (hpa,) = [d for d in _documents(file) if d["kind"] == "HorizontalPodAutoscaler"]
        assert hpa["spec"]["scaleTargetRef"]["name"] == node["metadata"]["name"]
        assert hpa["spec"]["minReplicas"] >= 1, "a tenant's queue needs a node"
        assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
        (budget,) = [d for d in _documents(file) if d["kind"] == "PodDisruptionBudget"]
        assert budget["spec"]["selector"] == node["spec"]["selector"]


def test_nodes_let_bubblewrap_nest_its_sandbox() -> None:
    for deployment in _deployments():
        pod = deployment["spec"]["template"]["spec"]
        if _container(deployment)["args"][0] != "execnode":
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            continue
        assert pod["hostUsers"] is False
        assert pod["securityContext"]["seccompProfile"] == {"type": "Unconfined"}
        assert _container(deployment)["securityContext"]["procMount"] == "Unmasked"
    assert _config()["SURICATE_KERNEL_SANDBOX"] == "bwrap"
    namespace = _one("Namespace", "suricate", "namespace.yaml")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


# --- systemd ------------------------------------------------------------------------------------


def _unit(name: str) -> ConfigParser:
    parser = ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((SYSTEMD / name).read_text())
    return parser


def _env_file(name: str) -> dict[str, str]:
    values = {}
    for line in (SYSTEMD / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_units_run_suricate_as_its_user_and_restart_on_failure() -> None:
    for name, command in [
        ("suricate.service", "/opt/suricate/bin/suricate serve "),
        ("suricate-execnode@.service", "/opt/suricate/bin/suricate execnode"),
    ]:
        service = _unit(name)["Service"]
        assert command in service["ExecStart"], name
        assert service["User"] == "suricate" and service["Group"] == "suricate"
        assert service["Restart"] == "on-failure"
        assert service["EnvironmentFile"].startswith("/etc/suricate/")
        assert service["NoNewPrivileges"] == "yes"
        assert _unit(name)["Install"]["WantedBy"] == "multi-user.target"
    frontend = _unit("suricate.service")["Service"]
    assert frontend["EnvironmentFile"] == "/etc/suricate/suricate.env"
    assert frontend["StateDirectory"] == "suricate"
    assert frontend["Environment"] == "SURICATE_DATA_DIR=/var/lib/suricate"


def test_units_leave_bubblewrap_the_namespaces_and_proc_it_needs() -> None:
    for name in ["suricate.service", "suricate-execnode@.service"]:
        service = _unit(name)["Service"]
        assert set(service["RestrictNamespaces"].split()) >= {"user", "mnt", "pid", "net"}
        assert set(service["RestrictNamespaces"].split()) >= {"ipc", "uts", "cgroup"}
        assert "AF_NETLINK" in service["RestrictAddressFamilies"].split()
        for breaks_bwrap in [
            "ProtectKernelTunables",
            "ProtectKernelLogs",
            "ProtectProc",
            "PrivateUsers",
            "MemoryDenyWriteExecute",
            "SystemCallFilter",
        ]:
            assert breaks_bwrap not in service, (name, breaks_bwrap)


def test_the_node_unit_instance_names_the_tenant_or_shared(tmp_path: Path) -> None:
    service = _unit("suricate-execnode@.service")["Service"]
    fake = tmp_path / "suricate"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    for instance, expected in [
        ("shared", ["execnode"]),
        ("acme", ["execnode", "--tenant", "acme"]),
    ]:
        # What systemd does to the line: %i is the instance, $$ a literal $.
        line = service["ExecStart"].replace("%i", instance).replace("$$", "$")
        line = line.replace("/opt/suricate/bin/suricate", str(fake))
        result = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=10)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == expected, instance
    assert "InaccessiblePaths" in service and "/var/lib/suricate" in service["InaccessiblePaths"]


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for name in ["suricate.service", "suricate-execnode@.service"]:
        text = (SYSTEMD / name).read_text().replace("/opt/suricate/bin/suricate", str(SURICATE))
        (tmp_path / name).write_text(text)
    for unit in ["suricate.service", "suricate-execnode@shared.service"]:
        result = subprocess.run(
            [analyze, "verify", "--man=no", str(tmp_path / unit)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        problems = [
            line
            for line in result.stderr.splitlines()
            if str(tmp_path) in line or "Unknown" in line or "Failed" in line
        ]
        assert result.returncode == 0 and not problems, result.stderr


def test_systemd_env_files_hold_real_settings_and_no_secret() -> None:
    frontend = _env_file("suricate.env.example")
    node = _env_file("execnode.env.example")
    for values in [frontend, node]:
        assert set(values) <= SETTINGS | AWS, set(values) - SETTINGS - AWS
        _validate_settings({k: v for k, v in values.items() if v})
        for key, value in values.items():
            if key in SECRET_SETTINGS:
                assert value == "" or _url_password(value) == "CHANGE_ME", key
    assert {"SURICATE_BROKER_URL", "SURICATE_URL"} <= set(node)
    secrets = SECRET_SETTINGS - {"SURICATE_BROKER_URL"}
    assert not set(node) & secrets, "a node gets the broker and the frontend, nothing more"
    assert _unit("suricate-execnode@.service")["Service"]["EnvironmentFile"] == (
        "/etc/suricate/execnode.env"
    )


# --- The image's entrypoint, run ----------------------------------------------------------------


def _run_check(command: list[str], port_from: int, port_to: int) -> None:
    """Run a container health check here: python is this interpreter, the port a free one."""
    argv = [sys.executable if a == "python" else a for a in command]
    argv = [a.replace(f":{port_from}/", f":{port_to}/") for a in argv]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, (command, result.stderr)


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    def answered() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(
        answered,
        timeout=30,
        interval=0.05,
        message=lambda: f"{url} never answered 200: {log.read_text()}",
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_entrypoint_exists_and_runs_nodes() -> None:
    assert SURICATE.is_file(), "the console script the image's ENTRYPOINT runs"
    result = subprocess.run(
        [str(SURICATE), "execnode", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "--tenant" in result.stdout


@pytest.mark.slow
def test_the_image_command_serves_the_probes_and_metrics(tmp_path: Path) -> None:
    port = free_port()
    command = [a if a != "8888" else str(port) for a in _image_cmd()]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SURICATE), *command],
            env=clean_env(tmp_path / "data"),
            cwd=tmp_path,  # the image's WORKDIR is its data dir
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(f"{url}/api/v1/health", process, log)
        # The image's HEALTHCHECK and compose's frontend check, as the container runs them.
        _run_check(_healthcheck_command(_dockerfile()), 8888, port)
        _run_check(_services()["frontend"]["healthcheck"]["test"][1:], 8888, port)
        # Every path the Kubernetes probes ask for.
        frontend = _container(_one("Deployment", "suricate-frontend", "frontend.yaml"))
        for kind in ["startupProbe", "livenessProbe", "readinessProbe"]:
            path = frontend[kind]["httpGet"]["path"]
            assert httpx.get(url + path).status_code == 200, path
        metrics = httpx.get(f"{url}/metrics")
        assert metrics.status_code == 200
        assert "# TYPE" in metrics.text
    finally:
        _stop(process)
    # uvicorn re-raises SIGTERM once it has shut down: a container then exits 143.
    assert process.returncode in (0, -signal.SIGTERM), log.read_text()


@pytest.mark.slow
def test_the_node_command_serves_its_probes(start_server, broker_url: str, tmp_path: Path) -> None:
    server: Server = start_server(SURICATE_BROKER_URL=broker_url, SURICATE_KERNEL_POOL_SIZE="0")
    service = _services()["execnode"]
    compose_port = int(_environment(service)["SURICATE_NODE_HEALTH_PORT"])
    port = free_port()
    env = clean_env(tmp_path / "node") | {
        "SURICATE_BROKER_URL": broker_url,
        "SURICATE_URL": server.url,
        "SURICATE_NODE_HEALTH_PORT": str(port),
        "SURICATE_KERNEL_POOL_SIZE": "0",
    }
    log = tmp_path / "node.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SURICATE), *service["command"]], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for(f"{url}/readyz", process, log)
        _run_check(service["healthcheck"]["test"][1:], compose_port, port)
        node = _container(_one("Deployment", "suricate-execnode", "execnode.yaml"))
        for kind in ["startupProbe", "livenessProbe", "readinessProbe"]:
            path = node[kind]["httpGet"]["path"]
            assert httpx.get(url + path).status_code == 200, path
        metrics = httpx.get(f"{url}/metrics")
        assert metrics.status_code == 200
        assert "suricate_node_" in metrics.text
    finally:
        _stop(process)
    # uvicorn re-raises SIGTERM once it has shut down: a container then exits 143.
    assert process.returncode in (0, -signal.SIGTERM), log.read_text()


# --- docs/deploy.md -----------------------------------------------------------------------------


def test_the_deploy_doc_names_every_file_and_setting_and_says_what_was_not_run() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and path.name not in {".gitignore", ".env"}:
            assert path.name in text, path
    used = set(
        re.findall(
            r"\b(SURICATE_[A-Z0-9_]*[A-Z0-9])\b",
            "\n".join(p.read_text() for p in DEPLOY.rglob("*") if p.is_file()),
        )
    )
    for name in used:
        assert f"`{name}`" in text, name
    this = Path(__file__).resolve().relative_to(ROOT).as_posix()  # tests/test_deploy.py
    assert this in text and "no Docker engine" in text
