//! Attachments: which files are accepted (decided by their first bytes, never by their name), who may
//! attach to a proposal and when, and how a Chinese file name travels in `Content-Disposition`.

use super::{lifecycle::Status, organisation::Role, proposal::Sight};

/// The accepted types: (media type, what to call it in messages).
pub const ACCEPTED: &str = "JPEG, PNG, WebP, HEIC, PDF, DOCX, XLSX, MP4";

/// The media type of `bytes`, judged by magic numbers; `None` for anything not accepted.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if starts(b"%PDF-") {
        return Some("application/pdf");
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        return match brand {
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => Some("image/heic"),
            b"isom" | b"iso2" | b"mp41" | b"mp42" | b"avc1" | b"M4V " | b"dash" => Some("video/mp4"),
            _ => None,
        };
    }
    if starts(b"PK\x03\x04") {
        // Office Open XML: a ZIP whose entries name the document part.
        let head = &bytes[..bytes.len().min(64 * 1024)];
        let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
        if has(b"[Content_Types].xml") || has(b"word/") || has(b"xl/") {
            if has(b"word/") {
                return Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document");
            }
            if has(b"xl/") {
                return Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
            }
        }
        return None;
    }
    None
}

/// Authors attach while the proposal is theirs to shape or being piloted; the studio and enterprise
/// attach pilot documents; admins always.
pub fn may_attach(s: Sight) -> bool {
    use Status::*;
    match s.role {
        Some(Role::Admin) => true,
        None => false,
        Some(role) => {
            let author =
                s.is_author && matches!(s.status, Draft | Submitted | Evaluating | Returned | Accepted | Incubating);
            let manager = matches!(role, Role::StudioLead | Role::EnterpriseAdmin)
                && s.same_enterprise
                && matches!(s.status, Accepted | Incubating | Adopted);
            author || manager
        }
    }
}

/// Attachments can be removed from drafts only (afterwards they are part of the record).
pub fn may_remove(s: Sight) -> bool {
    s.status == Status::Draft && (s.is_author || s.role == Some(Role::Admin))
}

/// Cleans a client-supplied file name: no paths, no control or text-direction characters (an override
/// shows `gpj.exe` as `exe.jpg`), at most 255 bytes of UTF-8 (what file systems hold), cut on a
/// character boundary.
pub fn clean_file_name(name: &str) -> String {
    let decoded = percent_decoded(name);
    let base = decoded.as_deref().unwrap_or(name).rsplit(['/', '\\']).next().unwrap_or("");
    let mut cleaned = String::new();
    for c in base.chars().filter(|c| !c.is_control() && !super::text::is_bidi_control(*c) && *c != '"') {
        if cleaned.len() + c.len_utf8() > 255 {
            break;
        }
        cleaned.push(c);
    }
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

/// A file name some clients percent-encode in a multipart request (RFC 7578 §4.2 allows it for non-ASCII
/// names; aiohttp does it): decoded when the `%XX` sequences spell UTF-8 with at least one non-ASCII
/// character, so that `%E6%B0%B4%E6%B3%B5.png` is `水泵.png` while `50%off.png` and `a%20b` stay as sent.
fn percent_decoded(name: &str) -> Option<String> {
    let b = name.as_bytes();
    if !b.contains(&b'%') {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().filter(|d| !d.is_ascii())
}

/// `Content-Disposition` with the original (often Chinese) name, per RFC 6266 and RFC 5987: an ASCII
/// fallback in `filename`, the exact name percent-encoded in `filename*`.
pub fn content_disposition(kind: &str, name: &str) -> String {
    let fallback: String =
        name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).filter(|c| *c != '\\').collect();
    let mut encoded = String::new();
    for b in name.as_bytes() {
        match *b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'!'
            | b'#'
            | b'$'
            | b'&'
            | b'+'
            | b'-'
            | b'.'
            | b'^'
            | b'_'
            | b'`'
            | b'|'
            | b'~' => encoded.push(*b as char),
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide_not_names() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0"), Some("image/heic"));
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0"), Some("video/mp4"));
        assert_eq!(
            sniff(b"PK\x03\x04....[Content_Types].xml....word/document.xml"),
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        );
        assert_eq!(
            sniff(b"PK\x03\x04....xl/workbook.xml"),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        assert_eq!(sniff(b"PK\x03\x04 some other zip"), None);
        assert_eq!(sniff(b"MZ\x90\0 a windows executable"), None);
        assert_eq!(sniff(b"\x7fELF\x02\x01"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn chinese_names_survive_content_disposition() {
        let h = content_disposition("attachment", "蒸汽阀门 泄漏.jpg");
        assert_eq!(h, "attachment; filename=\"____ __.jpg\"; filename*=UTF-8''%E8%92%B8%E6%B1%BD%E9%98%80%E9%97%A8%20%E6%B3%84%E6%BC%8F.jpg");
        assert_eq!(clean_file_name("C:\\photos\\..\\阀门.jpg"), "阀门.jpg");
        assert_eq!(clean_file_name("\u{0}"), "attachment");
        assert_eq!(clean_file_name("%E6%B0%B4%E6%B3%B5.png"), "水泵.png");
        assert_eq!(clean_file_name("50%off.png"), "50%off.png");
        assert_eq!(clean_file_name("a%20b.png"), "a%20b.png");
        assert_eq!(clean_file_name("%FF%FE.png"), "%FF%FE.png", "not UTF-8: kept as sent");
        assert_eq!(clean_file_name("%2F..%2F%E9%98%80.jpg"), "阀.jpg", "a decoded path is cut like any other");
        assert_eq!(clean_file_name("照片\u{202e}gpj.exe"), "照片gpj.exe");
        let long = clean_file_name(&"阀".repeat(5000));
        assert!(long.len() <= 255 && long.chars().all(|c| c == '阀'), "{} bytes", long.len());
        assert_eq!(long.chars().count(), 85);
    }

    #[test]
    fn who_may_attach() {
        let s = |role, status, is_author, same_enterprise| Sight {
            role: Some(role),
            status,
            is_author,
            is_assigned_reviewer: false,
            same_enterprise,
            confined: false,
        };
        assert!(may_attach(s(Role::Worker, Status::Draft, true, true)));
        assert!(!may_attach(s(Role::Worker, Status::Draft, false, true)));
        assert!(!may_attach(s(Role::Worker, Status::Promoted, true, true)));
        assert!(may_attach(s(Role::StudioLead, Status::Incubating, false, true)));
        assert!(!may_attach(s(Role::StudioLead, Status::Incubating, false, false)));
        assert!(!may_attach(s(Role::Reviewer, Status::Evaluating, false, true)));
        assert!(may_remove(s(Role::Worker, Status::Draft, true, true)));
        assert!(!may_remove(s(Role::Worker, Status::Submitted, true, true)));
    }
}
