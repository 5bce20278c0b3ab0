//! Finds the installed libopusrt.so: `OPUSRT_DIR` (an install prefix: `$OPUSRT_DIR/lib`) when it
//! is set, else `pkg-config opusrt` (opusrt installs `lib/pkgconfig/opusrt.pc`; set
//! `PKG_CONFIG_PATH` for a prefix outside the default search path), else, inside opusrt's source
//! tree, the library of its `build/` directory (with a warning). The crate's own tests and
//! examples get an rpath to that directory; other programs find the library through their own
//! rpath, `LD_LIBRARY_PATH` or the system's library path.
//!
//! pkg-config is run as a program rather than through the pkg-config crate: the crate has no
//! dependencies, so that it builds offline with only Debian's cargo.
use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=OPUSRT_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");

    let lib_dir = match env::var_os("OPUSRT_DIR") {
        Some(prefix) => {
            let prefix = PathBuf::from(prefix);
            let candidates = [prefix.join("lib"), prefix.join("lib64"), prefix.clone()];
            match candidates.iter().find(|dir| dir.join("libopusrt.so").exists()) {
                Some(dir) => dir.clone(),
                None => panic!(
                    "OPUSRT_DIR={}: no libopusrt.so in {}/lib, {}/lib64 or {} (install opusrt with \
                     `cmake --install build --prefix DIR`)",
                    prefix.display(),
                    prefix.display(),
                    prefix.display(),
                    prefix.display()
                ),
            }
        }
        None => match pkg_config_libdir() {
            Ok(dir) => dir,
            Err(why) => match source_tree_build() {
                // Developing opusrt itself: `cargo test` here after scripts/test.sh just works.
                Some(dir) => {
                    println!("cargo:warning=opusrt: {}; using the source tree's build: {}", why, dir.display());
                    dir
                }
                None => panic!("{}", why),
            },
        },
    };
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-lib=dylib=opusrt");
    // Lets `cargo test` and `cargo run --example` find the library without LD_LIBRARY_PATH.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    // For crates that depend on this one (DEP_OPUSRT_LIB_DIR in their build scripts).
    println!("cargo:lib_dir={}", lib_dir.display());
}

/// libdir of `pkg-config opusrt`, or why there is none.
fn pkg_config_libdir() -> Result<PathBuf, String> {
    let output = Command::new("pkg-config").args(["--variable=libdir", "opusrt"]).output().map_err(|e| {
        format!(
            "cannot run pkg-config to find opusrt ({}): install pkg-config, or set OPUSRT_DIR to \
             opusrt's install prefix",
            e
        )
    })?;
    let libdir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || libdir.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(format!(
            "pkg-config does not know opusrt{}: set PKG_CONFIG_PATH to <prefix>/lib/pkgconfig of \
             an opusrt install, or OPUSRT_DIR to the prefix",
            if stderr.is_empty() { String::new() } else { format!(" ({})", stderr) }
        ));
    }
    Ok(PathBuf::from(libdir))
}

/// `build/` of the opusrt source tree this crate sits in (bindings/rust), when it has the library.
fn source_tree_build() -> Option<PathBuf> {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR")?);
    let build = manifest.join("../../build");
    if build.join("libopusrt.so").exists() && manifest.join("../../include/opusrt/opusrt.h").exists() {
        build.canonicalize().ok()
    } else {
        None
    }
}
