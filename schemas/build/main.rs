//! Generates the SBE codecs from the XML at build time: `cex.xml` for the crate, and
//! `tests/fixtures/evolution.xml`, a schema at version 2, for the tests of version handling.
//! `model` reads and lays out the XML; `render` writes the Rust.

mod model;
mod render;

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo::rerun-if-changed=build");
    generate(&manifest_dir, "cex.xml", &out_dir.join("cex_codec.rs"));
    generate(&manifest_dir, "tests/fixtures/evolution.xml", &out_dir.join("evolution_codec.rs"));
}

fn generate(manifest_dir: &Path, source: &str, out: &Path) {
    let path = manifest_dir.join(source);
    println!("cargo::rerun-if-changed={}", path.display());
    let xml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema = model::Schema::parse(&xml).unwrap_or_else(|e| panic!("{source}: {e}"));
    let code = render::render(&schema, &format!("schemas/{source}"));
    std::fs::write(out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
