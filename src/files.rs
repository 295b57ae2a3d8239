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

/// What scalesim writes in a result folder: its outputs and the journal of unfinished runs.
/// A folder holding anything else is not replaced (it may be the user's own).
pub const RESULT_ENTRIES: [&str; 7] = [
    "summary.json",
    "runs.csv",
    "timeseries.csv",
    "report.html",
    "plots",
    "plan.json",
    "units",
];

/// The staging folder beside `dir` where its next version is written, and the name its old
/// version takes while the new one is swapped in.
fn siblings(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "results".into());
    let parent = dir.parent().unwrap_or(Path::new("."));
    (
        parent.join(format!(".{name}.staging")),
        parent.join(format!(".{name}.old")),
    )
}

/// Gets `dir` ready to be a result folder: finishes or undoes a swap a killed process left
/// half done, removes its staging folder, and refuses a folder holding files scalesim did
/// not write.
pub fn prepare_result_folder(dir: &Path) -> Result<(), String> {
    let (staging, old) = siblings(dir);
    let fail =
        |what: &str, p: &Path, e: std::io::Error| format!("cannot {what} {}: {e}", p.display());
    if old.exists() {
        if dir.exists() {
            // Killed after the new folder was in place: the old one is garbage.
            std::fs::remove_dir_all(&old).map_err(|e| fail("remove", &old, e))?;
        } else {
            // Killed between the two renames: the old folder (and its journal) comes back.
            std::fs::rename(&old, dir).map_err(|e| fail("restore", dir, e))?;
        }
    }
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| fail("remove", &staging, e))?;
    }
    if dir.is_file() {
        return Err(format!("{} is a file, not a result folder", dir.display()));
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(()); // not there yet
    };
    let foreign: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !RESULT_ENTRIES.contains(&n.as_str()) && !is_temporary(n))
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    let mut foreign = foreign;
    foreign.sort();
    Err(format!(
        "{} holds files scalesim did not write ({}): it would replace them; choose another --out, or empty it",
        dir.display(),
        foreign.iter().take(5).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    ))
}

/// A temporary file of [`write_atomic`] that a killed process left, or what a file browser
/// leaves in a folder it showed: replaced with the folder, never a reason to refuse it.
fn is_temporary(name: &str) -> bool {
    (name.starts_with('.') && name.ends_with(".tmp"))
        || matches!(name, ".DS_Store" | "Thumbs.db" | "desktop.ini")
}

/// Writes a result folder whole or not at all: `write` fills a staging folder beside `dir`,
/// which then replaces `dir` (files of an earlier run included) in two renames. A process
/// killed on the way leaves `dir` as it was (or already new); [`prepare_result_folder`]
/// tidies what is left.
pub fn write_whole(
    dir: &Path,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    prepare_result_folder(dir)?;
    let (staging, old) = siblings(dir);
    let fail =
        |what: &str, p: &Path, e: std::io::Error| format!("cannot {what} {}: {e}", p.display());
    std::fs::create_dir_all(&staging).map_err(|e| fail("create", &staging, e))?;
    write(&staging)?;
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| fail("move aside", dir, e))?;
    }
    std::fs::rename(&staging, dir).map_err(|e| fail("move into place", dir, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| fail("remove", &old, e))?;
    }
    Ok(())
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

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("scalesim-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_folder_is_replaced_whole() {
        let root = scratch("whole");
        let dir = root.join("out");
        std::fs::create_dir_all(dir.join("plots")).unwrap();
        std::fs::write(dir.join("plots/old.svg"), "old").unwrap();
        std::fs::write(dir.join("runs.csv"), "old").unwrap();
        write_whole(&dir, |d| {
            std::fs::write(d.join("runs.csv"), "new").map_err(|e| e.to_string())
        })
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("runs.csv")).unwrap(),
            "new"
        );
        assert!(
            !dir.join("plots").exists(),
            "an earlier run's plots are gone"
        );
        let left: Vec<_> = std::fs::read_dir(&root).unwrap().collect();
        assert_eq!(left.len(), 1, "no staging or old folder is left");
        // A failed write leaves the folder as it was.
        let e = write_whole(&dir, |_| Err("killed".into())).unwrap_err();
        assert_eq!(e, "killed");
        assert_eq!(
            std::fs::read_to_string(dir.join("runs.csv")).unwrap(),
            "new"
        );
    }

    #[test]
    fn a_half_done_swap_is_undone_or_finished() {
        let root = scratch("swap");
        let dir = root.join("out");
        let (staging, old) = siblings(&dir);
        // Killed between the renames: the old folder comes back, the staging goes.
        std::fs::create_dir_all(old.join("units")).unwrap();
        std::fs::create_dir_all(&staging).unwrap();
        prepare_result_folder(&dir).unwrap();
        assert!(dir.join("units").exists() && !old.exists() && !staging.exists());
        // Killed after: the old one is removed.
        std::fs::create_dir_all(&old).unwrap();
        prepare_result_folder(&dir).unwrap();
        assert!(dir.exists() && !old.exists());
        // A file browser's droppings do not stop a run; someone else's files do.
        std::fs::write(dir.join(".DS_Store"), "").unwrap();
        prepare_result_folder(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let e = prepare_result_folder(&dir).unwrap_err();
        assert!(e.contains("`notes.txt`"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }

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
