//! Compiles every `.proto` under `server/` and `clients/` with protox (a protobuf compiler in
//! Rust, so no `protoc` is needed), generates tonic clients and servers, and keeps the file
//! descriptor set of what usvc serves (not the bank services it calls) for gRPC reflection.

use std::path::{Path, PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let roots = ["server", "clients"];
    let mut files = Vec::new();
    for root in roots {
        collect(Path::new(root), &mut files)?;
        println!("cargo:rerun-if-changed={root}");
    }
    files.sort();
    let fds = protox::compile(&files, roots)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // Reflection must advertise only the services usvc serves: leave out the client contracts.
    let mut served = fds.clone();
    served
        .file
        .retain(|file| !file.package().starts_with("bank."));
    std::fs::write(out.join("descriptor.bin"), served.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
