//! GGUF (ggml's docs/gguf.md, versions 2 and 3): magic, version, every metadata key/value and
//! every tensor description are walked, and the tensor data they point at must lie inside the
//! file. Values are skipped, never collected: memory stays small whatever the vocabulary size.

use std::{
    fs::File,
    io::{BufReader, Read},
};

use super::FormatError;

/// ggml's default; `general.alignment` may change it.
const DEFAULT_ALIGNMENT: u64 = 32;
/// Longest key the format allows.
const MAX_KEY: u64 = 65_535;
/// ggml tensors have at most 4 dimensions; leave room for future ones.
const MAX_DIMS: u32 = 8;
/// Arrays nest; real files use one level.
const MAX_DEPTH: u32 = 4;

const TYPE_UINT32: u32 = 4;
const TYPE_STRING: u32 = 8;
const TYPE_ARRAY: u32 = 9;

fn bad(why: impl Into<String>) -> FormatError {
    FormatError::GgufHeader(why.into())
}

/// A reader that knows the file length, so no count or length can send it past the end.
struct Header {
    reader: BufReader<File>,
    pos: u64,
    len: u64,
}

impl Header {
    fn take(&mut self, n: u64, what: &str) -> Result<(), FormatError> {
        if n > self.len - self.pos {
            return Err(bad(format!(
                "{what} at byte {} runs past the end of the file ({} bytes): the file is truncated or not GGUF",
                self.pos, self.len
            )));
        }
        self.pos += n;
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FormatError> {
        self.take(N as u64, what)?;
        let mut buf = [0u8; N];
        self.reader.read_exact(&mut buf)?;
        Ok(buf)
    }

    fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<(), FormatError> {
        self.take(n, what)?;
        let copied = std::io::copy(&mut (&mut self.reader).take(n), &mut std::io::sink())?;
        if copied != n {
            return Err(bad(format!("{what} is cut short")));
        }
        Ok(())
    }

    /// A key: a length-prefixed UTF-8 string of at most `MAX_KEY` bytes.
    fn key(&mut self) -> Result<String, FormatError> {
        let n = self.u64("a key length")?;
        if n > MAX_KEY {
            return Err(bad(format!("a key claims {n} bytes")));
        }
        self.take(n, "a key")?;
        let mut buf = vec![0u8; n as usize];
        self.reader.read_exact(&mut buf)?;
        String::from_utf8(buf).map_err(|_| bad("a key is not UTF-8"))
    }

    /// Skips one value of `kind`.
    fn value(&mut self, kind: u32, depth: u32) -> Result<(), FormatError> {
        match kind {
            TYPE_STRING => {
                let n = self.u64("a string length")?;
                self.skip(n, "a string")
            }
            TYPE_ARRAY => {
                if depth >= MAX_DEPTH {
                    return Err(bad("arrays nest too deeply"));
                }
                let inner = self.u32("an array type")?;
                let count = self.u64("an array length")?;
                match fixed_size(inner) {
                    Some(size) => {
                        let bytes = count
                            .checked_mul(size)
                            .ok_or_else(|| bad("an array claims more bytes than exist"))?;
                        self.skip(bytes, "an array")
                    }
                    None => {
                        // Every string or array element takes at least 8 bytes.
                        if count > (self.len - self.pos) / 8 {
                            return Err(bad(format!(
                                "an array claims {count} elements, more than the file holds"
                            )));
                        }
                        (0..count).try_for_each(|_| self.value(inner, depth + 1))
                    }
                }
            }
            other => {
                let size =
                    fixed_size(other).ok_or_else(|| bad(format!("unknown value type {other}")))?;
                self.skip(size, "a value")
            }
        }
    }
}

/// Bytes of a fixed-size value type; `None` for strings, arrays and unknown types.
fn fixed_size(kind: u32) -> Option<u64> {
    match kind {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

pub(super) fn check(file: File, len: u64) -> Result<(), FormatError> {
    let mut h = Header {
        reader: BufReader::with_capacity(1 << 16, file),
        pos: 0,
        len,
    };
    if len < 8 {
        return Err(FormatError::TooShort { what: "GGUF", len });
    }
    if &h.array::<4>("the magic")? != b"GGUF" {
        return Err(FormatError::NotGguf);
    }
    let version = h.u32("the version")?;
    if !(2..=3).contains(&version) {
        return Err(FormatError::GgufVersion(version));
    }
    let tensors = h.u64("the tensor count")?;
    let kvs = h.u64("the metadata count")?;
    let mut alignment = DEFAULT_ALIGNMENT;
    for _ in 0..kvs {
        let key = h.key()?;
        let kind = h.u32("a value type")?;
        if key == "general.alignment" && kind == TYPE_UINT32 {
            alignment = u64::from(h.u32("the alignment")?);
            if alignment == 0 || !alignment.is_power_of_two() {
                return Err(bad(format!("alignment {alignment} is not a power of two")));
            }
        } else {
            h.value(kind, 0)?;
        }
    }
    let mut extents = Vec::new();
    for _ in 0..tensors {
        let name = h.key()?;
        let dims = h.u32("a dimension count")?;
        if dims == 0 || dims > MAX_DIMS {
            return Err(bad(format!("tensor {name:?} has {dims} dimensions")));
        }
        let mut elements: Option<u64> = Some(1);
        for _ in 0..dims {
            let dim = h.u64("a tensor dimension")?;
            elements = elements.and_then(|e| e.checked_mul(dim));
        }
        let kind = h.u32("a tensor type")?;
        let offset = h.u64("a tensor offset")?;
        if offset % alignment != 0 {
            return Err(bad(format!(
                "tensor {name:?} starts at {offset}, not a multiple of {alignment}"
            )));
        }
        let bytes = match (elements, block_size(kind)) {
            (None, _) => return Err(bad(format!("tensor {name:?} is impossibly large"))),
            (Some(n), Some((block, size))) if n % block == 0 => Some(n / block * size),
            (Some(n), Some((block, _))) => {
                return Err(bad(format!(
                    "tensor {name:?} has {n} elements, not a whole number of blocks of {block}"
                )))
            }
            // A type newer than this table: only its start can be checked.
            (Some(_), None) => None,
        };
        extents.push((name, offset, bytes));
    }
    let data_start = h.pos.div_ceil(alignment) * alignment;
    let data = len.saturating_sub(data_start);
    for (name, offset, bytes) in extents {
        let end = offset.saturating_add(bytes.unwrap_or(1));
        if end > data {
            return Err(bad(format!(
                "tensor {name:?} needs bytes {offset} to {end} of the data, but the file holds {data} bytes of data: the file is truncated"
            )));
        }
    }
    Ok(())
}

/// Longest metadata string kept for identification; longer values (chat templates) are skipped.
const MAX_KEPT_STRING: u64 = 64 * 1024;

impl Header {
    /// A string or integer value as text, for identification; other values are skipped.
    fn kept_value(&mut self, kind: u32) -> Result<Option<String>, FormatError> {
        match kind {
            TYPE_STRING => {
                let n = self.u64("a string length")?;
                if n > MAX_KEPT_STRING {
                    return self.skip(n, "a string").map(|_| None);
                }
                self.take(n, "a string")?;
                let mut buf = vec![0u8; n as usize];
                self.reader.read_exact(&mut buf)?;
                Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
            }
            TYPE_UINT32 => Ok(Some(self.u32("a value")?.to_string())),
            _ => self.value(kind, 0).map(|_| None),
        }
    }
}

/// The metadata (strings and u32 values) and tensor shapes of a GGUF file, shapes in PyTorch
/// order (GGUF stores them reversed). Call after [`check`] passed.
pub(super) fn read_header(file: File, len: u64) -> Result<super::ModelHeader, FormatError> {
    let mut h = Header {
        reader: BufReader::with_capacity(1 << 16, file),
        pos: 0,
        len,
    };
    if &h.array::<4>("the magic")? != b"GGUF" {
        return Err(FormatError::NotGguf);
    }
    h.u32("the version")?;
    let tensors = h.u64("the tensor count")?;
    let kvs = h.u64("the metadata count")?;
    // Each entry takes at least 8 bytes: a count beyond that is a broken file, refused before
    // walking it.
    if tensors.max(kvs) > len / 8 {
        return Err(bad("the tensor or metadata count is larger than the file"));
    }
    let mut out = super::ModelHeader::new(super::Format::Gguf);
    for _ in 0..kvs {
        let key = h.key()?;
        let kind = h.u32("a value type")?;
        if let Some(value) = h.kept_value(kind)? {
            out.metadata.insert(key, value);
        }
    }
    for _ in 0..tensors {
        let name = h.key()?;
        let dims = h.u32("a dimension count")?;
        if dims > MAX_DIMS {
            return Err(bad(format!("tensor {name:?} has {dims} dimensions")));
        }
        let mut shape = (0..dims)
            .map(|_| h.u64("a tensor dimension"))
            .collect::<Result<Vec<_>, _>>()?;
        shape.reverse();
        h.u32("a tensor type")?;
        h.u64("a tensor offset")?;
        out.tensors.insert(name, shape);
    }
    Ok(out)
}

/// Elements per block and bytes per block of a ggml tensor type, as the reference `gguf`
/// package lists them (`GGML_QUANT_SIZES`); `None` for a type this table does not know.
fn block_size(kind: u32) -> Option<(u64, u64)> {
    Some(match kind {
        0 => (1, 4),
        1 | 25 | 30 => (1, 2),
        2 | 20 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 40),
        10 => (256, 84),
        11 | 21 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        16 | 35 => (256, 66),
        17 => (256, 74),
        18 => (256, 98),
        19 => (256, 50),
        22 => (256, 82),
        23 => (256, 136),
        24 => (1, 1),
        26 => (1, 4),
        27 | 28 => (1, 8),
        29 => (256, 56),
        34 => (256, 54),
        39 => (32, 17),
        40 => (64, 36),
        41 => (128, 18),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{tests::check as check_bytes, Format, FormatError};

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }

    /// A GGUF v3 file: an architecture, a token array, one F32 tensor of four values.
    fn gguf() -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend(1u64.to_le_bytes());
        out.extend(2u64.to_le_bytes());
        string(&mut out, "general.architecture");
        out.extend(8u32.to_le_bytes());
        string(&mut out, "llama");
        string(&mut out, "tokenizer.ggml.tokens");
        out.extend(9u32.to_le_bytes());
        out.extend(8u32.to_le_bytes());
        out.extend(2u64.to_le_bytes());
        string(&mut out, "<s>");
        string(&mut out, "</s>");
        string(&mut out, "token_embd.weight");
        out.extend(1u32.to_le_bytes());
        out.extend(4u64.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(0u64.to_le_bytes());
        while !out.len().is_multiple_of(32) {
            out.push(0);
        }
        out.extend([0u8; 16]);
        out
    }

    fn check(bytes: &[u8]) -> Result<(), FormatError> {
        check_bytes(bytes, Format::Gguf)
    }

    #[test]
    fn a_whole_file_passes() {
        assert_eq!(check(&gguf()), Ok(()));
    }

    #[test]
    fn a_header_without_its_metadata_or_data_is_refused() {
        let whole = gguf();
        // Magic, version and counts only.
        assert!(matches!(
            check(&whole[..24]),
            Err(FormatError::GgufHeader(_))
        ));
        // Everything but the tensor data.
        let data_start = whole.len() - 16;
        let err = check(&whole[..data_start]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        // Half of the last tensor's data: a download that died near the end.
        let err = check(&whole[..whole.len() - 8]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn counts_and_lengths_cannot_point_past_the_end() {
        let mut huge_key = gguf();
        huge_key[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(check(&huge_key), Err(FormatError::GgufHeader(_))));
        let mut many = gguf();
        many[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(check(&many), Err(FormatError::GgufHeader(_))));
    }

    #[test]
    fn magic_and_version() {
        assert_eq!(check(b"GGML not really"), Err(FormatError::NotGguf));
        let mut v9 = gguf();
        v9[4] = 9;
        assert_eq!(check(&v9), Err(FormatError::GgufVersion(9)));
    }
}
