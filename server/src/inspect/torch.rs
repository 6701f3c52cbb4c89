//! PyTorch checkpoints (`.ckpt/.pt/.pth/.bin`), without unpickling anything: the zip format
//! (`torch.save` since 1.6) must have a readable central directory listing a `data.pkl`; the
//! legacy format must open with the pickled magic number `torch.save` writes first.

use std::{
    fs::File,
    io::{Read, Seek, SeekFrom},
};

use super::FormatError;

/// `torch.serialization.MAGIC_NUMBER` pickled with protocol 2: PROTO 2, LONG1 of 10 bytes
/// (0x1950a86a20f9469cfc6c, little-endian), STOP.
const LEGACY_MAGIC: [u8; 15] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];
const LOCAL_HEADER: &[u8] = b"PK\x03\x04";
const END_OF_DIRECTORY: &[u8] = b"PK\x05\x06";
const ZIP64_LOCATOR: &[u8] = b"PK\x06\x07";
const ZIP64_END: &[u8] = b"PK\x06\x06";
const DIRECTORY_ENTRY: &[u8] = b"PK\x01\x02";
/// The end record is 22 bytes plus a comment of at most 64 KiB.
const TAIL: u64 = 22 + 65_535;
/// A checkpoint's directory lists a few entries per tensor; far below this.
const MAX_DIRECTORY: u64 = 256 << 20;

fn bad(why: impl Into<String>) -> FormatError {
    FormatError::TorchZip(why.into())
}

fn u16_at(b: &[u8], at: usize) -> u64 {
    u64::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn u32_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(
        b[at..at + 4].try_into().expect("4 bytes"),
    ))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn read_at(file: &mut File, at: u64, n: u64) -> Result<Vec<u8>, FormatError> {
    let mut buf = vec![0u8; n as usize];
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

pub(super) fn check(mut file: File, len: u64) -> Result<(), FormatError> {
    let mut head = [0u8; 15];
    let n = file.read(&mut head)?;
    if head[..n].starts_with(LOCAL_HEADER) {
        return check_zip(&mut file, len);
    }
    if n == head.len() && head == LEGACY_MAGIC {
        return Ok(());
    }
    Err(FormatError::NotTorch)
}

/// Where the central directory is and how big it is, from the end records (zip64 aware).
fn directory(file: &mut File, len: u64) -> Result<(u64, u64), FormatError> {
    let tail_start = len.saturating_sub(TAIL);
    let tail = read_at(file, tail_start, len - tail_start)?;
    let end = tail
        .windows(4)
        .rposition(|w| w == END_OF_DIRECTORY)
        .filter(|&at| at + 22 <= tail.len())
        .ok_or_else(|| bad("it has no end of central directory record (truncated?)"))?;
    let (size, offset) = (u32_at(&tail, end + 12), u32_at(&tail, end + 16));
    if offset != 0xFFFF_FFFF && size != 0xFFFF_FFFF {
        return Ok((offset, size));
    }
    let locator = end
        .checked_sub(20)
        .filter(|&at| &tail[at..at + 4] == ZIP64_LOCATOR)
        .ok_or_else(|| bad("its zip64 locator is missing"))?;
    let record_at = u64_at(&tail, locator + 8);
    if record_at + 56 > len {
        return Err(bad("its zip64 end record lies past the end"));
    }
    let record = read_at(file, record_at, 56)?;
    if &record[..4] != ZIP64_END {
        return Err(bad("its zip64 end record is missing"));
    }
    Ok((u64_at(&record, 48), u64_at(&record, 40)))
}

fn check_zip(file: &mut File, len: u64) -> Result<(), FormatError> {
    let (offset, size) = directory(file, len)?;
    if size > MAX_DIRECTORY || offset.checked_add(size).is_none_or(|end| end > len) {
        return Err(bad("its central directory lies outside the file"));
    }
    let dir = read_at(file, offset, size)?;
    let mut at = 0usize;
    let mut has_pickle = false;
    while at + 46 <= dir.len() {
        if &dir[at..at + 4] != DIRECTORY_ENTRY {
            return Err(bad("its central directory is corrupt"));
        }
        let name_len = u16_at(&dir, at + 28) as usize;
        let rest = name_len + u16_at(&dir, at + 30) as usize + u16_at(&dir, at + 32) as usize;
        let name = dir
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("its central directory is cut short"))?;
        has_pickle |= name == b"data.pkl" || name.ends_with(b"/data.pkl");
        at += 46 + rest;
    }
    if !has_pickle {
        return Err(bad("it has no data.pkl"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{tests::check, Format, FormatError};

    /// A stored (uncompressed) zip with `names`, each holding one byte.
    fn zip(names: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut directory = Vec::new();
        for name in names {
            let offset = out.len() as u32;
            out.extend(b"PK\x03\x04");
            out.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend([0u8; 4]); // crc (not checked)
            out.extend(1u32.to_le_bytes());
            out.extend(1u32.to_le_bytes());
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(name.as_bytes());
            out.push(b'x');
            directory.extend(b"PK\x01\x02");
            directory.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            directory.extend([0u8; 4]);
            directory.extend(1u32.to_le_bytes());
            directory.extend(1u32.to_le_bytes());
            directory.extend((name.len() as u16).to_le_bytes());
            directory.extend([0u8; 12]);
            directory.extend(offset.to_le_bytes());
            directory.extend(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend(&directory);
        out.extend(b"PK\x05\x06");
        out.extend([0u8; 4]);
        out.extend((names.len() as u16).to_le_bytes());
        out.extend((names.len() as u16).to_le_bytes());
        out.extend((directory.len() as u32).to_le_bytes());
        out.extend(cd_offset.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }

    #[test]
    fn a_checkpoint_zip_passes_and_other_zips_do_not() {
        let good = zip(&["archive/data.pkl", "archive/data/0", "archive/version"]);
        assert_eq!(check(&good, Format::Torch), Ok(()));
        let other = zip(&["readme.txt"]);
        assert!(matches!(
            check(&other, Format::Torch),
            Err(FormatError::TorchZip(_))
        ));
        // Cut before its directory: nothing to list.
        assert!(matches!(
            check(&good[..40], Format::Torch),
            Err(FormatError::TorchZip(_))
        ));
    }

    #[test]
    fn a_legacy_file_needs_the_whole_pickled_magic_number() {
        let mut legacy = super::LEGACY_MAGIC.to_vec();
        legacy.extend([0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e]);
        assert_eq!(check(&legacy, Format::Torch), Ok(()));
        assert_eq!(
            check(&[0x80, 0x02, 0x8a, 0x0a], Format::Torch),
            Err(FormatError::NotTorch)
        );
        assert_eq!(
            check(b"#!/bin/sh\necho hi\n", Format::Torch),
            Err(FormatError::NotTorch)
        );
    }
}
