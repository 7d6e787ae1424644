//! Build script of `parley-proto`: compiles every `.proto` file under the workspace's `proto/`
//! directory with `protox` (pure Rust, no system `protoc`), writes the encoded descriptor set
//! to `OUT_DIR/parley_descriptor.bin`, and generates the Rust code with `tonic-prost-build`.

use std::{
    error::Error,
    fs,
    path::{Path, PathBuf},
};

use prost::Message as _;

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(cargo_env("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(cargo_env("OUT_DIR")?);
    let proto_root = manifest_dir.join("../../proto").canonicalize()?;

    println!("cargo:rerun-if-changed={}", proto_root.display());
    let mut files = Vec::new();
    collect_protos(&proto_root, &mut files)?;
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    // `protox::compile` keeps source info (the comments the docs and the comment test need)
    // and includes imported files such as `google/protobuf/timestamp.proto`.
    let fds = protox::compile(&files, [&proto_root])?;
    fs::write(out_dir.join("parley_descriptor.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .client_mod_attribute(".", r#"#[cfg(feature = "client")]"#)
        .server_mod_attribute(".", r#"#[cfg(feature = "server")]"#)
        .compile_fds(fds)?;
    Ok(())
}

/// Reads an environment variable that Cargo sets for build scripts.
#[allow(clippy::disallowed_methods)] // build scripts receive their inputs from Cargo this way
fn cargo_env(name: &str) -> Result<String, Box<dyn Error>> {
    std::env::var(name).map_err(|err| format!("{name}: {err}").into())
}

/// Collects every `.proto` file below `dir`, recursively.
fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Box<dyn Error>> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
