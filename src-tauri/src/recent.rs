//! The recent workspaces list, kept in the app's config folder (a shell
//! concern: which folders this person opened, newest first).

use std::path::Path;

const MAX: usize = 10;

/// Reads the list; a missing or unreadable file is an empty list.
pub fn load(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// Puts `dir` first and saves the list.
pub fn remember(file: &Path, dir: &str) -> std::io::Result<Vec<String>> {
    let mut list = load(file);
    list.retain(|d| d != dir);
    list.insert(0, dir.to_string());
    list.truncate(MAX);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(file, serde_json::to_string_pretty(&list)?)?;
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("recent.json");
        remember(&file, "/a").unwrap();
        remember(&file, "/b").unwrap();
        let list = remember(&file, "/a").unwrap();
        assert_eq!(
            list,
            vec!["/a".to_string(), "/b".to_string()],
            "reopening a workspace moves it to the top instead of listing it twice"
        );
        assert_eq!(load(&file), list, "the list survives a restart");
    }
}
