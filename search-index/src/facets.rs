//! Facet counts over every matching document, read from fast fields in one pass with the search.

use std::collections::HashMap;

use tantivy::{
    collector::{Collector, SegmentCollector},
    columnar::{Column, StrColumn},
    DocId, Score, SegmentOrdinal, SegmentReader,
};

/// Counts per value, most frequent first (ties by value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facets {
    pub industry: Vec<(String, u64)>,
    pub category: Vec<(String, u64)>,
    pub status: Vec<(String, u64)>,
    pub enterprise: Vec<(i64, u64)>,
    pub studio: Vec<(i64, u64)>,
}

pub struct FacetCollector;

pub struct FacetSegment {
    /// Counts indexed by term ordinal: dense and cheap to bump.
    strs: [(Option<StrColumn>, Vec<u64>); 3],
    ints: [(Column<i64>, HashMap<i64, u64>); 2],
}

#[derive(Default)]
pub struct FacetFruit {
    strs: [HashMap<String, u64>; 3],
    ints: [HashMap<i64, u64>; 2],
}

const STR_FIELDS: [&str; 3] = ["industry", "category", "status"];
const INT_FIELDS: [&str; 2] = ["enterprise", "studio"];

impl Collector for FacetCollector {
    type Fruit = Facets;
    type Child = FacetSegment;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<FacetSegment> {
        let ff = segment.fast_fields();
        let s = |name| -> tantivy::Result<(Option<StrColumn>, Vec<u64>)> {
            let col = ff.str(name)?;
            let n = col.as_ref().map_or(0, |c| c.num_terms());
            Ok((col, vec![0; n]))
        };
        let i = |name| -> tantivy::Result<(Column<i64>, HashMap<i64, u64>)> { Ok((ff.i64(name)?, HashMap::new())) };
        Ok(FacetSegment {
            strs: [s(STR_FIELDS[0])?, s(STR_FIELDS[1])?, s(STR_FIELDS[2])?],
            ints: [i(INT_FIELDS[0])?, i(INT_FIELDS[1])?],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetFruit>) -> tantivy::Result<Facets> {
        let mut total = FacetFruit::default();
        for fruit in fruits {
            for (acc, part) in total.strs.iter_mut().zip(fruit.strs) {
                for (k, n) in part {
                    *acc.entry(k).or_default() += n;
                }
            }
            for (acc, part) in total.ints.iter_mut().zip(fruit.ints) {
                for (k, n) in part {
                    *acc.entry(k).or_default() += n;
                }
            }
        }
        let [industry, category, status] = total.strs.map(sorted);
        let [enterprise, studio] = total.ints.map(sorted);
        Ok(Facets { industry, category, status, enterprise, studio })
    }
}

fn sorted<K: Ord>(m: HashMap<K, u64>) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

impl SegmentCollector for FacetSegment {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: DocId, _: Score) {
        for (column, counts) in &mut self.strs {
            if let Some(col) = column {
                for ord in col.term_ords(doc) {
                    if let Some(n) = counts.get_mut(ord as usize) {
                        *n += 1;
                    }
                }
            }
        }
        for (column, counts) in &mut self.ints {
            if let Some(v) = column.first(doc) {
                *counts.entry(v).or_default() += 1;
            }
        }
    }

    fn harvest(self) -> FacetFruit {
        let mut fruit = FacetFruit::default();
        for ((column, counts), out) in self.strs.into_iter().zip(fruit.strs.iter_mut()) {
            let Some(col) = column else { continue };
            let mut buf = String::new();
            for (ord, n) in counts.into_iter().enumerate().filter(|(_, n)| *n > 0) {
                let ord = ord as u64;
                buf.clear();
                if col.ord_to_str(ord, &mut buf).unwrap_or(false) {
                    *out.entry(buf.clone()).or_default() += n;
                }
            }
        }
        for ((_, counts), out) in self.ints.into_iter().zip(fruit.ints.iter_mut()) {
            *out = counts;
        }
        fruit
    }
}
