//! The deployment files, checked as far as can be done without a container engine: every YAML
//! and JSON file parses, and the Dockerfile, docker-compose, Kubernetes manifests, Prometheus and
//! Grafana provisioning agree with each other and with the code (image, ports, paths, probe
//! endpoints, environment variable names, the ConfigMap's copy of `config/`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

const HTTP_PORT: &str = "9464";
const CONFIG_DIR: &str = "/etc/vigil";

fn image() -> String {
    format!("vigil:{}", env!("CARGO_PKG_VERSION"))
}

/// `VIGIL__…`-style variables of a k8s container, with placeholders for values from elsewhere.
fn k8s_env(container: &Value) -> BTreeMap<String, String> {
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let value = e["value"].as_str().unwrap_or("from-k8s").to_string();
            (e["name"].as_str().unwrap().to_string(), value)
        })
        .collect()
}

fn compose_env(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// `vigil check-config` with these variables set, from the repository's `config/`.
fn check_config(env: &BTreeMap<String, String>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
    c.current_dir(repo()).arg("check-config");
    for (k, v) in env {
        // Inside the container the config directory is /etc/vigil; here it is the checkout's.
        if k != "VIGIL_CONFIG_DIR" {
            c.env(k, v);
        }
    }
    c.output().unwrap()
}

#[test]
fn every_yaml_and_json_file_under_deploy_parses() {
    let mut files = Vec::new();
    files_under(&repo().join("deploy"), &mut files);
    let mut parsed = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        match f.extension().and_then(|e| e.to_str()) {
            Some("yml" | "yaml") => {
                serde_yaml::from_str::<serde_yaml::Value>(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                parsed += 1;
            }
            Some("json") => {
                serde_json::from_str::<Value>(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                parsed += 1;
            }
            _ => {}
        }
    }
    assert!(parsed >= 14, "only {parsed} files parsed");
}

#[test]
fn dockerfile_builds_the_binary_in_one_stage_and_runs_it_in_another() {
    let text = read("deploy/Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    assert!(froms[0].contains(" AS build"));
    // The build image's Rust is at least the crate's rust-version.
    let rust = froms[0]
        .split(':')
        .nth(1)
        .and_then(|t| t.split('-').next())
        .unwrap();
    let need = read("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let version = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap()).collect() };
    assert!(version(rust) >= version(&need), "{rust} < {need}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("cargo build --release --locked --bin vigil"))
    );
    // Everything the build copies exists.
    for l in lines
        .iter()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let parts: Vec<&str> = l.split_whitespace().collect();
        for src in &parts[1..parts.len() - 1] {
            assert!(repo().join(src).exists(), "COPY source {src} missing");
        }
    }
    assert!(lines.contains(&"COPY --from=build /src/target/release/vigil /usr/local/bin/vigil"));
    assert!(lines.contains(&format!("COPY config {CONFIG_DIR}").as_str()));
    assert!(text.contains(&format!("VIGIL_CONFIG_DIR={CONFIG_DIR}")));
    assert!(text.contains(&format!("VIGIL__HTTP__LISTEN=0.0.0.0:{HTTP_PORT}")));
    assert!(lines.contains(&format!("EXPOSE {HTTP_PORT}").as_str()));
    assert!(lines.contains(&"CMD [\"run\"]"));
    assert!(
        lines.iter().any(|l| l.starts_with("USER ")),
        "runs as non-root"
    );
}

#[test]
fn compose_wires_kafka_vigil_prometheus_and_grafana_together() {
    let c = yaml("deploy/docker-compose.yml");
    let services = c["services"].as_object().unwrap();
    for s in ["kafka", "vigil", "prometheus", "grafana"] {
        assert!(services.contains_key(s), "service {s}");
    }
    let vigil = &services["vigil"];
    assert_eq!(vigil["image"], image().as_str());
    assert_eq!(vigil["build"]["dockerfile"], "deploy/Dockerfile");
    assert_eq!(vigil["build"]["context"], "..");
    let env = compose_env(vigil);
    assert_eq!(env["VIGIL__HTTP__LISTEN"], format!("0.0.0.0:{HTTP_PORT}"));
    assert_eq!(env["VIGIL_CONFIG_DIR"], CONFIG_DIR);
    assert!(vigil["ports"][0].as_str().unwrap().ends_with(HTTP_PORT));
    // Vigil reaches Kafka where Kafka advertises itself.
    let kafka_env = compose_env(&services["kafka"]);
    assert!(
        services["kafka"]["image"]
            .as_str()
            .unwrap()
            .starts_with("apache/kafka:4.")
    );
    assert_eq!(kafka_env["KAFKA_PROCESS_ROLES"], "broker,controller");
    assert_eq!(
        kafka_env["KAFKA_ADVERTISED_LISTENERS"],
        format!("PLAINTEXT://{}", env["VIGIL__KAFKA__BROKERS"])
    );
    // Every bind mount's source exists, relative to deploy/.
    for (name, service) in services {
        for v in service["volumes"].as_array().into_iter().flatten() {
            let spec = v.as_str().unwrap();
            let source = spec.split(':').next().unwrap();
            if source.starts_with('.') {
                assert!(
                    repo().join("deploy").join(source).exists(),
                    "{name}: {source} missing"
                );
            }
        }
    }
    let mounts = |s: &str| -> Vec<String> {
        services[s]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert!(mounts("vigil").contains(&format!("../config:{CONFIG_DIR}:ro")));
    // Prometheus scrapes the vigil service on its port and loads the rules it mounts.
    let prom = yaml("deploy/prometheus/prometheus.yml");
    assert_eq!(
        prom["scrape_configs"][0]["static_configs"][0]["targets"][0],
        format!("vigil:{HTTP_PORT}").as_str()
    );
    assert_eq!(prom["rule_files"][0], "rules/*.yml");
    assert!(mounts("prometheus").contains(&"./prometheus/rules:/etc/prometheus/rules:ro".into()));
    assert!(
        mounts("prometheus")
            .contains(&"./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro".into())
    );
    // Grafana's datasource points at the prometheus service; its dashboard provider at the mount.
    let ds = yaml("deploy/grafana/provisioning/datasources/prometheus.yml");
    assert_eq!(ds["datasources"][0]["url"], "http://prometheus:9090");
    let provider = yaml("deploy/grafana/provisioning/dashboards/vigil.yml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    assert!(mounts("grafana").contains(&format!("./grafana/dashboards:{path}:ro")));
    assert!(
        mounts("grafana").contains(&"./grafana/provisioning:/etc/grafana/provisioning:ro".into())
    );
    // The environment the compose file gives Vigil is valid configuration.
    let out = check_config(&env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// One walk over the manifests on purpose: each check reads what the previous ones parsed.
#[test]
fn kubernetes_manifests_agree_with_the_code_and_each_other() {
    let kustomization = yaml("deploy/k8s/kustomization.yaml");
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(repo().join("deploy/k8s"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present, "kustomization lists every manifest");

    let deployment = yaml("deploy/k8s/deployment.yaml");
    assert_eq!(deployment["kind"], "Deployment");
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = &deployment["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    assert_eq!(&deployment["spec"]["selector"]["matchLabels"], labels);
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["image"], image().as_str());
    assert_eq!(container["args"][0], "run");
    let port = &container["ports"][0];
    assert_eq!(port["containerPort"].to_string(), HTTP_PORT);
    let port_name = port["name"].as_str().unwrap();
    // The probes hit the endpoints src/telemetry/http.rs serves, on the container's port.
    let http = read("src/telemetry/http.rs");
    for (probe, path) in [
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/healthz"),
    ] {
        assert_eq!(container[probe]["httpGet"]["path"], path, "{probe}");
        assert_eq!(container[probe]["httpGet"]["port"], port_name, "{probe}");
        assert!(
            http.contains(&format!(".route(\"{path}\"")),
            "{path} not served"
        );
    }
    let annotations = &pod["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], HTTP_PORT);
    assert!(http.contains(".route(\"/metrics\""));
    assert_eq!(annotations["prometheus.io/path"], "/metrics");

    // Each replica has its own instance id (the transactional id derives from it).
    let env = k8s_env(container);
    let instance = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "VIGIL__KAFKA__INSTANCE_ID")
        .unwrap();
    assert_eq!(
        instance["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    assert_eq!(env["VIGIL__HTTP__LISTEN"], format!("0.0.0.0:{HTTP_PORT}"));
    assert_eq!(env["VIGIL_CONFIG_DIR"], CONFIG_DIR);
    let out = check_config(&env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The ConfigMap is config/, file for file, mounted where VIGIL_CONFIG_DIR points.
    let mount = &container["volumeMounts"][0];
    assert_eq!(mount["mountPath"], CONFIG_DIR);
    let volume = pod["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    let configmap = yaml("deploy/k8s/configmap.yaml");
    assert_eq!(volume["configMap"]["name"], configmap["metadata"]["name"]);
    let data = configmap["data"].as_object().unwrap();
    let files: BTreeSet<String> = std::fs::read_dir(repo().join("config"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        data.keys().cloned().collect::<BTreeSet<_>>(),
        files,
        "ConfigMap keys"
    );
    for f in &files {
        assert_eq!(
            data[f].as_str().unwrap(),
            read(&format!("config/{f}")),
            "deploy/k8s/configmap.yaml differs from config/{f}: regenerate it (see its header)"
        );
    }

    let service = yaml("deploy/k8s/service.yaml");
    assert_eq!(&service["spec"]["selector"], labels);
    assert_eq!(service["spec"]["ports"][0]["targetPort"], port_name);
    assert_eq!(service["spec"]["ports"][0]["port"].to_string(), HTTP_PORT);
    let pdb = yaml("deploy/k8s/pdb.yaml");
    assert_eq!(pdb["kind"], "PodDisruptionBudget");
    assert_eq!(&pdb["spec"]["selector"]["matchLabels"], labels);
    let monitor = yaml("deploy/k8s/servicemonitor.yaml");
    assert_eq!(monitor["kind"], "ServiceMonitor");
    assert_eq!(
        &monitor["spec"]["selector"]["matchLabels"],
        &service["metadata"]["labels"]
    );
    assert_eq!(
        monitor["spec"]["endpoints"][0]["port"],
        service["spec"]["ports"][0]["name"]
    );
}

#[test]
fn a_misspelt_environment_variable_is_caught_by_check_config() {
    // What makes the env checks above able to fail.
    let env = BTreeMap::from([("VIGIL__HTTP__LISTN".to_string(), "0.0.0.0:1".to_string())]);
    let out = check_config(&env);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listn"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dashboards_use_a_datasource_variable_and_unique_ids() {
    let mut uids = BTreeSet::new();
    for name in ["vigil-operations.json", "early-warning-desk.json"] {
        let d: Value =
            serde_json::from_str(&read(&format!("deploy/grafana/dashboards/{name}"))).unwrap();
        assert!(uids.insert(d["uid"].as_str().unwrap().to_string()));
        let vars = d["templating"]["list"].as_array().unwrap();
        assert!(
            vars.iter().any(|v| v["name"] == "datasource"
                && v["type"] == "datasource"
                && v["query"] == "prometheus"),
            "{name}: datasource variable"
        );
        let panels = d["panels"].as_array().unwrap();
        assert!(panels.len() >= 6, "{name}");
        let mut ids = BTreeSet::new();
        for p in panels {
            assert!(
                ids.insert(p["id"].as_u64().unwrap()),
                "{name}: duplicate panel id"
            );
            if p["type"] == "row" {
                continue;
            }
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "{name}: {}",
                p["title"]
            );
            for t in p["targets"].as_array().unwrap() {
                assert_eq!(
                    t["datasource"]["uid"], "${datasource}",
                    "{name}: {}",
                    p["title"]
                );
                assert!(t["expr"].as_str().unwrap().contains("vigil_"));
            }
        }
    }
    // The desk dashboard carries alert annotations.
    let desk: Value =
        serde_json::from_str(&read("deploy/grafana/dashboards/early-warning-desk.json")).unwrap();
    assert!(
        desk["annotations"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["expr"]
                .as_str()
                .is_some_and(|e| e.contains("vigil_region_alerts_total")))
    );
}

#[test]
fn every_alerting_rule_has_a_severity_and_an_explanation() {
    let rules = yaml("deploy/prometheus/rules/vigil.yml");
    let mut names = BTreeSet::new();
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let name = rule["alert"].as_str().unwrap();
            assert!(names.insert(name.to_string()), "duplicate {name}");
            let severity = rule["labels"]["severity"].as_str().unwrap();
            assert!(["warning", "critical"].contains(&severity), "{name}");
            assert!(rule["annotations"]["summary"].is_string(), "{name}");
            assert!(rule["annotations"]["description"].is_string(), "{name}");
        }
    }
    // The health conditions the issue names.
    for needed in [
        "VigilConsumerLagGrowing",
        "VigilDeadLetterRateHigh",
        "VigilNoInput",
        "VigilCommitFailures",
        "VigilNotReady",
    ] {
        assert!(names.contains(needed), "{needed}");
    }
    // Every alert has a promtool unit test.
    let tests = read("deploy/prometheus/tests/vigil.test.yml");
    for name in &names {
        assert!(
            tests.contains(&format!("alertname: {name}")),
            "no test for {name}"
        );
    }
}
