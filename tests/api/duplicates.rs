//! Duplicates (issue #23): hints that say why, possible duplicates beside a proposal under review, a
//! duplicate closed with its history and linked to its original, its authors credited on the original —
//! and blind review never loosened on the way.

use greenline::domain::organisation::Role;
use serde_json::{json, Value};

use crate::{journey::SUBMIT, story, TestApp};

const MARK: &str = "mutation($input: MarkDuplicateInput!) { markDuplicate(input: $input) {
    proposal { id status version duplicateOf { id title authorsHidden authors { name } } } userErrors { field code message } } }";
const CREDIT: &str = "mutation($input: CreditAsCoAuthorInput!) { creditAsCoAuthor(input: $input) {
    proposal { id version authors { name } } userErrors { code message } } }";
const ASSIGN: &str = "mutation($input: AssignReviewersInput!) { assignReviewers(input: $input) {
    proposal { id version } userErrors { code message } } }";

async fn submit(app: &TestApp, token: &str, title: &str, body: &str) -> Value {
    let input = json!({"proposal": {"title": title, "body": body}});
    app.ok(Some(token), SUBMIT, json!({"input": input})).await["submitProposal"]["proposal"].clone()
}

fn code(d: &Value, mutation: &str) -> String {
    d[mutation]["userErrors"][0]["code"].as_str().unwrap_or("").to_owned()
}

story!(a_duplicate_is_found_marked_linked_and_its_author_credited);
async fn a_duplicate_is_found_marked_linked_and_its_author_credited(app: TestApp) {
    let plant = Some("宝山钢铁示范厂");
    let studio = Some("王进喜劳模创新工作室");
    let first = app.user("王师傅", Role::Worker, plant, Some("炼钢一班"), None).await;
    let second = app.user("李师傅", Role::Worker, plant, Some("轧钢二班"), None).await;
    let reviewer = app.user("赵专家", Role::Reviewer, plant, None, studio).await;
    let lead = app.user("周劳模", Role::StudioLead, plant, None, studio).await;
    let original = submit(
        &app,
        &first,
        "空压机加装变频器",
        "炼钢车间共有空压机6台，夜间低负荷时仍满载运行，卸载空转耗电。建议加装变频器，按管网压力调速，每年可节约40万千瓦时。",
    )
    .await;
    // Another worker tells the same idea in other words, with traditional characters and numbers in Chinese.
    let retold = "關於空氣壓縮機的建議：炼钢工段的空压机六台，夜里负荷低还是满载运转，空转费电。提议增设变频装置调速，一年能省四十万千瓦时。";
    // The index follows the database within a second or so: ask until it has the original.
    let mut hints = Value::Null;
    for _ in 0..100 {
        hints = app
            .ok(
                Some(&second),
                "query($t: String!) { similarProposals(text: $t) { proposal { id authorsHidden authors { name } } sharedWords highlights { field snippet } } }",
                json!({"t": retold}),
            )
            .await;
        if hints["similarProposals"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let hint = &hints["similarProposals"][0];
    assert_eq!(hint["proposal"]["id"], original["id"], "the original comes first: {hints}");
    assert!(hint["sharedWords"].as_array().is_some_and(|w| w.iter().any(|w| w == "变频")), "why it matched: {hint}");
    assert!(hint["highlights"].to_string().contains("<em>"), "{hint}");
    // A colleague sees who wrote it (blind review hides authors from reviewers, as below).
    assert_eq!(hint["proposal"]["authors"][0]["name"], "王师傅");
    let dup = submit(&app, &second, "空气压缩机节电", retold).await;

    // The lead assigns the duplicate to a reviewer, who sees the original beside it — authors hidden.
    let v = dup["version"].as_i64().unwrap();
    let reviewer_id = app.ok(Some(&reviewer), "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    app.ok(
        Some(&lead),
        ASSIGN,
        json!({"input": {"proposalId": dup["id"], "expectedVersion": v, "reviewerIds": [reviewer_id]}}),
    )
    .await;
    let seen = app
        .ok(
            Some(&reviewer),
            "query($id: ID!) { proposal(id: $id) { version possibleDuplicates { proposal { id authors { name } authorsHidden } sharedWords } } }",
            json!({"id": dup["id"]}),
        )
        .await;
    let possible = &seen["proposal"]["possibleDuplicates"];
    assert_eq!(possible[0]["proposal"]["id"], original["id"], "{seen}");
    assert_eq!(possible[0]["proposal"]["authors"], json!([]), "blind review holds beside a review: {seen}");
    // Nor do the hints tell a reviewer who wrote a proposal under review.
    let theirs = app
        .ok(
            Some(&reviewer),
            "query($t: String!) { similarProposals(text: $t) { proposal { id authors { name } authorsHidden } } }",
            json!({"t": retold}),
        )
        .await;
    let hints = theirs["similarProposals"].as_array().unwrap();
    assert!(!hints.is_empty() && hints.iter().all(|h| h["proposal"]["authors"] == json!([])), "{theirs}");
    // Workers do not get the list (it is the studio's tool).
    let theirs = app
        .ok(
            Some(&second),
            "query($id: ID!) { proposal(id: $id) { possibleDuplicates { proposal { id } } } }",
            json!({"id": dup["id"]}),
        )
        .await;
    assert_eq!(theirs["proposal"]["possibleDuplicates"], json!([]));

    // Refusals change nothing: a worker may not mark, nothing duplicates itself, a reason is required.
    let v = seen["proposal"]["version"].as_i64().unwrap();
    let input = |of: &Value, reason: &str| json!({"input": {"proposalId": dup["id"], "expectedVersion": v, "duplicateOfId": of, "reason": reason}});
    assert_eq!(
        code(&app.ok(Some(&second), MARK, input(&original["id"], "同一问题")).await, "markDuplicate"),
        "FORBIDDEN"
    );
    assert_eq!(
        code(&app.ok(Some(&lead), MARK, input(&dup["id"], "同一问题")).await, "markDuplicate"),
        "VALIDATION_FAILED"
    );
    assert_eq!(
        code(&app.ok(Some(&lead), MARK, input(&original["id"], "  ")).await, "markDuplicate"),
        "VALIDATION_FAILED"
    );

    // The lead closes it as a duplicate: the link shows, its history keeps the reason.
    let marked = app.ok(Some(&lead), MARK, input(&original["id"], "与王师傅的空压机变频建议相同")).await;
    let p = &marked["markDuplicate"]["proposal"];
    assert_eq!(p["status"], "DUPLICATE", "{marked}");
    assert_eq!(p["duplicateOf"]["id"], original["id"]);
    let mine = app
        .ok(
            Some(&second),
            "query($id: ID!) { proposal(id: $id) { status duplicateOf { id title authors { name } } events { nodes { kind reason } } } viewer { points } }",
            json!({"id": dup["id"]}),
        )
        .await;
    assert_eq!(
        mine["proposal"]["duplicateOf"]["title"], "空压机加装变频器",
        "its author is shown the original: {mine}"
    );
    let last = mine["proposal"]["events"]["nodes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last, json!({"kind": "MARKED_DUPLICATE", "reason": "与王师傅的空压机变频建议相同"}));
    assert_eq!(mine["viewer"]["points"], 10, "a duplicate keeps its submission points");
    // Its reviewer, following the link, still does not learn who wrote the original (under review).
    let link = app
        .ok(
            Some(&reviewer),
            "query($id: ID!) { proposal(id: $id) { duplicateOf { id authors { name } } } }",
            json!({"id": dup["id"]}),
        )
        .await;
    let shown = &link["proposal"]["duplicateOf"];
    assert!(shown.is_null() || shown["authors"] == json!([]), "{link}");
    // Marking it again is not a transition; a duplicate is no longer suggested.
    let again = app.ok(Some(&lead), MARK, json!({"input": {"proposalId": dup["id"], "expectedVersion": p["version"], "duplicateOfId": original["id"], "reason": "再次"}})).await;
    assert_eq!(code(&again, "markDuplicate"), "INVALID_TRANSITION");
    let hints = app
        .ok(Some(&first), "query($t: String!) { similarProposals(text: $t) { proposal { id } } }", json!({"t": retold}))
        .await;
    assert!(!hints.to_string().contains(dup["id"].as_str().unwrap()), "{hints}");

    // The second worker added the figures: the lead credits them on the original.
    let ov = app
        .ok(Some(&lead), "query($id: ID!) { proposal(id: $id) { version } }", json!({"id": original["id"]}))
        .await["proposal"]["version"]
        .clone();
    let worker_refused =
        app.ok(Some(&second), CREDIT, json!({"input": {"proposalId": dup["id"], "expectedVersion": ov}})).await;
    assert_eq!(code(&worker_refused, "creditAsCoAuthor"), "FORBIDDEN");
    let credited =
        app.ok(Some(&lead), CREDIT, json!({"input": {"proposalId": dup["id"], "expectedVersion": ov}})).await;
    let names: Vec<&str> = credited["creditAsCoAuthor"]["proposal"]["authors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["王师傅", "李师傅"], "{credited}");
    let twice = app
        .ok(Some(&lead), CREDIT, json!({"input": {"proposalId": dup["id"], "expectedVersion": credited["creditAsCoAuthor"]["proposal"]["version"]}}))
        .await;
    assert_eq!(code(&twice, "creditAsCoAuthor"), "ALREADY_EXISTS");
    let events = app
        .ok(
            Some(&lead),
            "query($id: ID!) { proposal(id: $id) { events { nodes { kind } } } }",
            json!({"id": original["id"]}),
        )
        .await;
    assert!(events.to_string().contains("CREDITED_AS_COAUTHOR"), "{events}");
    // A proposal that is not a duplicate cannot be credited.
    let ov = credited["creditAsCoAuthor"]["proposal"]["version"].clone();
    let not_dup =
        app.ok(Some(&lead), CREDIT, json!({"input": {"proposalId": original["id"], "expectedVersion": ov}})).await;
    assert_eq!(code(&not_dup, "creditAsCoAuthor"), "INVALID_TRANSITION");
}
