//! `greenline import proposals|techniques FILE`: the terminal side of `crate::import` — a progress bar with
//! rate and ETA on a terminal, plain lines in a log, every refusal with its line number, a summary, and the
//! exit status: 0 when every record was taken, 2 when some were refused (the good ones stay), 1 when the
//! import could not run.

use std::{
    io::IsTerminal,
    process::ExitCode,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressStyle};

use crate::{
    config::{Config, ImportArgs},
    db::Db,
    import::{Kind, Options, Progress, Refusal, Report},
};

struct Terminal {
    bar: Option<ProgressBar>,
    start: Instant,
    last_line: Instant,
}

impl Report for Terminal {
    fn refused(&mut self, r: &Refusal) {
        let line = format!("line {}: {}", r.line, r.reason);
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn progress(&mut self, p: &Progress<'_>) {
        let s = p.summary;
        let rate = s.read as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        match &self.bar {
            Some(bar) => {
                bar.set_length(p.bytes_total.max(p.bytes_read));
                bar.set_position(p.bytes_read);
                bar.set_message(format!("{} records, {rate:.0}/s, {} refused", s.read, s.refused));
            }
            None if self.last_line.elapsed() >= Duration::from_secs(5) => {
                self.last_line = Instant::now();
                let pct = 100.0 * p.bytes_read as f64 / p.bytes_total.max(1) as f64;
                eprintln!(
                    "import: {pct:.0}% of the file, {} records, {rate:.0} records/s, {} refused",
                    s.read, s.refused
                );
            }
            None => {}
        }
    }
}

fn encoding(args: &ImportArgs) -> anyhow::Result<Option<&'static encoding_rs::Encoding>> {
    Ok(match &args.encoding {
        Some(label) => Some(
            encoding_rs::Encoding::for_label(label.trim().as_bytes())
                .ok_or_else(|| anyhow::anyhow!("unknown encoding {label:?} (try utf-8, gbk or gb18030)"))?,
        ),
        None => None,
    })
}

/// `greenline import users FILE`: a roster, person by person (src/import/roster.rs).
pub async fn roster(config: Config, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let encoding = encoding(&args)?;
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let start = Instant::now();
    let mut report = |r: &Refusal| eprintln!("line {}: {}", r.line, r.reason);
    let summary =
        crate::import::roster::run(&db, &args.file, args.format, encoding, args.enterprise.as_deref(), &mut report)
            .await;
    db.close().await;
    let s = summary?;
    eprintln!(
        "imported {} in {:.1}s — {} people created, {} updated, {} unchanged, {} refused",
        args.file.display(),
        start.elapsed().as_secs_f64(),
        s.created,
        s.updated,
        s.unchanged,
        s.refused.len()
    );
    eprintln!(
        "名单导入完成：新增{}人，更新{}人，未变{}人，拒绝{}条",
        s.created,
        s.updated,
        s.unchanged,
        s.refused.len()
    );
    Ok(if s.refused.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

pub async fn run(config: Config, kind: Kind, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let encoding = encoding(&args)?;
    let opts = Options { format: args.format, encoding, batch: args.batch as usize, enterprise: args.enterprise };
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} import [{bar:40}] {bytes}/{total_bytes} {msg}, eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar
    });
    let mut report = Terminal { bar, start: Instant::now(), last_line: Instant::now() };
    let summary = crate::import::run(&db, &args.file, kind, &opts, &mut report).await;
    if let Some(bar) = &report.bar {
        bar.finish_and_clear();
    }
    db.close().await;
    let s = summary?;
    let secs = report.start.elapsed().as_secs_f64();
    if !s.ignored_columns.is_empty() {
        eprintln!("ignored columns (not import fields): {}", s.ignored_columns.join(", "));
    }
    eprintln!(
        "imported {}: {} records read ({}) in {secs:.1}s, {:.0} records/s — {} created, {} updated, {} unchanged, {} refused",
        args.file.display(),
        s.read,
        s.encoding,
        s.read as f64 / secs.max(1e-9),
        s.created,
        s.updated,
        s.unchanged,
        s.refused,
    );
    eprintln!(
        "导入完成：读取{}条，新增{}条，更新{}条，未变{}条，拒绝{}条",
        s.read, s.created, s.updated, s.unchanged, s.refused
    );
    Ok(if s.refused > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
