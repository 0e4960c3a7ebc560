//! greenline's search index: a tantivy index on disk, with Chinese analysis.
//!
//! This crate knows nothing about SQL or GraphQL: the service feeds it documents and asks it questions.

use std::path::{Path, PathBuf};

/// Bumped whenever the index schema or analysis changes; an index with another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("index directory {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Tantivy(#[from] tantivy::TantivyError),
}

/// An on-disk index directory.
pub struct SearchIndex {
    dir: PathBuf,
}

impl SearchIndex {
    /// Opens the index directory, creating it when missing.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir).map_err(|source| SearchError::Io { path: dir.to_owned(), source })?;
        Ok(SearchIndex { dir: dir.to_owned() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Readiness: the directory exists and is writable.
    pub fn check(&self) -> Result<(), SearchError> {
        let probe = self.dir.join(".readyz-probe");
        std::fs::write(&probe, b"ok")
            .and_then(|_| std::fs::remove_file(&probe))
            .map_err(|source| SearchError::Io { path: self.dir.clone(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_a_writable_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(&tmp.path().join("a/b")).unwrap();
        assert!(index.dir().is_dir());
        index.check().unwrap();
    }
}
