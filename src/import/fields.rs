//! Reading the fields of one record, with messages that name the field and say what is expected.
//! A JSON Lines record may carry numbers or strings; a CSV record only strings: both are accepted.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::domain::savings::Savings;

pub type Fields = Map<String, Value>;

/// A text field, trimmed; absent, null and empty are `None`.
pub fn text(f: &Fields, key: &str) -> Result<Option<String>, String> {
    match f.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            if s.contains('\u{fffd}') {
                return Err(format!(
                    "{key} contains bytes that are not valid in the file's encoding; save the file as UTF-8 or GBK / {key}含有无法解码的字节"
                ));
            }
            Ok(Some(s.trim().to_owned()))
        }
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(format!("{key} must be text / {key}须为文本")),
    }
}

pub fn required(f: &Fields, key: &str) -> Result<String, String> {
    text(f, key)?.ok_or_else(|| format!("{key} is required / 缺少{key}"))
}

/// A number ≥ 0 (thousands separators allowed in text: "1,200.5").
pub fn number(f: &Fields, key: &str) -> Result<Option<f64>, String> {
    let v = match f.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().replace([',', '，'], "").parse::<f64>().ok(),
        Some(_) => None,
    };
    match v {
        Some(x) if x.is_finite() && (0.0..=1e15).contains(&x) => Ok(Some(x)),
        _ => Err(format!("{key} must be a number ≥ 0 / {key}须为非负数")),
    }
}

/// A list of short texts: a JSON array, or one text separated by ; ； 、 or |.
pub fn list(f: &Fields, key: &str) -> Result<Vec<String>, String> {
    let items: Vec<String> = match f.get(key) {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_owned()),
                _ => Err(format!("{key} must be a list of texts / {key}须为文本列表")),
            })
            .collect::<Result<_, _>>()?,
        Some(Value::String(s)) => s.split([';', '；', '、', '|']).map(|x| x.trim().to_owned()).collect(),
        Some(_) => return Err(format!("{key} must be a list of texts / {key}须为文本列表")),
    };
    Ok(items.into_iter().filter(|s| !s.is_empty()).collect())
}

/// A savings object (`{"electricity_kwh": …, "coal_t": …}`); unknown keys are refused, so a typo is not
/// silently a zero.
pub fn savings(f: &Fields, key: &str) -> Result<Option<Savings>, String> {
    let o = match f.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(format!("{key} must be an object of numbers / {key}须为数值对象")),
    };
    let mut s = Savings::default();
    for (k, _) in o {
        let slot = match k.as_str() {
            "electricity_kwh" => &mut s.electricity_kwh,
            "coal_t" => &mut s.coal_t,
            "natural_gas_m3" => &mut s.natural_gas_m3,
            "steam_t" => &mut s.steam_t,
            "water_t" => &mut s.water_t,
            "money_yuan" => &mut s.money_yuan,
            "investment_yuan" => &mut s.investment_yuan,
            other => {
                return Err(format!(
                    "{key}.{other} is not a savings field (electricity_kwh, coal_t, natural_gas_m3, steam_t, water_t, money_yuan, investment_yuan) / 未知的节约字段"
                ))
            }
        };
        *slot = number(o, k).map_err(|e| format!("{key}.{e}"))?.unwrap_or(0.0);
    }
    Ok(Some(s))
}

/// A date or time: RFC 3339, `2024-03-01`, `2024-03-01 08:30[:00]`, `2024/3/1` (as Excel writes it).
/// Dates without a zone are read as China Standard Time.
pub fn datetime(f: &Fields, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    let Some(s) = text(f, key)? else { return Ok(None) };
    parse_datetime(&s).map(Some).ok_or_else(|| {
        format!("{key} {s:?} is not a date (use 2024-03-01 or 2024-03-01T08:30:00+08:00) / {key}日期格式无法识别")
    })
}

pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    let cst = chrono::FixedOffset::east_opt(8 * 3600)?;
    let local = |n: NaiveDateTime| cst.from_local_datetime(&n).single().map(|d| d.with_timezone(&Utc));
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return local(n);
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return local(d.and_hms_opt(0, 0, 0)?);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(v: Value) -> Fields {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn numbers_from_json_and_text() {
        let f = fields(json!({"a": 3.5, "b": "1,200.5", "c": "-1", "d": "abc", "e": ""}));
        assert_eq!(number(&f, "a").unwrap(), Some(3.5));
        assert_eq!(number(&f, "b").unwrap(), Some(1200.5));
        assert!(number(&f, "c").is_err());
        assert!(number(&f, "d").is_err());
        assert_eq!(number(&f, "e").unwrap(), None);
        assert_eq!(number(&f, "missing").unwrap(), None);
    }

    #[test]
    fn lists_split_on_chinese_separators() {
        let f = fields(json!({"t": "余热、锅炉;变频", "a": ["张三", " 李四 "]}));
        assert_eq!(list(&f, "t").unwrap(), vec!["余热", "锅炉", "变频"]);
        assert_eq!(list(&f, "a").unwrap(), vec!["张三", "李四"]);
    }

    #[test]
    fn savings_refuse_unknown_keys() {
        let f = fields(json!({"s": {"coal_t": "12", "electricity_kwh": 5}, "bad": {"coal": 1}}));
        let s = savings(&f, "s").unwrap().unwrap();
        assert_eq!((s.coal_t, s.electricity_kwh), (12.0, 5.0));
        assert!(savings(&f, "bad").unwrap_err().contains("bad.coal"));
    }

    #[test]
    fn dates_in_the_shapes_spreadsheets_write() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(parse_datetime("2024-03-01"), Some(utc("2024-02-29T16:00:00Z")));
        assert_eq!(parse_datetime("2024/3/1"), Some(utc("2024-02-29T16:00:00Z")));
        assert_eq!(parse_datetime("2024年3月1日"), Some(utc("2024-02-29T16:00:00Z")));
        assert_eq!(parse_datetime("2024-03-01T08:00:00+08:00"), Some(utc("2024-03-01T00:00:00Z")));
        assert_eq!(parse_datetime("2024-03-01 08:30"), Some(utc("2024-03-01T00:30:00Z")));
        assert_eq!(parse_datetime("yesterday"), None);
        assert_eq!(parse_datetime("2024-13-01"), None);
    }

    #[test]
    fn undecodable_bytes_are_refused() {
        let f = fields(json!({"title": "余热\u{fffd}回收"}));
        assert!(text(&f, "title").is_err());
    }
}
