//! Reading an import file as a stream of records: JSON Lines or CSV, in UTF-8 (with or without a byte-order
//! mark) or GBK/GB18030 (what Chinese Excel writes), one record at a time so memory stays flat however big the
//! file is. Each record is a JSON object with the field names of PRODUCT.md; CSV headers in Chinese or in the
//! export's spelling are mapped onto them here, so validation sees one shape.

use std::{
    fs::File,
    io::{BufRead, BufReader, Cursor, Read},
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use encoding_rs::{Encoding, GB18030, UTF_8};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};
use serde_json::{Map, Value};

use super::Kind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

impl Format {
    /// From the file name: `.csv` is CSV, anything else JSON Lines.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") | Some("tsv") | Some("txt") => Format::Csv,
            _ => Format::Jsonl,
        }
    }
}

/// One record read from the file: the line it starts on and its fields, or why it could not be read.
pub struct RawRecord {
    pub line: u64,
    pub fields: Result<Map<String, Value>, String>,
}

/// Counts the bytes read from the file, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type Decoded = DecodeReaderBytes<Counting<std::io::Chain<Cursor<Vec<u8>>, File>>, Vec<u8>>;

/// Chooses the encoding from a byte-order mark, or from whether the first 64 KiB are valid UTF-8.
pub fn detect(head: &[u8]) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(head) {
        return enc;
    }
    match std::str::from_utf8(head) {
        Ok(_) => UTF_8,
        // Cut off in the middle of a character at the end of the sample: still UTF-8.
        Err(e) if e.error_len().is_none() => UTF_8,
        Err(_) => GB18030,
    }
}

pub struct Source {
    records: Records,
    pub encoding: &'static Encoding,
    pub size: u64,
    pub bytes_read: Arc<AtomicU64>,
    /// Columns of a CSV file that mean nothing to this import (reported once, not per record).
    pub ignored_columns: Vec<String>,
}

enum Records {
    Jsonl { reader: Box<BufReader<Decoded>>, line: u64, buf: String },
    Csv { reader: Box<csv::Reader<Decoded>>, columns: Vec<Column>, record: csv::StringRecord },
}

impl Source {
    pub fn open(
        path: &Path,
        kind: Kind,
        format: Format,
        encoding: Option<&'static Encoding>,
    ) -> anyhow::Result<Source> {
        let mut file = File::open(path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut head = Vec::with_capacity(64 * 1024);
        (&mut file).take(64 * 1024).read_to_end(&mut head)?;
        let encoding = encoding.unwrap_or_else(|| detect(&head));
        let bytes_read = Arc::new(AtomicU64::new(0));
        let raw = Counting { inner: Cursor::new(head).chain(file), read: bytes_read.clone() };
        // The decoder strips a byte-order mark and replaces undecodable bytes with U+FFFD, which
        // validation then refuses with the line number (nothing is silently mangled).
        let decoded = DecodeReaderBytesBuilder::new().encoding(Some(encoding)).bom_override(true).build(raw);
        let mut ignored_columns = Vec::new();
        let records = match format {
            Format::Jsonl => Records::Jsonl {
                reader: Box::new(BufReader::with_capacity(256 * 1024, decoded)),
                line: 0,
                buf: String::new(),
            },
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(decoded);
                let headers =
                    reader.headers().map_err(|e| anyhow::anyhow!("cannot read the CSV header line: {e}"))?.clone();
                let columns: Vec<Column> = headers.iter().map(|h| Column::of(kind, h)).collect();
                for (h, c) in headers.iter().zip(&columns) {
                    if matches!(c, Column::Ignored) && !h.trim().is_empty() {
                        ignored_columns.push(h.trim().to_owned());
                    }
                }
                if !columns.iter().any(|c| matches!(c, Column::Field(_) | Column::Savings(..))) {
                    anyhow::bail!(
                        "the CSV header names no known column (got: {}); see `greenline import --help` / CSV表头中没有可识别的列",
                        headers.iter().collect::<Vec<_>>().join(", ")
                    );
                }
                Records::Csv { reader: Box::new(reader), columns, record: csv::StringRecord::new() }
            }
        };
        Ok(Source { records, encoding, size, bytes_read, ignored_columns })
    }
}

impl Iterator for Source {
    type Item = RawRecord;

    fn next(&mut self) -> Option<RawRecord> {
        match &mut self.records {
            Records::Jsonl { reader, line, buf } => loop {
                buf.clear();
                *line += 1;
                match reader.read_line(buf) {
                    Ok(0) => return None,
                    Ok(_) => {}
                    Err(e) => {
                        return Some(RawRecord { line: *line, fields: Err(format!("cannot read the line: {e}")) })
                    }
                }
                let text = buf.trim();
                if text.is_empty() {
                    continue;
                }
                let fields = match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(map)) => Ok(map),
                    Ok(_) => Err("each line must be one JSON object / 每行须为一个JSON对象".to_owned()),
                    Err(e) => Err(format!("not valid JSON ({e}) / 不是有效的JSON")),
                };
                return Some(RawRecord { line: *line, fields });
            },
            Records::Csv { reader, columns, record } => match reader.read_record(record) {
                Ok(false) => None,
                Ok(true) => {
                    let line = record.position().map(|p| p.line()).unwrap_or(0);
                    Some(RawRecord { line, fields: Ok(csv_fields(columns, record)) })
                }
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    Some(RawRecord { line, fields: Err(format!("not valid CSV ({e}) / CSV格式错误")) })
                }
            },
        }
    }
}

/// What a CSV column means.
#[derive(Clone, Debug)]
enum Column {
    Field(&'static str),
    /// A savings figure: (the object it goes in, the key in it).
    Savings(&'static str, &'static str),
    /// Known but computed or not importable (the export's id, tce and tCO2e columns).
    Derived,
    Ignored,
}

const CARRIER_KEYS: &[&str] =
    &["electricity_kwh", "coal_t", "natural_gas_m3", "steam_t", "water_t", "money_yuan", "investment_yuan"];

impl Column {
    fn of(kind: Kind, header: &str) -> Column {
        let h = header.trim().trim_start_matches('\u{feff}').to_lowercase();
        let h = h.as_str();
        for (prefix, object) in [
            ("savings.", "savings"),
            ("expected_", "savings"),
            ("verified_savings.", "verified_savings"),
            ("verified_", "verified_savings"),
        ] {
            if let Some(key) = h.strip_prefix(prefix) {
                if let Some(k) = CARRIER_KEYS.iter().find(|k| **k == key) {
                    return if kind == Kind::Proposals { Column::Savings(object, k) } else { Column::Ignored };
                }
            }
        }
        let field = match kind {
            Kind::Proposals => match h {
                "external_id" | "外部编号" | "原编号" => "external_id",
                "title" | "标题" | "建议名称" | "题目" => "title",
                "body" | "正文" | "内容" | "描述" | "建议内容" => "body",
                "category" | "类别" | "分类" => "category",
                "industry" | "行业" => "industry",
                "enterprise" | "企业" | "单位" | "企业名称" => "enterprise",
                "status" | "状态" => "status",
                "submitted_at" | "提交时间" | "提交日期" => "submitted_at",
                "decided_at" | "决定时间" | "评审日期" => "decided_at",
                "adopted_at" | "采用时间" | "实施日期" => "adopted_at",
                "tags" | "标签" => "tags",
                "authors" | "作者" | "提出人" => "authors",
                "id" | "expected_tce" | "expected_tco2e" | "expected_yuan" | "verified_tce" | "verified_tco2e"
                | "verified_yuan" => return Column::Derived,
                "electricity_kwh" | "coal_t" | "natural_gas_m3" | "steam_t" | "water_t" | "money_yuan"
                | "investment_yuan" => {
                    let k = CARRIER_KEYS.iter().find(|k| **k == h).copied().unwrap_or("money_yuan");
                    return Column::Savings("savings", k);
                }
                _ => return Column::Ignored,
            },
            Kind::Techniques => match h {
                "external_id" | "外部编号" | "原编号" => "external_id",
                "name" | "名称" | "技术名称" => "name",
                "industry" | "行业" => "industry",
                "scope" | "适用范围" => "scope",
                "principle" | "技术原理" | "原理" => "principle",
                "key_parameters" | "关键参数" | "主要技术参数" => "key_parameters",
                "typical_case" | "典型案例" => "typical_case",
                "effect" | "节能效果" | "效果" => "effect",
                "investment_yuan" | "投资" | "投资额" | "投资(元)" | "投资（元）" => "investment_yuan",
                "payback_years" | "投资回收期" | "回收期(年)" | "回收期（年）" => "payback_years",
                "promotion_potential" | "推广潜力" => "promotion_potential",
                "id" | "adoptions" | "adopted_tce" | "adopted_tco2e" | "adopted_yuan" => return Column::Derived,
                _ => return Column::Ignored,
            },
            Kind::Users => match h {
                "employee_number" | "工号" | "员工编号" | "职工编号" => "employee_number",
                "name" | "姓名" => "name",
                "enterprise" | "企业" | "单位" | "企业名称" => "enterprise",
                "industry" | "行业" => "industry",
                "team" | "班组" => "team",
                "studio" | "工作室" => "studio",
                "role" | "角色" => "role",
                "email" | "邮箱" | "电子邮箱" => "email",
                "oidc_subject" | "账号" | "企业账号" => "oidc_subject",
                _ => return Column::Ignored,
            },
        };
        Column::Field(field)
    }
}

/// A CSV row as the JSON object a JSON Lines record would be; empty cells are absent fields.
fn csv_fields(columns: &[Column], record: &csv::StringRecord) -> Map<String, Value> {
    let mut map = Map::new();
    for (column, cell) in columns.iter().zip(record.iter()) {
        let cell = crate::domain::spreadsheet::restore(cell.trim());
        if cell.is_empty() {
            continue;
        }
        match column {
            Column::Field(name) => {
                map.insert((*name).to_owned(), Value::String(cell.to_owned()));
            }
            Column::Savings(object, key) => {
                let entry = map.entry(*object).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(o) = entry {
                    o.insert((*key).to_owned(), Value::String(cell.to_owned()));
                }
            }
            Column::Derived | Column::Ignored => {}
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_utf8_gbk_and_boms() {
        assert_eq!(detect("标题,正文".as_bytes()), UTF_8);
        assert_eq!(detect(b"\xef\xbb\xbftitle"), UTF_8);
        let (gbk, _, _) = GB18030.encode("利用转炉余热回收蒸汽发电");
        assert_eq!(detect(&gbk), GB18030);
        // A sample that ends inside a character is still UTF-8.
        let text = "余热回收".as_bytes();
        assert_eq!(detect(&text[..text.len() - 1]), UTF_8);
        assert_eq!(detect(b"plain ascii"), UTF_8);
    }

    #[test]
    fn csv_headers_map_chinese_and_export_spellings() {
        assert!(matches!(Column::of(Kind::Proposals, "标题"), Column::Field("title")));
        assert!(matches!(Column::of(Kind::Proposals, " Title "), Column::Field("title")));
        assert!(matches!(Column::of(Kind::Proposals, "expected_coal_t"), Column::Savings("savings", "coal_t")));
        assert!(matches!(
            Column::of(Kind::Proposals, "verified_money_yuan"),
            Column::Savings("verified_savings", "money_yuan")
        ));
        assert!(matches!(Column::of(Kind::Proposals, "verified_tce"), Column::Derived));
        assert!(matches!(Column::of(Kind::Proposals, "颜色"), Column::Ignored));
        assert!(matches!(Column::of(Kind::Techniques, "适用范围"), Column::Field("scope")));
    }
}
