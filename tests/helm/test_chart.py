"""The Helm chart deploy/helm/aicc, rendered for every environment and checked as a cluster would."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from aicc.platform.calendars import load_calendar_file, load_calendar_text

from .conftest import (
    CHART,
    ENVIRONMENTS,
    ENVS,
    RELEASE,
    ROOT,
    TEST_DIGEST,
    checkov_env,
    parse_manifests,
    run_helm,
    template_args,
)

SERVICES = {"identity": 50051, "intake": 50052, "review": 50053, "funding": 50054, "supervision": 50055}
CALLERS = {  # callee -> callers inside the release
    "identity": {"intake", "review", "funding", "supervision", "worker"},
    "intake": {"worker"},
    "review": {"worker"},
    "funding": {"worker"},
    "supervision": {"worker"},
}
CHECKS = {
    "CKV_K8S_8",
    "CKV_K8S_9",
    "CKV_K8S_10",
    "CKV_K8S_11",
    "CKV_K8S_12",
    "CKV_K8S_13",
    "CKV_K8S_20",
    "CKV_K8S_23",
    "CKV_K8S_28",
    "CKV_K8S_31",
    "CKV_K8S_37",
    "CKV_K8S_38",
    "CKV_K8S_40",
    "CKV_K8S_43",
    "CKV2_K8S_6",
}


def component(obj: dict) -> str | None:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/component")


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


# ---------------------------------------------------------------- helm lint / schema


@pytest.mark.parametrize("env", [None, *ENVS])
def test_helm_lint_strict_passes(helm, env):
    args = ["lint", "--strict", str(CHART), "--namespace", ENVS.get(env or "", "aicc-test")]
    if env:
        args += ["-f", str(ENVIRONMENTS / f"{env}.yaml")]
    proc = run_helm(helm, *args, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"instance": {"scop": "city"}}, "scop"),
        ({"serviceDefaults": {"replicaCount": "two"}}, "replicaCount"),
        ({"instance": {"scope": "county"}}, "scope"),
        ({"image": {"tag": "latest"}}, "tag"),
        ({"services": {"intake": {"port": "x"}}}, "port"),
        ({"networkPolicy": {"postgres": {"cidr": "10.0.0.0/8"}}}, "cidr"),
        ({"secrets": {"database": {"password": "hunter2"}}}, "password"),
        ({"instance": {"scope": "city", "cityCode": "", "provinceIntakeAddress": ""}}, "cityCode"),
        ({"secrets": {"temporalCodecKeys": {"existingSecret": ""}}}, "temporalCodecKeys"),
        ({"temporal": {"address": "temporal-frontend.temporal.svc:7233"}}, "/temporal/tls/existingSecret"),
        ({"calendars": {"extra": {"2027.yml": "year: 2027"}}}, "2027.yml"),
        ({"calendars": {"extra": {"2027.yaml": ""}}}, "/calendars/extra/2027.yaml"),
    ],
)
def test_bad_values_are_refused_naming_the_key(helm, tmp_path, overrides, named):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(overrides), encoding="utf-8")
    for cmd in (template_args(None, "-f", str(bad)), ["lint", "--strict", str(CHART), "-f", str(bad)]):
        proc = run_helm(helm, *cmd, check=False)
        assert proc.returncode != 0, f"helm {cmd[0]} accepted {overrides}"
        assert named in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_unknown_policy_without_content_is_refused(helm):
    proc = run_helm(helm, *template_args(None, "--set", "policy.name=no-such-policy"), check=False)
    assert proc.returncode != 0
    assert "no-such-policy" in proc.stderr


def test_policy_content_from_values_is_used(helm, tmp_path):
    text = "policy_id: my-city-2026\nscope: city\n"
    f = tmp_path / "p.yaml"
    f.write_text(text, encoding="utf-8")
    out = run_helm(
        helm, *template_args(None, "--set", "policy.name=my-city-2026", "--set-file", f"policy.content={f}")
    ).stdout
    cm = next(o for o in parse_manifests(out) if o["metadata"]["name"] == f"{RELEASE}-policies")
    assert cm["data"] == {"my-city-2026.yaml": text.rstrip("\n")}


# ---------------------------------------------------------------- schemas of the rendered objects


@pytest.mark.parametrize("k8s", ["1.29", "1.33"])
@pytest.mark.parametrize("env", list(ENVS))
def test_rendered_objects_validate_strictly(renders, env, k8s):
    objects = renders[env].objects
    assert len(objects) >= 30
    errors = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, k8s, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    assert not errors, "\n".join(errors)


def test_rendered_object_kinds(renders):
    for env, r in renders.items():
        kinds = sorted(o["kind"] for o in r.objects)
        assert kinds.count("Deployment") == 6, env
        assert kinds.count("Service") == 5 + (env == "city-qingdao"), env
        assert kinds.count("Job") == 1
        assert kinds.count("ConfigMap") == 2  # the policy and the working-day calendars
        assert "Secret" not in kinds
    assert len(renders["province"].of_kind("HorizontalPodAutoscaler")) == 5
    assert renders["city-qingdao"].of_kind("HorizontalPodAutoscaler") == []
    assert len(renders["city-qingdao"].of_kind("StatefulSet")) == 1
    assert renders["province"].of_kind("StatefulSet") == []


# ---------------------------------------------------------------- pod security


@pytest.mark.parametrize("env", list(ENVS))
def test_every_pod_is_restricted(renders, env):
    specs = renders[env].pod_specs()
    assert len(specs) >= 7
    for workload, spec in specs:
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True, where
        assert psc["runAsUser"] >= 10000, where
        assert psc["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec["automountServiceAccountToken"] is False, where
        assert not spec.get("hostNetwork"), where
        assert not spec.get("hostPID"), where
        assert not spec.get("hostIPC"), where
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes["tmp"], where
        assert not any("hostPath" in v for v in volumes.values()), where
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True, where
            assert sc["runAsUser"] >= 10000, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", where
            assert not sc.get("privileged"), where
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{where} {kind}"
            assert c["imagePullPolicy"] == "IfNotPresent", where
            assert not c["image"].endswith(":latest"), where
            mounts = {m["mountPath"] for m in c["volumeMounts"]}
            assert "/tmp" in mounts, where  # noqa: S108 - the pod's own emptyDir, asserted present
            if workload["metadata"]["name"] != f"{RELEASE}-temporal":
                assert "/var/lib/aicc" in mounts, where


def test_service_accounts_mount_no_token(renders):
    for r in renders.values():
        sas = r.of_kind("ServiceAccount")
        assert len(sas) >= 7
        assert all(sa["automountServiceAccountToken"] is False for sa in sas)


def test_image_digest_is_appended_to_the_tag(helm):
    out = run_helm(helm, *template_args("province", "--set", f"image.digest={TEST_DIGEST}")).stdout
    images = {
        c["image"]
        for o in parse_manifests(out)
        if o["kind"] in ("Deployment", "Job")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images == {f"registry.aicc.example/aicc/aicc:0.1.0@{TEST_DIGEST}"}


# ---------------------------------------------------------------- probes and commands


@pytest.mark.parametrize("env", list(ENVS))
def test_aicc_processes_have_grpc_probes_and_commands(renders, env):
    r = renders[env]
    for name, port in SERVICES.items():
        dep = r.get("Deployment", f"{RELEASE}-{name}")
        (c,) = dep["spec"]["template"]["spec"]["containers"]
        assert c["args"] == ["serve", name]
        assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"grpc": port, "health": 8081}
        for probe in ("startupProbe", "readinessProbe"):
            assert c[probe]["grpc"] == {"port": 8081, "service": ""}, f"{name} {probe}"
        # alive while its database refuses writes (only readiness follows the database)
        assert c["livenessProbe"]["grpc"] == {"port": 8081, "service": "aicc.liveness"}, name
        assert env_of(c)["AICC_HEALTH_PORT"]["value"] == "8081"
        assert env_of(c)[f"AICC_{name.upper()}_PORT"]["value"] == str(port)
        svc = r.get("Service", f"{RELEASE}-{name}")
        assert svc["spec"]["ports"][0]["port"] == port
    (w,) = r.get("Deployment", f"{RELEASE}-worker")["spec"]["template"]["spec"]["containers"]
    assert w["args"] == ["worker"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert w[probe]["grpc"] == {"port": 8081, "service": ""}
    job = r.get("Job", f"{RELEASE}-migrate")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


def test_health_port_zero_probes_the_service_port(helm):
    out = run_helm(helm, *template_args(None, "--set", "serviceDefaults.healthPort=0")).stdout
    dep = next(
        o
        for o in parse_manifests(out)
        if o["metadata"]["name"] == f"{RELEASE}-review" and o["kind"] == "Deployment"
    )
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["livenessProbe"]["grpc"] == {"port": 50053, "service": "aicc.liveness"}
    assert "AICC_HEALTH_PORT" not in env_of(c)


def test_migration_is_a_pre_install_pre_upgrade_hook(renders):
    job = renders["province"].get("Job", f"{RELEASE}-migrate")
    ann = job["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert ann["helm.sh/hook-delete-policy"] == "before-hook-creation"
    sa = renders["province"].get("ServiceAccount", f"{RELEASE}-migrate")
    assert int(sa["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(ann["helm.sh/hook-weight"])
    spec = job["spec"]["template"]["spec"]
    env = env_of(spec["containers"][0])
    db = {v["name"]: v for v in spec["volumes"]}["database"]["secret"]
    assert db["secretName"] == "aicc-province-database"
    assert sorted(i["key"] for i in db["items"]) == sorted(f"{n}-database-url" for n in SERVICES)
    for name in SERVICES:
        assert (
            env[f"AICC_{name.upper()}_DATABASE_URL_FILE"]["value"]
            == f"/etc/aicc/database/{name}-database-url"
        )


# ---------------------------------------------------------------- secrets


@pytest.mark.parametrize("env", list(ENVS))
def test_secrets_only_by_reference(renders, env):
    r = renders[env]
    assert r.of_kind("Secret") == []
    secretish = re.compile(r"(PASSWORD|SECRET|TOKEN|KEY|DATABASE_URL|CREDENTIAL)", re.I)
    for workload, spec in r.pod_specs():
        for c in spec["containers"]:
            for e in c.get("env", []):
                if "value" in e and secretish.search(e["name"]):
                    # only file *paths* may be passed by value
                    assert e["name"].endswith(("_FILE", "_DIR")), (
                        f"{workload['metadata']['name']}: {e['name']}"
                    )
                    assert e["value"].startswith("/etc/aicc/"), e
                # database URLs (with passwords) arrive as files, never as environment variables
                assert not e["name"].endswith("_DATABASE_URL"), e
    # and no value of this kind of thing leaks into any rendered object
    assert "postgresql" not in r.text
    assert "BEGIN PRIVATE KEY" not in r.text


@pytest.mark.parametrize("env", list(ENVS))
def test_secret_files_are_mounted_where_the_env_points(renders, env):
    r = renders[env]
    prefix = env.removeprefix("city-")
    ident = r.get("Deployment", f"{RELEASE}-identity")["spec"]["template"]["spec"]
    c = ident["containers"][0]
    e = env_of(c)
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in ident["volumes"]}
    assert (
        vols[mounts[e["AICC_TOKEN_SIGNING_KEYS_DIR"]["value"]]]["secret"]["secretName"]
        == f"aicc-{prefix}-signing-keys"
    )
    assert e["AICC_SM4_KEY_FILE"]["value"] == "/etc/aicc/sm4/sm4.key"
    assert e["AICC_AUDIT_KEY_FILE"]["value"] == "/etc/aicc/audit/audit.key"
    # The checkpoints of the audit chain: their own key, and a volume of their own (not the database's).
    assert e["AICC_AUDIT_ANCHOR_KEY_FILE"]["value"] == "/etc/aicc/audit-anchor-key/anchor.key"
    assert (
        vols[mounts["/etc/aicc/audit-anchor-key"]]["secret"]["secretName"]
        == f"aicc-{prefix}-audit-anchor-key"
    )
    anchors_dir = e["AICC_AUDIT_ANCHOR_DIR"]["value"]
    assert vols[mounts[anchors_dir]]["persistentVolumeClaim"]["claimName"] == f"aicc-{prefix}-audit-anchors"
    assert vols[mounts["/etc/aicc/sm4"]]["secret"]["secretName"] == f"aicc-{prefix}-sm4"
    for key, path in (
        ("AICC_TLS_CERT_FILE", "tls.crt"),
        ("AICC_TLS_KEY_FILE", "tls.key"),
        ("AICC_TLS_CA_FILE", "ca.crt"),
    ):
        assert e[key]["value"] == f"/etc/aicc/tls/{path}"
    assert vols["tls"]["secret"]["secretName"] == f"aicc-{prefix}-tls"
    w = r.get("Deployment", f"{RELEASE}-worker")["spec"]["template"]["spec"]
    we = env_of(w["containers"][0])
    assert we["AICC_WORKER_PASSWORD_FILE"]["value"] == "/etc/aicc/worker/password"
    assert {v["name"]: v for v in w["volumes"]}["worker-password"]["secret"][
        "secretName"
    ] == f"aicc-{prefix}-worker"
    # the signing keys are mounted in identity only; the SM4 key in identity and review (both keep
    # personal data encrypted at rest: users' phone/ID numbers, objectors' contacts)
    for name in SERVICES:
        spec = r.get("Deployment", f"{RELEASE}-{name}")["spec"]["template"]["spec"]
        c = spec["containers"][0]
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert ("signing-keys" in volumes) == (name == "identity"), name
        assert ("AICC_TOKEN_SIGNING_KEYS_DIR" in env_of(c)) == (name == "identity"), name
        if name in ("identity", "review"):
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert env_of(c)["AICC_SM4_KEY_FILE"]["value"] == "/etc/aicc/sm4/sm4.key", name
            assert volumes[mounts["/etc/aicc/sm4"]]["secret"]["secretName"] == f"aicc-{prefix}-sm4", name
        else:
            assert "sm4-key" not in volumes, name
            assert "AICC_SM4_KEY_FILE" not in env_of(c), name
        if name != "identity":
            assert f"AICC_{name.upper()}_DATABASE_URL_FILE" in env_of(spec["containers"][0])
            db = {v["name"]: v for v in spec["volumes"]}["database"]["secret"]
            assert [i["key"] for i in db["items"]] == [f"{name}-database-url"]  # its own URL only
            # every service keeps its own audit chain with the shared audit key
            assert {v["name"]: v for v in spec["volumes"]}["audit-key"]["secret"][
                "secretName"
            ] == f"aicc-{prefix}-audit"
            assert "AICC_IDENTITY_DATABASE_URL_FILE" not in env_of(spec["containers"][0])


# ---------------------------------------------------------------- configuration contract


@pytest.mark.parametrize("env", list(ENVS))
def test_common_environment(renders, env):
    r = renders[env]
    values = yaml.safe_load((ENVIRONMENTS / f"{env}.yaml").read_text(encoding="utf-8"))
    ns = ENVS[env]
    for workload, spec in r.pod_specs():
        if component(workload) == "temporal":
            continue
        e = {k: v.get("value") for k, v in env_of(spec["containers"][0]).items()}
        assert e["AICC_DEV_MODE"] == "false"
        assert e["AICC_DATA_DIR"] == "/var/lib/aicc"
        # The process default is loopback (issue 10, point 8); a pod must be reachable.
        assert e["AICC_LISTEN_HOST"] == "0.0.0.0"  # noqa: S104 - inside the pod, on purpose
        assert e["AICC_POLICY_DIR"] == "/etc/aicc/policies"
        assert e["AICC_POLICY_NAME"] == values["policy"]["name"]
        assert e["AICC_INSTANCE_SCOPE"] == values["instance"]["scope"]
        assert e["AICC_TEMPORAL_NAMESPACE"] == values["temporal"]["namespace"]
        assert e["AICC_TEMPORAL_TASK_QUEUE"] == "aicc-cycle"
        assert e["OTEL_SERVICE_NAME"] == f"aicc-{component(workload)}"
        for name, port in SERVICES.items():
            assert e[f"AICC_{name.upper()}_ADDRESS"] == f"{RELEASE}-{name}.{ns}.svc:{port}"
        if values["instance"]["scope"] == "city":
            assert e["AICC_INSTANCE_CITY_CODE"] == values["instance"]["cityCode"]
            assert e["AICC_PROVINCE_INTAKE_ADDRESS"] == values["instance"]["provinceIntakeAddress"]
        else:
            assert "AICC_INSTANCE_CITY_CODE" not in e
            assert "AICC_PROVINCE_INTAKE_ADDRESS" not in e
        expected_temporal = values["temporal"]["address"] or f"{RELEASE}-temporal.{ns}.svc:7233"
        assert e["AICC_TEMPORAL_ADDRESS"] == expected_temporal


@pytest.mark.parametrize("env", list(ENVS))
def test_policy_configmap_is_the_policy_file(renders, env):
    name = yaml.safe_load((ENVIRONMENTS / f"{env}.yaml").read_text(encoding="utf-8"))["policy"]["name"]
    cm = renders[env].get("ConfigMap", f"{RELEASE}-policies")
    assert list(cm["data"]) == [f"{name}.yaml"]
    policy = yaml.safe_load(cm["data"][f"{name}.yaml"])
    source = ROOT / "policies" / f"{name}.yaml"
    assert policy == yaml.safe_load(source.read_text(encoding="utf-8"))
    assert policy["policy_id"] == name
    scope = "province" if env == "province" else "city"
    assert policy["scope"] == scope


def test_chart_policies_are_in_sync_with_policies_dir():
    proc = subprocess.run(
        ["bash", str(ROOT / "tools" / "sync_chart_policies.sh"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, f"run tools/sync_chart_policies.sh:\n{proc.stdout}{proc.stderr}"
    assert (CHART / "files" / "policies" / "shandong-2026.yaml").exists()
    assert (CHART / "files" / "calendars" / "2026.yaml").exists()


# ---------------------------------------------------------------- working-day calendars

CALENDAR_USERS = {"intake", "worker"}  # the processes that count working days


@pytest.mark.parametrize("env", list(ENVS))
def test_calendar_configmap_is_the_repositorys_calendars(renders, env):
    cm = renders[env].get("ConfigMap", f"{RELEASE}-calendars")
    repo = {p.name: p for p in sorted((ROOT / "policies" / "calendars").glob("*.yaml"))}
    assert "2026.yaml" in repo
    assert list(cm["data"]) == list(repo)
    for name, path in repo.items():
        raw = path.read_bytes()
        assert cm["data"][name] == raw.decode("utf-8").rstrip("\n")
        assert load_calendar_text(raw, source=name, expect_year=int(path.stem)).year == int(path.stem)


@pytest.mark.parametrize("env", list(ENVS))
def test_calendars_are_mounted_where_working_days_are_counted(renders, env):
    seen = set()
    for workload, spec in renders[env].pod_specs():
        comp = component(workload)
        container = spec["containers"][0]
        e = env_of(container)
        mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        annotations = workload["spec"]["template"]["metadata"].get("annotations", {})
        if comp in CALENDAR_USERS:
            seen.add(comp)
            assert e["AICC_CALENDAR_DIR"]["value"] == "/etc/aicc/calendars"
            assert mounts["calendars"] == {
                "name": "calendars",
                "mountPath": "/etc/aicc/calendars",
                "readOnly": True,
            }
            assert volumes["calendars"]["configMap"]["name"] == f"{RELEASE}-calendars"
            assert re.fullmatch(r"[0-9a-f]{64}", annotations["checksum/calendars"])
        else:
            assert "AICC_CALENDAR_DIR" not in e, comp
            assert "calendars" not in volumes, comp
    assert seen == CALENDAR_USERS


def test_an_extra_calendar_year_from_values_is_mounted(helm, renders, tmp_path):
    fixture = ROOT / "tests" / "fixtures" / "calendars" / "2027.yaml"
    values = tmp_path / "calendars.yaml"
    values.write_text(
        yaml.safe_dump({"calendars": {"extra": {"2027.yaml": fixture.read_text(encoding="utf-8")}}}),
        encoding="utf-8",
    )
    out = run_helm(helm, *template_args("province", "-f", str(values))).stdout
    objects = parse_manifests(out)
    cm = next(
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == f"{RELEASE}-calendars"
    )
    assert list(cm["data"]) == ["2025.yaml", "2026.yaml", "2027.yaml"]
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    for name, text in cm["data"].items():
        (mounted / name).write_text(text + "\n", encoding="utf-8")
    assert load_calendar_file(mounted / "2027.yaml").notice.document_no == "TEST-FIXTURE-2027"
    worker = next(o for o in objects if o["kind"] == "Deployment" and component(o) == "worker")
    before = renders["province"].get("Deployment", f"{RELEASE}-worker")
    key = "checksum/calendars"
    assert (
        worker["spec"]["template"]["metadata"]["annotations"][key]
        != before["spec"]["template"]["metadata"]["annotations"][key]
    )  # the worker and intake roll with the new year


# ---------------------------------------------------------------- network policies


def _selects(policy: dict, labels: dict) -> bool:
    sel = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(labels.get(k) == v for k, v in sel.items())


@pytest.mark.parametrize("env", list(ENVS))
def test_every_pod_is_covered_by_default_deny_and_an_allow_policy(renders, env):
    r = renders[env]
    policies = r.of_kind("NetworkPolicy")
    deny = r.get("NetworkPolicy", f"{RELEASE}-default-deny")
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny["spec"]
    assert "egress" not in deny["spec"]
    for workload, _spec in r.pod_specs():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert _selects(deny, labels), workload["metadata"]["name"]
        own = [p for p in policies if p is not deny and _selects(p, labels)]
        assert len(own) == 1, workload["metadata"]["name"]


def _peer_components(rule_peers: list[dict]) -> set[str]:
    return {
        p["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for p in rule_peers
        if "podSelector" in p
        and "namespaceSelector" not in p
        and "app.kubernetes.io/component" in p["podSelector"].get("matchLabels", {})
    }


@pytest.mark.parametrize("env", list(ENVS))
def test_network_policies_follow_the_call_graph(renders, env):
    r = renders[env]
    for callee, callers in CALLERS.items():
        pol = r.get("NetworkPolicy", f"{RELEASE}-{callee}")
        internal = set()
        for rule in pol["spec"]["ingress"]:
            internal |= _peer_components(rule.get("from", []))
            assert [p["port"] for p in rule["ports"]] == [SERVICES[callee]]
        assert internal == callers, callee
        gateway = [
            rule
            for rule in pol["spec"]["ingress"]
            if any("namespaceSelector" in p for p in rule.get("from", []))
        ]
        assert gateway, f"{callee}: no rule for the gateway"
    # egress of callers reaches exactly their callees
    for caller in [*SERVICES, "worker"]:
        pol = r.get("NetworkPolicy", f"{RELEASE}-{caller}")
        reached = set()
        for rule in pol["spec"]["egress"]:
            reached |= _peer_components(rule.get("to", [])) - {"temporal"}
        assert reached == {c for c, cs in CALLERS.items() if caller in cs}, caller
        ports = {(p["protocol"], p["port"]) for rule in pol["spec"]["egress"] for p in rule["ports"]}
        assert ("UDP", 53) in ports, caller
        assert ("TCP", 5432) in ports, caller
        temporal = ("TCP", 7233) in ports
        assert temporal == (caller in ("worker", "intake")), caller
    assert r.get("NetworkPolicy", f"{RELEASE}-worker")["spec"]["ingress"] == []
    intake_egress = r.get("NetworkPolicy", f"{RELEASE}-intake")["spec"]["egress"]
    forwards = any(p["port"] == 443 for rule in intake_egress for p in rule["ports"])
    assert forwards == (env != "province")


def test_temporal_dev_server(renders):
    r = renders["city-qingdao"]
    sts = r.get("StatefulSet", f"{RELEASE}-temporal")
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    assert c["command"] == ["temporal"]
    args = c["args"]
    assert args[:2] == ["server", "start-dev"]
    assert "--headless" in args
    assert args[args.index("--ip") + 1] == "0.0.0.0"  # noqa: S104 - in its pod, behind a NetworkPolicy
    assert args[args.index("--db-filename") + 1] == "/data/temporal.db"
    assert args[args.index("--namespace") + 1] == "aicc-qingdao"
    assert {m["mountPath"] for m in c["volumeMounts"]} >= {"/data", "/tmp"}  # noqa: S108 - the path inside the pod
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "5Gi"
    pol = r.get("NetworkPolicy", f"{RELEASE}-temporal")
    assert _peer_components(pol["spec"]["ingress"][0]["from"]) == {"intake", "worker"}


# ---------------------------------------------------------------- province vs city


def _flatten(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _flatten(v, f"{path}.{k}" if path else k)
    elif isinstance(node, list):
        # env lists and volume lists are keyed by name so that order does not matter
        if node and all(isinstance(i, dict) and "name" in i for i in node):
            for i in node:
                yield from _flatten(i, f"{path}[{i['name']}]")
        else:
            for n, i in enumerate(node):
                yield from _flatten(i, f"{path}[{n}]")
    else:
        yield path, node


def _index(render):
    return {(o["kind"], o["metadata"]["name"]): dict(_flatten(o)) for o in render.objects}


# what may differ between the province's render and a city's
INTENDED = re.compile(
    r"(^metadata\.namespace$"
    r"|labels\.aicc\.gov\.cn/scope$"
    r"|env\[AICC_INSTANCE_SCOPE\]|env\[AICC_INSTANCE_CITY_CODE\]|env\[AICC_PROVINCE_INTAKE_ADDRESS\]"
    r"|env\[AICC_POLICY_NAME\]|env\[AICC_TEMPORAL_NAMESPACE\]|env\[AICC_\w+_ADDRESS\]"
    r"|env\[OTEL_RESOURCE_ATTRIBUTES\]"
    r"|\.secretKeyRef\.name$|\.secretName$|\.persistentVolumeClaim\.claimName$"
    r"|annotations\.checksum/policy$"
    r"|^data\.(shandong|city-\w+)-2026\.yaml$"
    r"|^spec\.egress\[\d+\]\.(ports|to)\[\d+\]\.(port|protocol|ipBlock\.cidr)$"
    r")"
)


def test_city_render_differs_from_province_only_in_intended_keys(renders):
    prov, city = _index(renders["province"]), _index(renders["city-jinan"])
    assert prov.keys() == city.keys()
    unexpected = []
    for key in prov:
        a, b = prov[key], city[key]
        for path in sorted(a.keys() | b.keys()):
            if a.get(path) != b.get(path) and not INTENDED.search(path):
                unexpected.append(f"{key[0]}/{key[1]} {path}: {a.get(path)!r} -> {b.get(path)!r}")
    assert not unexpected, "\n".join(unexpected)
    # and the intended keys really differ
    ident = ("Deployment", f"{RELEASE}-identity")
    assert prov[ident]["metadata.namespace"] == "aicc-province"
    assert city[ident]["metadata.namespace"] == "aicc-jinan"
    base = "spec.template.spec.containers[identity].env"
    assert city[ident][f"{base}[AICC_INSTANCE_CITY_CODE].value"] == "370100"
    assert prov[ident][f"{base}[AICC_POLICY_NAME].value"] == "shandong-2026"
    assert city[ident][f"{base}[AICC_POLICY_NAME].value"] == "city-jinan-2026"
    assert city[ident][f"{base}[AICC_TEMPORAL_NAMESPACE].value"] == "aicc-jinan"


def test_small_city_adds_only_the_temporal_dev_server(renders):
    jinan, qingdao = _index(renders["city-jinan"]), _index(renders["city-qingdao"])
    extra = qingdao.keys() - jinan.keys()
    assert {name for _, name in extra} == {f"{RELEASE}-temporal"}
    assert {kind for kind, _ in extra} == {"StatefulSet", "Service", "ServiceAccount", "NetworkPolicy"}
    assert jinan.keys() - qingdao.keys() == {("HorizontalPodAutoscaler", f"{RELEASE}-{n}") for n in SERVICES}


# ---------------------------------------------------------------- Temporal security


TEMPORAL_CLIENTS = {f"{RELEASE}-intake", f"{RELEASE}-worker"}


@pytest.mark.parametrize("env", list(ENVS))
def test_codec_keys_and_the_temporal_client_certificate_reach_intake_and_the_worker_only(renders, env):
    r = renders[env]
    prefix = env.removeprefix("city-")
    values = yaml.safe_load((ENVIRONMENTS / f"{env}.yaml").read_text(encoding="utf-8"))
    cluster = bool(values["temporal"]["address"])  # the province's cluster; Qingdao's dev server has no TLS
    seen = set()
    for workload, spec in r.pod_specs():
        name = workload["metadata"]["name"]
        c = spec["containers"][0]
        e = env_of(c)
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        if name not in TEMPORAL_CLIENTS:
            assert not any(k.startswith(("AICC_TEMPORAL_CODEC", "AICC_TEMPORAL_TLS")) for k in e), name
            assert not {"temporal-codec-keys", "temporal-tls"} & volumes.keys(), name
            continue
        seen.add(name)
        keys_dir = e["AICC_TEMPORAL_CODEC_KEYS_DIR"]["value"]
        assert volumes[mounts[keys_dir]]["secret"]["secretName"] == f"aicc-{prefix}-temporal-codec-keys", name
        assert "items" not in volumes[mounts[keys_dir]]["secret"]  # every key id in the Secret is a file
        if not cluster:
            assert "temporal-tls" not in volumes, name
            assert not any(k.startswith("AICC_TEMPORAL_TLS") for k in e), name
            continue
        tls = volumes["temporal-tls"]["secret"]
        assert tls["secretName"] == f"aicc-{prefix}-temporal-tls", name
        assert sorted(i["key"] for i in tls["items"]) == ["ca.crt", "tls.crt", "tls.key"]
        for var, file in (("CERT", "tls.crt"), ("KEY", "tls.key"), ("CA", "ca.crt")):
            path = e[f"AICC_TEMPORAL_TLS_{var}_FILE"]["value"]
            assert path == f"/etc/aicc/temporal-tls/{file}", name
            assert mounts[path.rsplit("/", 1)[0]] == "temporal-tls", name
        assert "AICC_TEMPORAL_TLS_SERVER_NAME" not in e  # the certificate names the dialled host
        # the service mTLS (between aicc processes) stays its own certificate
        assert e["AICC_TLS_CERT_FILE"]["value"] == "/etc/aicc/tls/tls.crt"
    assert seen == TEMPORAL_CLIENTS


def test_temporal_tls_with_system_roots_and_a_server_name(helm):
    out = run_helm(
        helm,
        *template_args(
            "province",
            "--set",
            "temporal.tls.privateCA=false",
            "--set",
            "temporal.tls.serverName=frontend.temporal.example",
        ),
    ).stdout
    worker = next(
        o
        for o in parse_manifests(out)
        if o["kind"] == "Deployment" and o["metadata"]["name"] == f"{RELEASE}-worker"
    )
    spec = worker["spec"]["template"]["spec"]
    e = {k: v["value"] for k, v in env_of(spec["containers"][0]).items()}
    assert e["AICC_TEMPORAL_TLS_SERVER_NAME"] == "frontend.temporal.example"
    assert "AICC_TEMPORAL_TLS_CA_FILE" not in e
    tls = {v["name"]: v for v in spec["volumes"]}["temporal-tls"]["secret"]
    assert sorted(i["key"] for i in tls["items"]) == ["tls.crt", "tls.key"]


# ---------------------------------------------------------------- README


def test_readme_parameter_table_is_generated_from_values():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "helm_readme.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_every_value_is_documented_by_a_param():
    sys.path.insert(0, str(ROOT / "tools"))
    import helm_readme

    documented = {key for _, key, _, _ in helm_readme.params()}
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))

    def leaves(node, path=""):
        if isinstance(node, dict) and node:
            for k, v in node.items():
                yield from leaves(v, f"{path}.{k}" if path else k)
        else:
            yield path

    undocumented = [
        leaf
        for leaf in leaves(values)
        if not any(leaf == d or leaf.startswith(d + ".") for d in documented)
        and not re.match(r"services\.\w+\.(port|overrides)$", leaf)
    ]
    assert not undocumented, undocumented


def test_schema_forbids_unknown_keys_at_every_object_level():
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    loose = []

    def walk(node, path):
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                loose.append(path)
            for k, v in node.items():
                if k not in ("if", "then", "else"):  # conditional constraints, not object definitions
                    walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for n, v in enumerate(node):
                walk(v, f"{path}/{n}")

    walk(schema, "#")
    assert not loose, loose
    assert schema["properties"]["instance"]["properties"]["scope"]["enum"] == ["province", "city"]


# ---------------------------------------------------------------- checkov


def _checkov(checkov, helm, target, framework, *extra):
    proc = subprocess.run(
        [checkov, "-d", str(target), "--framework", framework, "--skip-download", "-o", "json", *extra],
        capture_output=True,
        text=True,
        env=checkov_env(helm),
        timeout=600,
    )
    assert proc.stdout.strip(), proc.stderr
    data = json.loads(proc.stdout)
    reports = data if isinstance(data, list) else [data]
    passed = [c for r in reports for c in r["results"]["passed_checks"]]
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    return passed, failed


def test_checkov_rendered_environments(checkov, helm, rendered_dir):
    passed, failed = _checkov(checkov, helm, rendered_dir, "kubernetes")
    ran = {c["check_id"] for c in passed}
    assert len(passed) > 100
    assert CHECKS <= ran | {c["check_id"] for c in failed}, CHECKS - ran
    bad = [f"{c['check_id']} {c['resource']}" for c in failed if c["check_id"] in CHECKS]
    assert not bad, "\n".join(bad)
    # CKV2_K8S_6 must have evaluated our workloads, not nothing
    assert sum(c["check_id"] == "CKV2_K8S_6" for c in passed) >= 6 * len(ENVS)


def test_checkov_helm_chart_dir(checkov, helm):
    """checkov's own helm runner (default values, hence no digest: CKV_K8S_43 is expected there)."""
    passed, failed = _checkov(checkov, helm, CHART, "helm")
    assert len(passed) > 100, "checkov scanned nothing (is helm on PATH?)"
    bad = [f"{c['check_id']} {c['resource']}" for c in failed if c["check_id"] in CHECKS - {"CKV_K8S_43"}]
    assert not bad, "\n".join(bad)
