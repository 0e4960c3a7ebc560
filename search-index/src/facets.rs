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

/// Which facets to count: each one costs a column read per matching document, so only what is asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FacetFields {
    pub industry: bool,
    pub category: bool,
    pub status: bool,
    pub enterprise: bool,
    pub studio: bool,
}

impl FacetFields {
    pub const ALL: FacetFields =
        FacetFields { industry: true, category: true, status: true, enterprise: true, studio: true };
    pub const NONE: FacetFields =
        FacetFields { industry: false, category: false, status: false, enterprise: false, studio: false };

    pub fn any(self) -> bool {
        self != Self::NONE
    }
}

pub struct FacetCollector(pub FacetFields);

/// Counts for one integer column: dense by `value - min` when the column's range is small (ids are),
/// a map otherwise.
enum IntCounts {
    Dense { min: i64, counts: Vec<u64> },
    Sparse(HashMap<i64, u64>),
}

const DENSE_RANGE: i64 = 1 << 16;

impl IntCounts {
    fn for_column(col: &Column<i64>) -> IntCounts {
        let (min, max) = (col.min_value(), col.max_value());
        match max.checked_sub(min) {
            Some(range) if (0..DENSE_RANGE).contains(&range) => {
                IntCounts::Dense { min, counts: vec![0; range as usize + 1] }
            }
            _ => IntCounts::Sparse(HashMap::new()),
        }
    }

    fn bump(&mut self, v: i64) {
        match self {
            IntCounts::Dense { min, counts } => {
                if let Some(n) = v.checked_sub(*min).and_then(|i| counts.get_mut(i as usize)) {
                    *n += 1;
                }
            }
            IntCounts::Sparse(m) => *m.entry(v).or_default() += 1,
        }
    }

    fn into_map(self) -> HashMap<i64, u64> {
        match self {
            IntCounts::Dense { min, counts } => {
                counts.into_iter().enumerate().filter(|(_, n)| *n > 0).map(|(i, n)| (min + i as i64, n)).collect()
            }
            IntCounts::Sparse(m) => m,
        }
    }
}

pub struct FacetSegment {
    /// Counts indexed by term ordinal: dense and cheap to bump. `None` when not asked for (or empty).
    strs: [(Option<StrColumn>, Vec<u64>); 3],
    ints: [Option<(Column<i64>, IntCounts)>; 2],
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
        let s = |name, wanted: bool| -> tantivy::Result<(Option<StrColumn>, Vec<u64>)> {
            let col = if wanted { ff.str(name)? } else { None };
            let n = col.as_ref().map_or(0, |c| c.num_terms());
            Ok((col, vec![0; n]))
        };
        let i = |name, wanted: bool| -> tantivy::Result<Option<(Column<i64>, IntCounts)>> {
            if !wanted {
                return Ok(None);
            }
            let col = ff.i64(name)?;
            let counts = IntCounts::for_column(&col);
            Ok(Some((col, counts)))
        };
        let w = self.0;
        Ok(FacetSegment {
            strs: [s(STR_FIELDS[0], w.industry)?, s(STR_FIELDS[1], w.category)?, s(STR_FIELDS[2], w.status)?],
            ints: [i(INT_FIELDS[0], w.enterprise)?, i(INT_FIELDS[1], w.studio)?],
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
        for (column, counts) in self.ints.iter_mut().flatten() {
            if let Some(v) = column.first(doc) {
                counts.bump(v);
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
        for (int, out) in self.ints.into_iter().zip(fruit.ints.iter_mut()) {
            if let Some((_, counts)) = int {
                *out = counts.into_map();
            }
        }
        fruit
    }
}
