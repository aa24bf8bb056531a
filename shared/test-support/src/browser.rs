//! Headless Chromium for the pages' tests (Debian's `chromium`; scripts/test installs it),
//! started as the probe of this machine showed works on a closed network: no sandbox (root
//! in CI), no GPU, no background networking, a fresh profile.

use std::path::Path;
use std::process::{Command, Output};

/// The Chromium binary on `PATH`; panics with how to install one.
pub fn chromium() -> &'static str {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("headless Chromium is needed for this test: apt-get install -y chromium (scripts/test does)")
}

/// Loads `url` in headless Chromium with `extra` arguments (`--dump-dom`,
/// `--screenshot=…`), its profile in `profile`.
pub fn headless(url: &str, extra: &[&str], profile: &Path) -> Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(extra)
        .arg(url)
        .output()
        .expect("run headless Chromium")
}

/// The page's DOM after load.
pub fn dump_dom(url: &str, profile: &Path) -> String {
    String::from_utf8_lossy(&headless(url, &["--dump-dom"], profile).stdout).into_owned()
}
