//! sha256 of files and streams, in constant memory.

use std::{fs::File, io::Read, path::Path};

use sha2::{Digest, Sha256};

/// Lower-case hex sha256 and length of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    sha256_file_with_progress(path, |_| {})
}

/// Like [`sha256_file`], calling `progress` with the bytes of each read.
pub fn sha256_file_with_progress(
    path: &Path,
    mut progress: impl FnMut(u64),
) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
        progress(n as u64);
    }
    Ok((hex(&hasher.finalize()), len))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True for 64 hex digits (any case).
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}
