//! `greenline import proposals|techniques FILE`: bring existing spreadsheets and catalogues in.
//!
//! A reader thread streams records from the file (`source`); this side validates each one (`fields`), and
//! writes the good ones in batches, one transaction per batch, each change with its event and change-feed
//! row — so a server running on the same database indexes them through the feed, as it does its own writes.
//! Records are matched by `external_id` (or, without one, by exact title and body / by technique name): a
//! second import of the same file finds everything in place and changes nothing. A record that cannot be
//! taken is refused with its line number and the reason; the rest still go in.

mod fields;
pub mod roster;
mod source;

use std::{
    collections::HashMap,
    path::Path,
    sync::{atomic::Ordering, Arc},
};

use chrono::{DateTime, Utc};
use encoding_rs::Encoding;
pub use source::Format;

use self::fields::Fields;
use crate::{
    db::{
        rows::{ProposalRow, TechniqueRow},
        store::{ImportedExtras, NewEvent, NewProposal, NewTechnique, ProposalDates, Store},
        Db,
    },
    domain::{
        lifecycle::Status,
        organisation::Industry,
        proposal::{validate_text, Category},
        savings::{Rate, Savings, SavingsKind},
    },
    error::AppResult,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Proposals,
    Techniques,
    /// A roster of people (`greenline import users`, src/import/roster.rs).
    Users,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// JSON Lines or CSV; from the file name when `None`.
    pub format: Option<Format>,
    /// Detected from a byte-order mark or the first 64 KiB when `None`.
    pub encoding: Option<&'static Encoding>,
    /// Records per transaction.
    pub batch: usize,
    /// The enterprise (by name) of proposal records that do not name one.
    pub enterprise: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options { format: None, encoding: None, batch: 500, enterprise: None }
    }
}

/// A record that was not taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub line: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub read: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub refused: u64,
    /// The first `MAX_KEPT_REFUSALS` refusals (all of them are passed to the caller as they happen).
    pub refusals: Vec<Refusal>,
    pub encoding: &'static str,
    pub ignored_columns: Vec<String>,
}

const MAX_KEPT_REFUSALS: usize = 1000;

/// How far the import is: bytes of the file read, and the running summary.
pub struct Progress<'a> {
    pub bytes_read: u64,
    pub bytes_total: u64,
    pub summary: &'a Summary,
}

/// What the caller hears while the import runs.
pub trait Report: Send {
    fn refused(&mut self, r: &Refusal);
    fn progress(&mut self, p: &Progress<'_>);
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Imports `path` into `db`. Fails only when the file cannot be read at all or the database is gone;
/// bad records are refusals in the summary.
pub async fn run(db: &Db, path: &Path, kind: Kind, opts: &Options, report: &mut dyn Report) -> anyhow::Result<Summary> {
    let format = opts.format.unwrap_or_else(|| Format::of(path));
    let source = source::Source::open(path, kind, format, opts.encoding)?;
    let mut summary = Summary {
        encoding: source.encoding.name(),
        ignored_columns: source.ignored_columns.clone(),
        ..Summary::default()
    };
    let (bytes_read, bytes_total) = (source.bytes_read.clone(), source.size);
    let context = Arc::new(Context::load(db, opts).await?);

    // Reading, parsing and checking run on their own thread, a couple of batches ahead of the writer: memory
    // stays bounded, and the writer does nothing but write.
    let batch = opts.batch.max(1);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Result<Record, Refusal>>>(2);
    let checker = context.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut source = source;
        loop {
            let chunk: Vec<_> = source
                .by_ref()
                .take(batch)
                .map(|raw| {
                    let line = raw.line;
                    raw.fields.and_then(|f| checker.check(kind, line, &f)).map_err(|reason| Refusal { line, reason })
                })
                .collect();
            if chunk.is_empty() || tx.blocking_send(chunk).is_err() {
                break;
            }
        }
    });

    let now = Utc::now();
    let label: Arc<str> = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default().into();
    while let Some(chunk) = rx.recv().await {
        let mut good = Vec::with_capacity(chunk.len());
        for checked in chunk {
            summary.read += 1;
            match checked {
                Ok(record) => good.push(record),
                Err(refusal) => refuse(&mut summary, report, refusal),
            }
        }
        for (line, outcome) in write_batch(db, &context, good, now, &label).await? {
            match outcome {
                Ok(Outcome::Created) => summary.created += 1,
                Ok(Outcome::Updated) => summary.updated += 1,
                Ok(Outcome::Unchanged) => summary.unchanged += 1,
                Err(reason) => refuse(&mut summary, report, Refusal { line, reason }),
            }
        }
        report.progress(&Progress { bytes_read: bytes_read.load(Ordering::Relaxed), bytes_total, summary: &summary });
    }
    reader.await?;
    if summary.created + summary.updated >= FRESH_STATISTICS_AFTER {
        db.refresh_statistics().await?;
    }
    Ok(summary)
}

/// Rows written by one import after which the planner's statistics are refreshed at its end. PostgreSQL's
/// autovacuum would get to it within a minute or so; until then it plans for the tables as they were (a
/// page of 20 proposals right after importing 100,000: 14–15 ms instead of 0.1–0.3 ms).
const FRESH_STATISTICS_AFTER: u64 = 1_000;

fn refuse(summary: &mut Summary, report: &mut dyn Report, r: Refusal) {
    summary.refused += 1;
    report.refused(&r);
    if summary.refusals.len() < MAX_KEPT_REFUSALS {
        summary.refusals.push(r);
    }
}

/// Writes a batch in one transaction. Should the database refuse one of them (a constraint a check here
/// did not foresee), the batch is rolled back and written record by record, so that only that one is refused.
async fn write_batch(
    db: &Db,
    context: &Context,
    records: Vec<Record>,
    now: DateTime<Utc>,
    label: &Arc<str>,
) -> anyhow::Result<Vec<(u64, Result<Outcome, String>)>> {
    if records.is_empty() {
        return Ok(vec![]);
    }
    let records = Arc::new(records);
    let together = {
        let (records, rates, label) = (records.clone(), context.rates.clone(), label.clone());
        db.write(move |store| {
            Box::pin(async move {
                let outcomes = apply(store, &records, &rates, now, &label).await?;
                Ok(records.iter().map(|r| r.line()).zip(outcomes.into_iter().map(Ok)).collect::<Vec<_>>())
            })
        })
        .await
    };
    match together {
        Ok(out) => Ok(out),
        Err(e) if db.is_closed() => Err(anyhow::anyhow!(e.public_message())),
        Err(_) => {
            let mut out = Vec::new();
            for i in 0..records.len() {
                let (records, rates, label) = (records.clone(), context.rates.clone(), label.clone());
                let line = records[i].line();
                let one = db
                    .write(move |store| {
                        Box::pin(async move { apply(store, &records[i..=i], &rates, now, &label).await })
                    })
                    .await;
                out.push((line, one.map(|mut o| o.remove(0)).map_err(|e| e.public_message())));
            }
            Ok(out)
        }
    }
}

/// What every record of one import is checked against, loaded once.
struct Context {
    /// Enterprise name → (id, industry).
    enterprises: HashMap<String, (i64, Industry)>,
    default_enterprise: Option<(i64, Industry)>,
    rates: Arc<(i64, Vec<Rate>)>,
}

impl Context {
    async fn load(db: &Db, opts: &Options) -> anyhow::Result<Context> {
        let enterprises: HashMap<String, (i64, Industry)> = db
            .enterprises()
            .await
            .map_err(|e| anyhow::anyhow!(e.public_message()))?
            .into_iter()
            .map(|e| (e.name, (e.id, Industry::parse(&e.industry).unwrap_or(Industry::Other))))
            .collect();
        let default_enterprise = match &opts.enterprise {
            Some(name) => Some(
                *enterprises
                    .get(name.trim())
                    .ok_or_else(|| anyhow::anyhow!("no enterprise is named {name:?} / 没有名为{name}的企业"))?,
            ),
            None => None,
        };
        let rates = db
            .read(|s| Box::pin(async move { crate::journey::current_rates(s).await }))
            .await
            .map_err(|e| anyhow::anyhow!(e.public_message()))?;
        Ok(Context { enterprises, default_enterprise, rates: Arc::new(rates) })
    }

    fn check(&self, kind: Kind, line: u64, f: &Fields) -> Result<Record, String> {
        match kind {
            Kind::Proposals => self.check_proposal(line, f).map(Record::Proposal),
            Kind::Techniques => check_technique(line, f).map(Record::Technique),
            Kind::Users => Err("people are imported by `greenline import users`".into()),
        }
    }

    fn check_proposal(&self, line: u64, f: &Fields) -> Result<ProposalRecord, String> {
        let title = fields::required(f, "title")?;
        let body = fields::required(f, "body")?;
        let tags = fields::list(f, "tags")?;
        validate_text(&title, &body, &tags).map_err(|(_, msg)| msg)?;
        let external_id = external_id(f)?;
        let category = match fields::text(f, "category")? {
            Some(c) => Some(category(&c).ok_or_else(|| {
                format!("unknown category {c:?}; one of {} or 节能降耗, 绿色工艺… / 未知类别", Category::names())
            })?),
            None => None,
        };
        let industry = match fields::text(f, "industry")? {
            Some(i) => Some(industry(&i).ok_or_else(|| {
                format!("unknown industry {i:?}; one of {} or 机械, 冶金, 建材 / 未知行业", Industry::names())
            })?),
            None => None,
        };
        let enterprise = match fields::text(f, "enterprise")? {
            Some(name) => Some(*self.enterprises.get(&name).ok_or_else(|| {
                format!("no enterprise is named {name:?}; create it first or fix the name / 没有名为{name}的企业")
            })?),
            None => self.default_enterprise,
        };
        let status = match fields::text(f, "status")? {
            Some(s) => {
                status(&s).ok_or_else(|| format!("unknown status {s:?}; one of {} / 未知状态", Status::names()))?
            }
            None => Status::Submitted,
        };
        let expected = fields::savings(f, "savings")?;
        let verified = fields::savings(f, "verified_savings")?;
        if matches!(status, Status::Adopted | Status::Promoted) && verified.is_none() {
            return Err(format!(
                "status {status} needs the measured savings (verified_savings), as on the platform / 已采用的建议须附实测节约量"
            ));
        }
        let authors = fields::list(f, "authors")?;
        if authors.len() > 11 || authors.iter().any(|a| a.chars().count() > 100) {
            return Err("at most 11 authors of at most 100 characters each / 作者最多11人，每人姓名不超过100字".into());
        }
        let mut dates = ProposalDates {
            submitted_at: fields::datetime(f, "submitted_at")?,
            decided_at: fields::datetime(f, "decided_at")?,
            adopted_at: fields::datetime(f, "adopted_at")?,
        };
        if status == Status::Draft {
            dates = ProposalDates::default();
        } else if dates.submitted_at.is_none() {
            dates.submitted_at = Some(Utc::now());
        }
        if let (Some(s), Some(d)) = (dates.submitted_at, dates.decided_at) {
            if d < s {
                return Err("decided_at is before submitted_at / 决定时间早于提交时间".into());
            }
        }
        Ok(ProposalRecord {
            line,
            external_id,
            title,
            body,
            category,
            industry: industry.or(enterprise.map(|e| e.1)),
            enterprise_id: enterprise.map(|e| e.0),
            status,
            dates,
            tags: if f.contains_key("tags") { Some(tags) } else { None },
            authors,
            expected,
            verified,
        })
    }
}

fn external_id(f: &Fields) -> Result<Option<String>, String> {
    let ext = fields::text(f, "external_id")?;
    if ext.as_ref().is_some_and(|e| e.chars().count() > 200) {
        return Err("external_id must be at most 200 characters / 外部编号不超过200字".into());
    }
    Ok(ext)
}

fn check_technique(line: u64, f: &Fields) -> Result<TechniqueRecord, String> {
    let name = fields::required(f, "name")?;
    if name.chars().count() > 200 {
        return Err("name must be at most 200 characters / 名称不超过200字".into());
    }
    let industry = match fields::text(f, "industry")? {
        Some(i) => industry(&i).ok_or_else(|| {
            format!("unknown industry {i:?}; one of {} or 机械, 冶金, 建材 / 未知行业", Industry::names())
        })?,
        None => Industry::Other,
    };
    let long = |key: &str| -> Result<String, String> {
        let v = fields::text(f, key)?.unwrap_or_default();
        if v.chars().count() > 20_000 {
            return Err(format!("{key} must be at most 20000 characters / {key}不超过20000字"));
        }
        Ok(v)
    };
    Ok(TechniqueRecord {
        line,
        external_id: external_id(f)?,
        name,
        industry,
        scope: long("scope")?,
        principle: long("principle")?,
        key_parameters: long("key_parameters")?,
        typical_case: long("typical_case")?,
        effect: long("effect")?,
        investment_yuan: fields::number(f, "investment_yuan")?,
        payback_years: fields::number(f, "payback_years")?,
        promotion_potential: long("promotion_potential")?,
    })
}

/// A category by its code or its Chinese name.
fn category(s: &str) -> Option<Category> {
    Category::parse(&s.to_ascii_uppercase()).or(match s {
        "节能降耗" | "节能" => Some(Category::EnergySaving),
        "绿色工艺" => Some(Category::GreenProcess),
        "清洁生产" => Some(Category::CleanProduction),
        "循环经济" => Some(Category::CircularEconomy),
        "减排降碳" | "节能减排" => Some(Category::EmissionReduction),
        "安全" => Some(Category::Safety),
        "质量" => Some(Category::Quality),
        "其他" => Some(Category::Other),
        _ => None,
    })
}

fn industry(s: &str) -> Option<Industry> {
    Industry::parse(&s.to_ascii_uppercase()).or(match s {
        "机械" | "机械制造" => Some(Industry::Machinery),
        "冶金" | "钢铁" => Some(Industry::Metallurgy),
        "建材" | "建筑材料" => Some(Industry::BuildingMaterials),
        "其他" => Some(Industry::Other),
        _ => None,
    })
}

fn status(s: &str) -> Option<Status> {
    Status::parse(&s.to_ascii_uppercase()).or(match s {
        "草稿" => Some(Status::Draft),
        "已提交" => Some(Status::Submitted),
        "评审中" => Some(Status::Evaluating),
        "退回" | "已退回" => Some(Status::Returned),
        "未采纳" | "已驳回" => Some(Status::Rejected),
        "已采纳" => Some(Status::Accepted),
        "试点中" | "孵化中" => Some(Status::Incubating),
        "已实施" | "已应用" => Some(Status::Adopted),
        "已推广" => Some(Status::Promoted),
        "已撤回" => Some(Status::Withdrawn),
        _ => None,
    })
}

enum Record {
    Proposal(ProposalRecord),
    Technique(TechniqueRecord),
}

impl Record {
    fn line(&self) -> u64 {
        match self {
            Record::Proposal(p) => p.line,
            Record::Technique(t) => t.line,
        }
    }
}

struct ProposalRecord {
    line: u64,
    external_id: Option<String>,
    title: String,
    body: String,
    category: Option<Category>,
    industry: Option<Industry>,
    enterprise_id: Option<i64>,
    status: Status,
    dates: ProposalDates,
    /// `None` when the record does not carry tags (they are then left as they are).
    tags: Option<Vec<String>>,
    authors: Vec<String>,
    expected: Option<Savings>,
    verified: Option<Savings>,
}

struct TechniqueRecord {
    line: u64,
    external_id: Option<String>,
    name: String,
    industry: Industry,
    scope: String,
    principle: String,
    key_parameters: String,
    typical_case: String,
    effect: String,
    investment_yuan: Option<f64>,
    payback_years: Option<f64>,
    promotion_potential: String,
}

/// Applies records in order, in the caller's transaction. Proposals are looked up by external id for the
/// whole batch in one query; a record matching one created earlier in the batch matches that one.
async fn apply(
    store: &mut dyn Store,
    records: &[Record],
    rates: &(i64, Vec<Rate>),
    now: DateTime<Utc>,
    label: &str,
) -> AppResult<Vec<Outcome>> {
    let ext: Vec<String> = records
        .iter()
        .filter_map(|r| match r {
            Record::Proposal(p) => p.external_id.clone(),
            Record::Technique(_) => None,
        })
        .collect();
    let mut known: HashMap<String, ProposalRow> = store
        .proposals_by_external_ids(&ext)
        .await?
        .into_iter()
        .filter_map(|p| Some((p.external_id.clone()?, p)))
        .collect();
    let mut pending = Vec::new();
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        out.push(match r {
            Record::Proposal(p) => apply_proposal(store, p, &mut known, &mut pending, rates, now, label).await?,
            Record::Technique(t) => apply_technique(store, t, now).await?,
        });
    }
    store.finish_imported(&pending, now).await?;
    Ok(out)
}

async fn apply_proposal(
    store: &mut dyn Store,
    r: &ProposalRecord,
    known: &mut HashMap<String, ProposalRow>,
    pending: &mut Vec<ImportedExtras>,
    rates: &(i64, Vec<Rate>),
    now: DateTime<Utc>,
    label: &str,
) -> AppResult<Outcome> {
    let existing = match &r.external_id {
        Some(ext) => known.get(ext).cloned(),
        None => store.proposal_by_text(&r.title, &r.body).await?,
    };
    let reason = format!("imported from {label}, line {} / 导入", r.line);
    match existing {
        None => {
            let row = store
                .insert_proposal(
                    &NewProposal {
                        external_id: r.external_id.clone(),
                        title: r.title.clone(),
                        body: r.body.clone(),
                        category: r.category.unwrap_or(Category::Other).as_str().to_owned(),
                        industry: r.industry.unwrap_or(Industry::Other).as_str().to_owned(),
                        tags: tags_json(r.tags.as_deref().unwrap_or(&[])),
                        enterprise_id: r.enterprise_id,
                        team_id: None,
                        created_by: None,
                        on_behalf_of: None,
                        status: r.status,
                        idempotency_key: None,
                        now,
                    },
                    &r.dates,
                )
                .await?;
            // Authors, savings, event and change-feed row follow for the whole batch (`finish_imported`).
            pending.push(ImportedExtras {
                proposal_id: row.id,
                status: r.status,
                authors: r.authors.clone(),
                savings: [(SavingsKind::Expected, r.expected), (SavingsKind::Verified, r.verified)]
                    .into_iter()
                    .filter_map(|(kind, s)| Some((kind, s?.convert(rates.0, &rates.1))))
                    .collect(),
                reason,
            });
            if let Some(ext) = &r.external_id {
                known.insert(ext.clone(), row);
            }
            Ok(Outcome::Created)
        }
        Some(row) => {
            // A record matching one created earlier in this batch: write what that one still owes first.
            if pending.iter().any(|x| x.proposal_id == row.id) {
                store.finish_imported(pending, now).await?;
                pending.clear();
            }
            // Only what the record carries is compared and replaced; the lifecycle is the platform's.
            let category = r.category.map(|c| c.as_str().to_owned()).unwrap_or_else(|| row.category.clone());
            let industry = r.industry.map(|i| i.as_str().to_owned()).unwrap_or_else(|| row.industry.clone());
            let tags = r.tags.as_deref().map(tags_json).unwrap_or_else(|| row.tags.clone());
            let text_changed = row.title != r.title
                || row.body != r.body
                || row.category != category
                || row.industry != industry
                || row.tags != tags;
            let savings_changed = match r.expected {
                Some(s) => {
                    store.savings(row.id, SavingsKind::Expected).await?.map(|x| x.converted().savings) != Some(s)
                }
                None => false,
            };
            if !text_changed && !savings_changed {
                return Ok(Outcome::Unchanged);
            }
            store.update_text(row.id, &r.title, &r.body, &category, &industry, &tags).await?;
            if let (true, Some(s)) = (savings_changed, r.expected) {
                store.put_savings(row.id, SavingsKind::Expected, &s.convert(rates.0, &rates.1), None, now).await?;
            }
            store.touch_proposal(row.id, now).await?;
            updated_event(store, &row, &reason, now).await?;
            store.feed("proposal", row.id, now).await?;
            if let Some(ext) = &r.external_id {
                let fresh = store.proposal(row.id).await?;
                known.extend(fresh.map(|p| (ext.clone(), p)));
            }
            Ok(Outcome::Updated)
        }
    }
}

/// The event of an import that changed an existing proposal.
async fn updated_event(store: &mut dyn Store, row: &ProposalRow, reason: &str, now: DateTime<Utc>) -> AppResult<()> {
    let status = row.status();
    store
        .insert_event(&NewEvent {
            proposal_id: row.id,
            kind: "IMPORT_UPDATED",
            actor_id: None,
            from_status: Some(status),
            to_status: status,
            from_version: row.version,
            reason: Some(reason),
            content: None,
            now,
        })
        .await?;
    Ok(())
}

fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
}

async fn apply_technique(store: &mut dyn Store, r: &TechniqueRecord, now: DateTime<Utc>) -> AppResult<Outcome> {
    let existing = match &r.external_id {
        Some(ext) => store.technique_by_external_id(ext).await?,
        None => store.technique_by_name(&r.name).await?,
    };
    let new = NewTechnique {
        external_id: r.external_id.clone(),
        name: r.name.clone(),
        industry: r.industry.as_str().to_owned(),
        scope: r.scope.clone(),
        principle: r.principle.clone(),
        key_parameters: r.key_parameters.clone(),
        typical_case: r.typical_case.clone(),
        effect: r.effect.clone(),
        investment_yuan: r.investment_yuan,
        payback_years: r.payback_years,
        promotion_potential: r.promotion_potential.clone(),
        created_by: None,
        now,
    };
    let outcome = match existing {
        None => {
            let row = store.insert_technique(&new).await?;
            store.feed("technique", row.id, now).await?;
            Outcome::Created
        }
        Some(row) if same_technique(&row, &new) => Outcome::Unchanged,
        Some(row) => {
            store.update_technique(row.id, &new).await?;
            store.feed("technique", row.id, now).await?;
            Outcome::Updated
        }
    };
    Ok(outcome)
}

fn same_technique(row: &TechniqueRow, t: &NewTechnique) -> bool {
    row.name == t.name
        && row.industry == t.industry
        && row.scope == t.scope
        && row.principle == t.principle
        && row.key_parameters == t.key_parameters
        && row.typical_case == t.typical_case
        && row.effect == t.effect
        && row.investment_yuan == t.investment_yuan
        && row.payback_years == t.payback_years
        && row.promotion_potential == t.promotion_potential
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_chinese_names() {
        assert_eq!(category("energy_saving"), Some(Category::EnergySaving));
        assert_eq!(category("循环经济"), Some(Category::CircularEconomy));
        assert_eq!(category("绿色"), None);
        assert_eq!(industry("建材"), Some(Industry::BuildingMaterials));
        assert_eq!(industry("METALLURGY"), Some(Industry::Metallurgy));
        assert_eq!(status("已采纳"), Some(Status::Accepted));
        assert_eq!(status("adopted"), Some(Status::Adopted));
        assert_eq!(status("done"), None);
    }
}
