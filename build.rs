//! Build script: link the `capwatch` binary with packed relative relocations
//! (`-z pack-relative-relocs`, DT_RELR) where the C library can load them.
//!
//! In: the host and target triples and the host's glibc version. Out: one
//! linker argument for the binaries, or nothing. A position-independent Rust
//! binary carries about 1.6 MB of relative relocations that the loader reads
//! in full at every start; packed, they are a few kilobytes, and `capwatch
//! check` runs with about 1.4 MB less resident memory (BENCHMARKS.md). glibc
//! reads packed relocations from 2.36 on; an older one could not start the
//! binary, so there the flag is left out. Cross builds leave it out too: the
//! host's C library says nothing about the target's.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    if target == host && target.ends_with("-linux-gnu") && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether `getconf GNU_LIBC_VERSION` (e.g. "glibc 2.36") is at least
/// `major.minor`; false when it cannot be told.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}
