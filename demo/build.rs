//! The revision `redline::build_info!()` reports for the demo: the git
//! commit it is built from (`REDLINE_GIT_REVISION` overrides, for builds
//! without `.git`, such as the Docker image).
use std::process::Command;

fn main() {
    let revision = std::env::var("REDLINE_GIT_REVISION")
        .ok()
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
            (out.status.success() && !s.is_empty()).then_some(s)
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SOURCE_REVISION={revision}");
    println!("cargo:rerun-if-env-changed=REDLINE_GIT_REVISION");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
}
