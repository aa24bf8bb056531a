//! Config errors stop start-up of the real binary with a message that names the key.

use std::process::Command;

fn run_with_config(toml: &str, env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile_dir();
    let path = dir.join("switchboard.toml");
    std::fs::write(&path, toml).unwrap();
    let result = check_config(|cmd| {
        cmd.arg("--config")
            .arg(&path)
            .env_remove("SWITCHBOARD_NATS_URL")
            .env_remove("SWITCHBOARD_INGEST_LISTEN")
            .envs(env.iter().copied());
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Runs `switchboard-ingest --check-config`, set up by `set_up`; whether it passed, and
/// what it said on stderr.
fn check_config(set_up: impl FnOnce(&mut Command)) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard-ingest"));
    set_up(&mut cmd);
    let out = cmd
        .arg("--check-config")
        .output()
        .expect("run switchboard-ingest");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sb-config-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

const SOURCE: &str = "[tenants.acme.sources.st]\nscheme = \"servicetitan\"\nsecrets = [\"${ACME_ST_WEBHOOK_KEY}\"]\n";

#[test]
fn a_valid_config_passes_the_check() {
    let (ok, stderr) = run_with_config(SOURCE, &[("ACME_ST_WEBHOOK_KEY", "k")]);
    assert!(ok, "{stderr}");
}

#[test]
fn an_unset_variable_stops_start_up_naming_variable_and_key() {
    let (ok, stderr) = run_with_config(SOURCE, &[]);
    assert!(!ok);
    assert!(stderr.contains("ACME_ST_WEBHOOK_KEY"), "{stderr}");
    assert!(
        stderr.contains("tenants.acme.sources.st.secrets[0]"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_key_stops_start_up_naming_the_key() {
    let (ok, stderr) = run_with_config(
        "[ingest]\nlisten = \"127.0.0.1:0\"\nmax_body_byte = 5\n",
        &[],
    );
    assert!(!ok);
    assert!(
        stderr.contains("ingest") && stderr.contains("max_body_byte"),
        "{stderr}"
    );
}

#[test]
fn a_bad_tenant_name_stops_start_up_naming_the_key() {
    let (ok, stderr) = run_with_config("[tenants.\"Acme Corp\"]\n", &[]);
    assert!(!ok);
    assert!(
        stderr.contains("tenants") && stderr.contains("Acme Corp") && stderr.contains("[a-z0-9_-]"),
        "{stderr}"
    );
}

#[test]
fn a_bad_secret_for_its_scheme_stops_start_up_naming_the_key() {
    // Caught when the verifiers are built, before anything listens.
    let toml = "[nats]\nurl = \"nats://127.0.0.1:1\"\n[ingest]\nlisten = \"127.0.0.1:0\"\n\
                [tenants.acme.sources.tx]\nscheme = \"telnyx\"\nsecrets = [\"not-a-public-key\"]\n";
    let dir = tempfile_dir();
    let path = dir.join("c.toml");
    std::fs::write(&path, toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard-ingest"))
        .arg("--config")
        .arg(&path)
        .env("SWITCHBOARD_LOG", "error")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("tenants.acme.sources.tx.secrets[0]"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-a-public-key"),
        "secrets never appear in errors: {stderr}"
    );
}

#[test]
fn check_config_also_checks_every_sources_secrets() {
    let toml = "[tenants.acme.sources.tx]\nscheme = \"telnyx\"\nsecrets = [\"not-a-public-key\"]\n";
    let (ok, stderr) = run_with_config(toml, &[]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("tenants.acme.sources.tx.secrets[0]"),
        "{stderr}"
    );
}

#[test]
fn the_config_file_can_come_from_the_environment() {
    let dir = tempfile_dir();
    let path = dir.join("c.toml");
    std::fs::write(&path, "[ingest]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let (ok, stderr) = check_config(|cmd| {
        cmd.env("SWITCHBOARD_CONFIG", &path);
    });
    assert!(ok, "{stderr}");
    let (ok, stderr) = check_config(|cmd| {
        cmd.env_remove("SWITCHBOARD_CONFIG");
    });
    assert!(!ok);
    assert!(stderr.contains("SWITCHBOARD_CONFIG"));
}

#[test]
fn the_demo_config_used_by_docker_compose_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    // Compose hands every service config/demo.env (env_file): the demo's secrets.
    let env = std::fs::read_to_string(dir.join("demo.env")).unwrap();
    let vars = env
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('=').expect("demo.env lines are NAME=value"));
    let (ok, stderr) = check_config(|cmd| {
        cmd.arg("--config")
            .arg(dir.join("switchboard.toml"))
            .envs(vars);
    });
    assert!(ok, "{stderr}");
}
