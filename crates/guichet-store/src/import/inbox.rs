//! The feed next to the server (`guichet serve --inbox DIR`): statement files dropped into a
//! folder are imported, then moved to `done/`, or to `failed/` with a `.reason` file beside
//! them. A file is taken once its size has stayed the same for one poll (a file still being
//! copied is left for the next), in name order; files whose name starts with a dot are
//! ignored (the usual temporary names of copies in progress).
//!
//! Only a refused file goes to `failed/`. One whose import failed because the database could
//! not take it (down, restarting, busy; a deadlock with another writer) stays where it is and
//! is imported again at the next poll: a failover does not send a night's statements to
//! `failed/`. A file gone between the listing and its reading or moving (taken by hand, or by
//! another instance watching the folder: the imports of an account wait for one another, and
//! a file imported twice changes nothing) is left alone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ImportSummary;
use super::statements::BankChoice;
use crate::Store;

/// What one import of the inbox did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboxPass {
    pub done: Vec<PathBuf>,
    pub failed: Vec<PathBuf>,
    /// Files left for the next poll: the database could not take them.
    pub kept: Vec<PathBuf>,
}

/// What became of one file.
enum Taken {
    Imported(ImportSummary),
    Refused(String),
    /// The database could not take it now: tried again at the next poll.
    Later(String),
    /// Gone before it was read (taken by hand or by another process).
    Gone,
}

/// An inbox folder and the sizes seen at the last poll.
pub struct Inbox {
    dir: PathBuf,
    banks: Vec<(String, String)>,
    seen: HashMap<PathBuf, u64>,
}

impl Inbox {
    /// `banks`: (code, BIC) of the banks served, to find each file's bank by its servicer.
    pub fn new(dir: &Path, banks: Vec<(String, String)>) -> std::io::Result<Inbox> {
        for sub in ["done", "failed"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        Ok(Inbox {
            dir: dir.to_owned(),
            banks,
            seen: HashMap::new(),
        })
    }

    /// Imports the files that are ready; answers where each went.
    pub async fn pass(&mut self, store: &Store) -> std::io::Result<InboxPass> {
        let mut ready = Vec::new();
        let mut sizes = HashMap::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if hidden || !entry.file_type()?.is_file() {
                continue;
            }
            let size = entry.metadata()?.len();
            if self.seen.get(&path) == Some(&size) {
                ready.push(path.clone());
            }
            sizes.insert(path, size);
        }
        self.seen = sizes;
        ready.sort();
        let mut pass = InboxPass::default();
        for path in ready {
            let name = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
            match self.take(store, &path).await {
                Taken::Imported(summary) => {
                    tracing::info!(file = %path.display(), added = summary.added, updated = summary.updated, "statement imported");
                    let to = self.dir.join("done").join(&name);
                    if moved(&path, &to)? {
                        pass.done.push(to);
                    }
                }
                Taken::Refused(reason) => {
                    tracing::warn!(file = %path.display(), %reason, "statement refused");
                    let to = self.dir.join("failed").join(&name);
                    if moved(&path, &to)? {
                        let mut why = to.clone().into_os_string();
                        why.push(".reason");
                        std::fs::write(PathBuf::from(why), format!("{reason}\n"))?;
                        pass.failed.push(to);
                    }
                }
                Taken::Later(reason) => {
                    // The next files would meet the same database: all are left to the next
                    // poll, which takes them without waiting for another sighting.
                    tracing::warn!(file = %path.display(), %reason, "statement kept for the next look: the database cannot take it now");
                    pass.kept.push(path);
                    break;
                }
                Taken::Gone => {}
            }
            self.seen.remove(&path);
        }
        Ok(pass)
    }

    /// Imports one file.
    async fn take(&self, store: &Store, path: &Path) -> Taken {
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Taken::Gone,
            Err(e) => return Taken::Refused(e.to_string()),
        };
        let input = std::io::BufReader::with_capacity(64 * 1024, file);
        match store
            .import_statement(input, BankChoice::ByBic(&self.banks))
            .await
        {
            Ok(summary) => Taken::Imported(summary),
            Err(error) if error.is_transient() => Taken::Later(error.to_string()),
            Err(error) => Taken::Refused(error.to_string()),
        }
    }

    /// Polls every `period` until `stop` turns true.
    pub async fn run(
        mut self,
        store: Store,
        period: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            if let Err(error) = self.pass(&store).await {
                tracing::error!(dir = %self.dir.display(), %error, "the inbox cannot be read");
            }
            if !rested(period, &mut stop).await {
                return;
            }
        }
    }

    /// Connects to the database at `url` with connections of its own (two), then polls
    /// ([`Inbox::run`]). The database may be out of reach at the start (a failover): the
    /// connection is tried again every period, as the files are.
    pub async fn run_on(
        self,
        url: &crate::DatabaseUrl,
        period: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            match Store::connect(url, 2).await {
                Ok(store) => return self.run(store, period, stop).await,
                Err(error) => {
                    tracing::error!(%error, "the inbox cannot reach the database; trying again")
                }
            }
            if !rested(period, &mut stop).await {
                return;
            }
        }
    }
}

/// Waits `period`; false if `stop` changed meanwhile.
async fn rested(period: Duration, stop: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(period) => true,
        _ = stop.changed() => false,
    }
}

/// Moves a file; false if it was no longer there (taken by hand or by another process). A
/// folder `to` that is missing (`done/` or `failed/` deleted) is an error, as any other.
fn moved(from: &Path, to: &Path) -> std::io::Result<bool> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && from.symlink_metadata().is_err() => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(all(test, feature = "test-support"))]
mod tests;
