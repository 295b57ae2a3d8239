//! Writing files so that a reader never sees half of one.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, synced, then
/// renamed over the target, so a reader never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Why a file could not be read as text, and where in it (1-based line and column) when the
/// trouble is in its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct TextError {
    pub at: Option<(u32, u32)>,
    pub message: String,
}

/// Reads a UTF-8 text file (a byte-order mark is skipped). A folder, a binary file or another
/// encoding is refused with what it is and, for bad bytes, their line and column.
pub fn read_text(path: &Path) -> Result<String, TextError> {
    let plain = |message: String| TextError { at: None, message };
    if path.is_dir() {
        return Err(plain(format!("{} is a folder, not a file", path.display())));
    }
    let bytes =
        std::fs::read(path).map_err(|e| plain(format!("cannot read {}: {e}", path.display())))?;
    text_of(bytes).map_err(|(at, message)| TextError {
        at,
        message: format!("{}: {message}", path.display()),
    })
}

/// The text of a file's bytes: UTF-8, with a byte-order mark skipped.
fn text_of(mut bytes: Vec<u8>) -> Result<String, (Option<(u32, u32)>, String)> {
    if bytes.starts_with(&[0xef, 0xbb, 0xbf]) {
        bytes.drain(..3);
    }
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err((Some((1, 1)), "the file is UTF-16; save it as UTF-8".into()));
    }
    if let Some(i) = bytes.iter().position(|b| *b == 0) {
        let (line, col) = line_col(&String::from_utf8_lossy(&bytes[..i]));
        return Err((
            Some((line, col)),
            "a NUL byte: this is a binary file, not a text file".into(),
        ));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let good = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let before = std::str::from_utf8(&bytes[..good]).expect("valid up to here");
            let (line, col) = line_col(before);
            Err((
                Some((line, col)),
                format!(
                    "byte 0x{:02x} is not UTF-8 (a Latin-1 or other 8-bit encoding?); save the file as UTF-8",
                    bytes[good]
                ),
            ))
        }
    }
}

/// The 1-based line and column just after `before`.
fn line_col(before: &str) -> (u32, u32) {
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_skips_a_bom_and_locates_bad_bytes() {
        assert_eq!(text_of(b"\xef\xbb\xbf(a: 1)".to_vec()).unwrap(), "(a: 1)");
        let (at, m) = text_of(b"(\n  name: \"caf\xe9\")".to_vec()).unwrap_err();
        assert_eq!(at, Some((2, 13)));
        assert!(m.contains("0xe9"), "{m}");
        let (at, m) = text_of(b"\xff\xfe(\0".to_vec()).unwrap_err();
        assert_eq!(at, Some((1, 1)));
        assert!(m.contains("UTF-16"), "{m}");
        let (at, m) = text_of(b"ab\ncd\0ef".to_vec()).unwrap_err();
        assert_eq!(at, Some((2, 3)));
        assert!(m.contains("binary"), "{m}");
    }
}
