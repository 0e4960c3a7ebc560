//! The index end to end: analysis, query semantics, filters, facets, highlights, pagination, access,
//! duplicate hints, commit positions and schema versions.

use search_index::{DocKind, FeedPosition, Filter, IndexDoc, SearchIndex, SearchQuery, Sort};

fn doc(id: i64, title: &str, body: &str) -> IndexDoc {
    IndexDoc {
        kind: DocKind::Proposal,
        id,
        title: title.into(),
        body: body.into(),
        tags: vec![],
        status: "SUBMITTED".into(),
        category: "ENERGY_SAVING".into(),
        industry: "METALLURGY".into(),
        enterprise_id: Some(1),
        studio_id: None,
        date: 1_700_000_000 + id,
        verified_tce: 0.0,
        access: vec!["public".into()],
    }
}

fn q(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        kind: DocKind::Proposal,
        access: None,
        filter: Filter::default(),
        sort: Sort::Relevance,
        offset: 0,
        limit: 10,
        facets: search_index::FacetFields::ALL,
    }
}

fn ids(index: &SearchIndex, query: &SearchQuery) -> Vec<i64> {
    let mut v: Vec<i64> = index.search(query).unwrap().hits.iter().map(|h| h.id).collect();
    v.sort();
    v
}

fn corpus() -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    let docs = [
        doc(1, "转炉余热回收蒸汽发电", "利用转炉烟气余热，新建余热锅炉，回收蒸汽用于发电。"),
        doc(2, "空压机余热用于职工浴室", "空压机运行产生大量热量，回收后供浴室热水。"),
        doc(3, "高炉鼓风机变频改造", "鼓风机定速运行，改为VFD变频调速后节电30%，年节约1.2万吨标煤。"),
        doc(4, "峰谷电价下的错峰生产", "利用峰谷电价差，把球磨机生产安排在低谷时段。"),
        doc(5, "水泥熟料线余热发电", "熟料冷却机废气余热发电，每吨熟料发电35kWh。"),
        doc(6, "照明改造", "车间照明全部改为LED照明，减少碳排放，助力碳中和。"),
    ];
    for d in &docs {
        index.upsert(d).unwrap();
    }
    index.commit(FeedPosition { txid: 7, seq: 42 }).unwrap();
    index
}

#[test]
fn two_character_words_match_inside_longer_words() {
    let index = corpus();
    assert_eq!(ids(&index, &q("余热")), [1, 2, 5], "余热 inside 余热回收, 余热锅炉, 余热发电");
    assert_eq!(ids(&index, &q("锅炉")), [1]);
    assert_eq!(ids(&index, &q("电价")), [4], "电价 inside 峰谷电价");
    assert_eq!(ids(&index, &q("碳")), [6], "a single character");
    assert_eq!(ids(&index, &q("碳中和")), [6]);
}

#[test]
fn mixed_chinese_english_numbers() {
    let index = corpus();
    assert_eq!(ids(&index, &q("vfd")), [3], "English case-insensitively");
    assert_eq!(ids(&index, &q("30%")), [3]);
    assert_eq!(ids(&index, &q("1.2万吨")), [3]);
    assert_eq!(ids(&index, &q("35kWh")), [5]);
    assert_eq!(ids(&index, &q("LED")), [6]);
}

#[test]
fn all_terms_must_match_and_phrases_mean_adjacency() {
    let index = corpus();
    assert_eq!(ids(&index, &q("余热 发电")), [1, 5]);
    assert_eq!(ids(&index, &q("余热 浴室")), [2]);
    assert_eq!(ids(&index, &q("\"余热发电\"")), [5], "adjacent only");
    assert_eq!(ids(&index, &q("发电余热")), Vec::<i64>::new(), "no reordering");
    assert_eq!(ids(&index, &q("热，回")), Vec::<i64>::new(), "punctuation is part of the text, not skipped");
}

#[test]
fn title_is_weighted_above_body() {
    let index = SearchIndex::in_memory().unwrap();
    index.upsert(&doc(1, "蒸汽管网保温", "其他内容，其他内容，疏水阀。")).unwrap();
    index.upsert(&doc(2, "其他改造", "蒸汽管网保温层老化。")).unwrap();
    index.commit(FeedPosition { txid: 0, seq: 1 }).unwrap();
    let r = index.search(&q("保温")).unwrap();
    assert_eq!(r.hits[0].id, 1, "{:?}", r.hits);
}

#[test]
fn filters_facets_sorting_and_pagination() {
    let index = SearchIndex::in_memory().unwrap();
    for i in 1..=25 {
        let mut d = doc(i, &format!("余热利用方案{i}"), "余热");
        d.industry = if i % 5 == 0 { "BUILDING_MATERIALS".into() } else { "METALLURGY".into() };
        d.status = if i % 2 == 0 { "ADOPTED".into() } else { "SUBMITTED".into() };
        d.enterprise_id = Some(i % 3);
        d.verified_tce = i as f64;
        index.upsert(&d).unwrap();
    }
    index.commit(FeedPosition { txid: 0, seq: 25 }).unwrap();
    let r = index.search(&q("余热")).unwrap();
    assert_eq!(r.total, 25);
    assert_eq!(r.facets.industry, [("METALLURGY".to_string(), 20), ("BUILDING_MATERIALS".to_string(), 5)]);
    assert_eq!(r.facets.status, [("SUBMITTED".to_string(), 13), ("ADOPTED".to_string(), 12)]);
    assert_eq!(r.facets.enterprise.iter().map(|(_, n)| n).sum::<u64>(), 25);

    let mut filtered = q("余热");
    filtered.filter.industries = vec!["BUILDING_MATERIALS".into()];
    let r = index.search(&filtered).unwrap();
    assert_eq!(r.total, 5);
    assert_eq!(r.facets.industry, [("BUILDING_MATERIALS".to_string(), 5)]);

    let mut ranged = q("");
    ranged.filter.min_tce = Some(10.0);
    ranged.filter.max_tce = Some(12.0);
    ranged.filter.date_from = Some(1_700_000_011);
    assert_eq!(ids(&index, &ranged), [11, 12]);

    let mut by_savings = q("余热");
    by_savings.sort = Sort::VerifiedSavings;
    by_savings.limit = 3;
    let top: Vec<i64> = index.search(&by_savings).unwrap().hits.iter().map(|h| h.id).collect();
    assert_eq!(top, [25, 24, 23]);
    by_savings.offset = 3;
    let next: Vec<i64> = index.search(&by_savings).unwrap().hits.iter().map(|h| h.id).collect();
    assert_eq!(next, [22, 21, 20], "pages continue where the last one ended");

    let mut newest = q("");
    newest.sort = Sort::Newest;
    newest.limit = 2;
    assert_eq!(index.search(&newest).unwrap().hits.iter().map(|h| h.id).collect::<Vec<_>>(), [25, 24]);
}

#[test]
fn access_tokens_hide_documents_from_results_and_facets() {
    let index = SearchIndex::in_memory().unwrap();
    let mut draft = doc(1, "余热草稿", "还没提交");
    draft.access = vec!["author:7".into()];
    draft.status = "DRAFT".into();
    index.upsert(&draft).unwrap();
    index.upsert(&doc(2, "余热公开", "已采纳")).unwrap();
    index.commit(FeedPosition { txid: 0, seq: 2 }).unwrap();
    let mut other = q("余热");
    other.access = Some(vec!["public".into(), "author:8".into()]);
    let r = index.search(&other).unwrap();
    assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), [2]);
    assert_eq!(r.total, 1);
    assert!(r.facets.status.iter().all(|(s, _)| s != "DRAFT"), "facets never count what results hide");
    other.access = Some(vec!["public".into(), "author:7".into()]);
    assert_eq!(ids(&index, &other), [1, 2]);
}

#[test]
fn highlights_mark_the_matches() {
    let index = corpus();
    let r = index.search(&q("余热")).unwrap();
    let first = r.hits.iter().find(|h| h.id == 1).unwrap();
    let title = first.highlights.iter().find(|h| h.field == "title").unwrap();
    assert_eq!(title.snippet, "转炉<em>余热</em>回收蒸汽发电");
    assert!(first.highlights.iter().any(|h| h.field == "body" && h.snippet.contains("<em>余热</em>锅炉")));
}

#[test]
fn similar_finds_near_duplicates_written_differently() {
    let index = corpus();
    let hits = index.similar("建议回收转炉烟气的余热来发电", DocKind::Proposal, &None, 3).unwrap();
    assert_eq!(hits[0].id, 1, "{hits:?}");
    let hits = index.similar("给鼓风机加装变频器，节约用电", DocKind::Proposal, &None, 3).unwrap();
    assert_eq!(hits[0].id, 3, "{hits:?}");
}

#[test]
fn deletes_and_replacements() {
    let index = corpus();
    index.delete(DocKind::Proposal, 1);
    let mut changed = doc(2, "空压机改造", "不再提热");
    changed.id = 2;
    index.upsert(&changed).unwrap();
    index.commit(FeedPosition { txid: 0, seq: 43 }).unwrap();
    assert_eq!(ids(&index, &q("余热")), [5]);
    assert_eq!(index.num_docs(), 5);
}

#[test]
fn position_survives_reopening_and_a_new_schema_version_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        assert!(index.needs_rebuild(), "a new index must be filled");
        index.upsert(&doc(1, "余热", "余热")).unwrap();
        index.commit(FeedPosition { txid: 9, seq: 17 }).unwrap();
    }
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        assert!(!index.needs_rebuild());
        assert_eq!(index.position(), FeedPosition { txid: 9, seq: 17 });
        assert_eq!(index.num_docs(), 1);
    }
    // An index committed before positions had a transaction id resumes from the same row, as txid 0.
    let meta = dir.path().join("meta.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    assert!(text.contains(",\\\"txid\\\":9"), "{text}");
    std::fs::write(&meta, text.replace(",\\\"txid\\\":9", "")).unwrap();
    assert_eq!(SearchIndex::open(dir.path()).unwrap().position(), FeedPosition { txid: 0, seq: 17 });
    // Simulate an index written by another schema version: its payload says so.
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(
        &meta,
        text.replace(&format!("\\\"schema_version\\\":{}", search_index::SCHEMA_VERSION), "\\\"schema_version\\\":0"),
    )
    .unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    assert!(index.needs_rebuild(), "another schema version is rebuilt");
    assert_eq!(index.num_docs(), 0);
    assert_eq!(index.position(), FeedPosition::default());
}

#[test]
fn facets_are_skipped_when_not_asked_for() {
    let index = corpus();
    let mut query = q("余热");
    query.facets = search_index::FacetFields::NONE;
    let r = index.search(&query).unwrap();
    assert_eq!(r.total, 3, "the count is still exact");
    assert_eq!(r.facets, search_index::Facets::default());

    query.facets = search_index::FacetFields { status: true, enterprise: true, ..search_index::FacetFields::NONE };
    let r = index.search(&query).unwrap();
    assert_eq!(r.facets.status, [("SUBMITTED".to_string(), 3)]);
    assert_eq!(r.facets.enterprise, [(1, 3)]);
    assert!(r.facets.industry.is_empty() && r.facets.category.is_empty(), "only what was asked: {:?}", r.facets);
}

#[test]
fn enterprise_facets_count_ids_far_apart() {
    // Close ids are counted in a dense table, ids far apart in a map: both give the same counts.
    let index = SearchIndex::in_memory().unwrap();
    for (i, enterprise) in [(1, 5), (2, 5), (3, 70_000_000_000), (4, -3), (5, 70_000_000_000)] {
        let mut d = doc(i, "余热回收", "余热");
        d.enterprise_id = Some(enterprise);
        index.upsert(&d).unwrap();
    }
    index.upsert(&doc(6, "无关", "余热")).unwrap();
    index.commit(FeedPosition { txid: 0, seq: 6 }).unwrap();
    let r = index.search(&q("余热")).unwrap();
    assert_eq!(r.facets.enterprise, [(5, 2), (70_000_000_000, 2), (-3, 1), (1, 1)]);
}

#[test]
fn the_result_cache_never_outlives_a_commit_nor_crosses_viewers() {
    let index = corpus();
    let query = q("余热");
    let first = index.search(&query).unwrap();
    let again = index.search(&query).unwrap();
    assert_eq!(ids(&index, &query), [1, 2, 5]);
    assert_eq!(again.total, first.total);
    let stats = index.cache_stats();
    assert!(stats.hits >= 1 && stats.entries >= 1, "a repeated search is answered from the cache: {stats:?}");

    // A commit makes a new generation: the next search sees the new document, not the cached answer.
    index.upsert(&doc(7, "烧结余热", "余热")).unwrap();
    index.commit(FeedPosition { txid: 0, seq: 43 }).unwrap();
    assert_eq!(index.search(&query).unwrap().total, 4);
    assert_eq!(ids(&index, &query), [1, 2, 5, 7]);

    // Another viewer's access tokens are another entry: a draft cached for its author stays theirs.
    let mut draft = doc(8, "余热草稿", "余热");
    draft.access = vec!["author:9".into()];
    index.upsert(&draft).unwrap();
    index.commit(FeedPosition { txid: 0, seq: 44 }).unwrap();
    let mut author = q("余热");
    author.access = Some(vec!["public".into(), "author:9".into()]);
    let mut stranger = q("余热");
    stranger.access = Some(vec!["public".into(), "author:10".into()]);
    assert_eq!(index.search(&author).unwrap().total, 5);
    assert_eq!(index.search(&stranger).unwrap().total, 4);
    assert_eq!(index.search(&author).unwrap().total, 5);
    assert_eq!(index.search(&stranger).unwrap().total, 4);

    // Turned off, nothing is kept.
    index.set_cache_entries(0);
    let before = index.cache_stats();
    index.search(&query).unwrap();
    index.search(&query).unwrap();
    assert_eq!(index.cache_stats().hits, before.hits);
    assert_eq!(index.cache_stats().entries, 0);
}

/// Constraints are bitsets kept per segment for dense terms: they must follow deletions, replacements
/// (a document moving from one access token to another) and merges, and sparse tokens must still count.
#[test]
fn constraint_bitsets_follow_deletes_replacements_and_merges() {
    let index = SearchIndex::in_memory().unwrap();
    let viewer = |tokens: &[&str]| SearchQuery {
        access: Some(tokens.iter().map(|t| t.to_string()).collect()),
        limit: 500,
        ..q("余热")
    };
    let total = |query: &SearchQuery| index.search(query).unwrap().total;
    index.set_cache_entries(0);
    // Three commits: three segments, each dense in `public` and `ent:1`.
    for round in 0..3i64 {
        for i in 0..100 {
            let id = round * 100 + i;
            let mut d = doc(id, "余热回收", "余热锅炉");
            d.access = if i % 2 == 0 { vec!["public".into()] } else { vec!["ent:1".into()] };
            index.upsert(&d).unwrap();
        }
        index.commit(FeedPosition { txid: 0, seq: round + 1 }).unwrap();
    }
    assert_eq!(total(&viewer(&["public"])), 150);
    assert_eq!(total(&viewer(&["public", "ent:1"])), 300);
    assert_eq!(total(&viewer(&["ent:2"])), 0);
    // Deleted and moved documents: the kept bitsets of the old segments must not bring them back.
    for id in 0..10 {
        index.delete(DocKind::Proposal, id);
    }
    let mut moved = doc(11, "余热回收", "余热锅炉");
    moved.access = vec!["author:7".into()];
    index.upsert(&moved).unwrap();
    index.commit(FeedPosition { txid: 0, seq: 4 }).unwrap();
    assert_eq!(total(&viewer(&["public"])), 145);
    assert_eq!(total(&viewer(&["public", "ent:1"])), 289);
    // A sparse token (one author's document) is read from its postings, beside the dense ones.
    assert_eq!(ids(&index, &viewer(&["author:7"])), [11]);
    assert_eq!(total(&viewer(&["public", "ent:1", "author:7"])), 290);
    // After the segments are merged into one, the same answers.
    index.merge_segments().unwrap();
    assert_eq!(total(&viewer(&["public"])), 145);
    assert_eq!(total(&viewer(&["public", "ent:1", "author:7"])), 290);
}

/// Phrases of three or more characters are kept as bitsets per segment: the kept bits of an old segment
/// must not bring back a deleted or rewritten document, nor lose one after a merge; adjacency still counts
/// (回收余热 holds both bigrams of 余热回收, not the phrase); a match in the title still ranks first.
#[test]
fn phrase_bitsets_follow_deletes_replacements_and_merges() {
    let index = SearchIndex::in_memory().unwrap();
    index.set_cache_entries(0);
    let all = |text: &str| SearchQuery { limit: 500, ..q(text) };
    for round in 0..3i64 {
        for i in 0..50 {
            let id = round * 100 + i;
            let body = if i % 5 == 0 { "回收余热用于供暖" } else { "转炉余热回收蒸汽发电" };
            index.upsert(&doc(id, "节能改造", body)).unwrap();
        }
        index.commit(FeedPosition { txid: 0, seq: round + 1 }).unwrap();
    }
    assert_eq!(index.search(&all("余热回收")).unwrap().total, 120);
    assert_eq!(index.search(&all("回收余热")).unwrap().total, 30);
    // Deletes and rewrites after the bits of the three segments are kept.
    index.delete(DocKind::Proposal, 1);
    index.upsert(&doc(2, "节能改造", "回收余热用于供暖")).unwrap();
    index.upsert(&doc(5, "节能改造", "转炉余热回收")).unwrap();
    index.upsert(&doc(1000, "余热回收", "厂区照明改造")).unwrap();
    index.commit(FeedPosition { txid: 0, seq: 4 }).unwrap();
    let expect = |total_phrase: usize, total_reversed: usize| {
        assert_eq!(index.search(&all("余热回收")).unwrap().total, total_phrase);
        assert_eq!(index.search(&all("回收余热")).unwrap().total, total_reversed);
        let hits = index.search(&all("余热回收")).unwrap().hits;
        assert_eq!(hits[0].id, 1000, "the one match in a title ranks first");
        assert!(!hits.iter().any(|h| h.id == 1 || h.id == 2));
        assert!(hits.iter().any(|h| h.id == 5));
    };
    // 余热回收: 120 − 1 (deleted) − 1 (2 rewritten to 回收余热) + 1 (5 now holds it) + 1 (in a title);
    // 回收余热: 30 + 1 (2) − 1 (5).
    expect(120, 30);
    index.merge_segments().unwrap();
    expect(120, 30);
}

/// A viewer's own token that opens nothing beyond their other tokens (their submitted proposals are
/// open to their enterprise) is dropped before the search: the answer is the same, and viewers who see
/// the same documents share cached results. A token that opens more (a draft) is kept.
#[test]
fn viewers_who_see_the_same_documents_share_cached_results() {
    let index = SearchIndex::in_memory().unwrap();
    for id in 0..200 {
        let mut d = doc(id, "余热回收", "余热锅炉");
        d.access = match id {
            0 => vec!["author:1".into(), "ent:1".into()],
            1 => vec!["author:2".into(), "ent:1".into()],
            2 => vec!["author:3".into()],
            _ if id % 2 == 0 => vec!["public".into()],
            _ => vec!["ent:1".into()],
        };
        index.upsert(&d).unwrap();
    }
    index.commit(FeedPosition { txid: 0, seq: 1 }).unwrap();
    let viewer = |tokens: &[&str]| SearchQuery {
        access: Some(tokens.iter().map(|t| t.to_string()).collect()),
        limit: 500,
        ..q("余热")
    };
    let first = index.search(&viewer(&["public", "author:1", "ent:1"])).unwrap();
    let before = index.cache_stats();
    let second = index.search(&viewer(&["public", "author:2", "ent:1"])).unwrap();
    assert_eq!(
        index.cache_stats().hits,
        before.hits + 1,
        "the second worker of the enterprise is served from the cache"
    );
    assert_eq!(first.total, 199);
    assert_eq!(
        first.hits.iter().map(|h| h.id).collect::<Vec<_>>(),
        second.hits.iter().map(|h| h.id).collect::<Vec<_>>()
    );
    // Author 3's draft is open to them alone: their token decides, and their answer differs.
    let third = index.search(&viewer(&["public", "author:3", "ent:1"])).unwrap();
    assert_eq!(third.total, 200);
    assert!(third.hits.iter().any(|h| h.id == 2));
    assert!(!first.hits.iter().any(|h| h.id == 2));
}

#[test]
fn an_offset_past_every_hit_is_an_empty_page_not_an_allocation() {
    let index = corpus();
    // Ten billion skipped hits would need gigabytes of result slots if the offset were taken as given.
    for offset in [6, 10_000_000_000, usize::MAX - 5] {
        let page = index.search(&SearchQuery { offset, ..q("余热") }).unwrap();
        assert!(page.hits.is_empty(), "offset {offset}");
        assert_eq!(page.total, 3, "the total and facets are still those of the whole result");
    }
    let page = index.search(&SearchQuery { offset: 2, ..q("余热") }).unwrap();
    assert_eq!(page.hits.len(), 1);
}

/// A plant's symptoms find the remedy: the technique whose text shares the telling words comes first,
/// the plant's figures ("4台") count for nothing, and each suggestion says why without word fragments.
#[test]
fn suggestions_match_symptoms_to_remedies_and_say_why() {
    let index = SearchIndex::in_memory().unwrap();
    let technique = |id, name: &str, body: &str| IndexDoc {
        kind: DocKind::Technique,
        industry: "MACHINERY".into(),
        ..doc(id, name, body)
    };
    for t in [
        technique(
            1,
            "空压机余热回收制热水",
            "螺杆空压机站。在润滑油回路加装换热器，回收压缩热加热热水。典型案例：4台110千瓦空压机余热供浴室。",
        ),
        technique(
            2,
            "空压站集中联控与变频改造",
            "多台空压机并联的空压站。集中控制器按管网压力统一调度加卸载，缩小压力带，减少空载运行和卸载能耗。",
        ),
        technique(3, "热处理炉炉衬保温改造", "台车炉炉壁散热大，用陶瓷纤维更换炉衬。"),
    ] {
        index.upsert(&t).unwrap();
    }
    index.commit(FeedPosition::default()).unwrap();
    let text = search_index::request_text(
        "空压机夜班空转电费高",
        "我厂4台螺杆空压机，夜班用气很少但还是频繁加载卸载，压力来回波动，空压站电费占全厂三分之一。",
        &[],
    );
    let found = index.suggest(&text, DocKind::Technique, &Some(vec!["public".into()]), Some("MACHINERY"), 3).unwrap();
    let ranked: Vec<i64> = found.iter().map(|s| s.id).collect();
    assert_eq!(ranked[..2], [2, 1], "{found:?}");
    assert!(!ranked.contains(&3), "the furnace shares nothing telling");
    let why = &found[0].shared_words;
    assert!(why.contains(&"空压站".to_owned()) && why.contains(&"卸载".to_owned()), "{why:?}");
    assert!(!why.contains(&"压机".to_owned()), "a fragment of 空压机 is not a reason of its own: {why:?}");
    assert!(found[0].highlights.iter().any(|h| h.snippet.contains("<em>空压站</em>")), "{found:?}");
}

#[test]
fn one_batch_makes_one_segment_and_replaces_and_removes_in_order() {
    let index = SearchIndex::in_memory().unwrap();
    let docs: Vec<IndexDoc> = (1..=2000).map(|id| doc(id, "节能改造", "回收余热用于供暖")).collect();
    index.write(&docs, []).unwrap();
    index.commit(FeedPosition { txid: 1, seq: 1 }).unwrap();
    // Written one by one, the documents would be shared out among the writer's indexing threads, a
    // segment each; one batch goes to one thread whole.
    assert_eq!(index.segments(), 1);
    assert_eq!(index.num_docs(), 2000);

    let changed = doc(1, "空压机余热回收", "职工浴室热水");
    index.write([&changed], (2..=2000).map(|id| (DocKind::Proposal, id))).unwrap();
    index.commit(FeedPosition { txid: 2, seq: 2 }).unwrap();
    assert_eq!(index.num_docs(), 1);
    assert_eq!(ids(&index, &q("空压机")), vec![1]);
    assert!(ids(&index, &q("供暖")).is_empty());
}

#[test]
fn processes_sharing_a_directory_read_the_writers_commits_and_take_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let writer = SearchIndex::open_shared(dir.path()).unwrap();
    assert!(writer.is_writer());
    // A second process on the directory (the lock is a file lock: a second opening in this process holds
    // its own, as another process would).
    let reader = SearchIndex::open_shared(dir.path()).unwrap();
    assert!(!reader.is_writer(), "the writer lock is taken");
    assert!(reader.needs_rebuild(), "nothing committed yet");
    assert!(matches!(SearchIndex::open(dir.path()), Err(search_index::SearchError::Locked(_))));
    assert!(matches!(reader.upsert(&doc(9, "余热", "余热")), Err(search_index::SearchError::ReadOnly)));
    assert!(!reader.take_writer().unwrap(), "the writer is still there");

    writer.upsert(&doc(1, "转炉余热回收", "余热锅炉")).unwrap();
    writer.commit(FeedPosition { txid: 3, seq: 5 }).unwrap();
    assert_eq!(ids(&reader, &q("余热")), Vec::<i64>::new(), "not loaded yet");
    assert!(reader.refresh().unwrap());
    assert!(!reader.refresh().unwrap(), "nothing new");
    assert_eq!(ids(&reader, &q("余热")), [1]);
    assert_eq!(reader.position(), FeedPosition { txid: 3, seq: 5 });
    assert!(!reader.needs_rebuild());

    // A merge changes the segments, not the commit's opstamp: the reader loads it too.
    writer.upsert(&doc(2, "空压机余热", "浴室热水")).unwrap();
    writer.commit(FeedPosition { txid: 4, seq: 6 }).unwrap();
    assert!(reader.refresh().unwrap());
    assert_eq!(reader.segments(), 2);
    writer.merge_segments().unwrap();
    assert!(reader.refresh().unwrap());
    assert_eq!(reader.segments(), 1);
    assert_eq!(ids(&reader, &q("余热")), [1, 2]);

    // The writer goes: the reader takes its place, from its last commit on.
    drop(writer);
    assert!(reader.take_writer().unwrap());
    assert!(reader.is_writer());
    assert_eq!(reader.position(), FeedPosition { txid: 4, seq: 6 });
    reader.upsert(&doc(3, "余热发电", "熟料")).unwrap();
    reader.commit(FeedPosition { txid: 5, seq: 7 }).unwrap();
    assert_eq!(ids(&reader, &q("余热")), [1, 2, 3]);
    let third = SearchIndex::open_shared(dir.path()).unwrap();
    assert!(!third.is_writer());
    assert_eq!(ids(&third, &q("余热")), [1, 2, 3]);
}

#[test]
fn readiness_probes_of_processes_sharing_a_directory_do_not_collide() {
    let dir = tempfile::tempdir().unwrap();
    let a = std::sync::Arc::new(SearchIndex::open_shared(dir.path()).unwrap());
    let b = std::sync::Arc::new(SearchIndex::open_shared(dir.path()).unwrap());
    let probes: Vec<_> =
        [a, b].into_iter().map(|ix| std::thread::spawn(move || (0..500).try_for_each(|_| ix.check()))).collect();
    for p in probes {
        p.join().unwrap().unwrap();
    }
}

#[test]
fn processes_opening_a_new_directory_at_once_find_one_index() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = std::sync::Arc::new(dir.path().to_owned());
        let opening: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SearchIndex::open_shared(&path).unwrap())
            })
            .collect();
        let opened: Vec<SearchIndex> = opening.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(opened.iter().filter(|i| i.is_writer()).count(), 1, "one of them writes");
        let writer = opened.iter().find(|i| i.is_writer()).unwrap();
        writer.upsert(&doc(1, "余热", "余热")).unwrap();
        writer.commit(FeedPosition { txid: 1, seq: 1 }).unwrap();
        for ix in &opened {
            ix.refresh().unwrap();
            assert_eq!(ids(ix, &q("余热")), [1]);
        }
    }
}
