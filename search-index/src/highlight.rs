//! Highlighted snippets: a window of the stored text around the first occurrence of any query term, with
//! every occurrence wrapped in `<em>…</em>`. Matching is by exact (case-insensitive) substring, the same
//! rule the character view uses, so a highlight never marks what did not match.

const WINDOW: usize = 60;

/// A snippet of `text` around the query `terms`, or `None` when none of them occurs.
pub fn snippet(text: &str, terms: &[String]) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = chars.iter().map(|c| c.to_lowercase().next().unwrap_or(*c)).collect();
    let needles: Vec<Vec<char>> = terms
        .iter()
        .map(|t| t.chars().flat_map(char::to_lowercase).collect::<Vec<_>>())
        .filter(|n: &Vec<char>| !n.is_empty())
        .collect();
    // Mark every matched character.
    let mut marked = vec![false; chars.len()];
    let mut first: Option<usize> = None;
    for n in &needles {
        if n.len() > lower.len() {
            continue;
        }
        for start in 0..=(lower.len() - n.len()) {
            if lower[start..start + n.len()] == n[..] {
                marked[start..start + n.len()].iter_mut().for_each(|m| *m = true);
                first = Some(first.map_or(start, |f| f.min(start)));
            }
        }
    }
    let first = first?;
    let from = first.saturating_sub(WINDOW / 3);
    let to = (from + WINDOW).min(chars.len());
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut open = false;
    for i in from..to {
        if marked[i] && !open {
            out.push_str("<em>");
            open = true;
        } else if !marked[i] && open {
            out.push_str("</em>");
            open = false;
        }
        push_escaped(&mut out, chars[i]);
    }
    if open {
        out.push_str("</em>");
    }
    if to < chars.len() {
        out.push('…');
    }
    Some(out)
}

/// The snippet is HTML: the text itself is escaped so that only our `<em>` tags are markup.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        _ => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_every_occurrence_and_escapes() {
        let s = snippet("利用转炉余热回收蒸汽，余热锅炉<b>", &["余热".into()]).unwrap();
        assert_eq!(s, "利用转炉<em>余热</em>回收蒸汽，<em>余热</em>锅炉&lt;b&gt;");
        assert!(snippet("没有", &["余热".into()]).is_none());
    }

    #[test]
    fn case_insensitive_and_windowed() {
        let long = format!("{}VFD{}", "甲".repeat(100), "乙".repeat(100));
        let s = snippet(&long, &["vfd".into()]).unwrap();
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert!(s.contains("<em>VFD</em>"));
        assert!(s.chars().count() < 90);
    }
}
