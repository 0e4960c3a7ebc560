//! `greenline reindex`: rebuild the search index from the database, with a progress bar.
//! The server keeps its index in step by itself; this is for repair or after restoring a backup.
//! It needs the index to itself: stop the server that uses this index directory first.

use std::{io::IsTerminal, process::ExitCode, sync::Arc, time::Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::{config::Config, db::Db};

pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let index = Arc::new(search_index::SearchIndex::open(&config.index_dir).context("opening the search index")?);
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} reindex [{bar:40}] {pos}/{len} documents, {per_sec}, eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Some(bar)
    } else {
        None
    };
    let start = Instant::now();
    let last_line = std::sync::atomic::AtomicU64::new(0);
    let done = crate::search::rebuild(&db, &index, |done, total| match &bar {
        Some(bar) => {
            bar.set_length(total);
            bar.set_position(done);
        }
        None => {
            // Plain lines for logs: one per 10%.
            let step = (total / 10).max(1);
            if done / step > last_line.load(std::sync::atomic::Ordering::Relaxed) || done == total {
                last_line.store(done / step, std::sync::atomic::Ordering::Relaxed);
                eprintln!("reindex: {done}/{total} documents");
            }
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!(e.public_message()))?;
    if let Some(bar) = bar {
        bar.finish();
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!("reindexed {done} documents in {secs:.1}s ({:.0} documents/s)", done as f64 / secs.max(1e-9));
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
