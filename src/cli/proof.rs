//! `greenline verify FILE` and `greenline audit verify`.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use serde_json::{json, Value};

use crate::{config::Config, db::Db, domain::proof};

/// Checks a receipt or a skill record offline (and, with `--server`, against that server).
pub async fn verify(file: PathBuf, key: Option<String>, server: Option<String>) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let server = server.map(|s| s.trim_end_matches('/').to_owned());
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build()?;
    let trusted = match (&key, &server) {
        (Some(k), _) => Some(k.trim().to_owned()),
        (None, Some(url)) => {
            let body =
                client.get(format!("{url}/.well-known/greenline-key")).send().await?.error_for_status()?.text().await?;
            let v: Value = serde_json::from_str(&body).context("the server's key is not JSON")?;
            Some(v["publicKey"].as_str().context("the server published no publicKey")?.to_owned())
        }
        (None, None) => None,
    };
    let checked = match proof::verify_document(&text, trusted.as_deref()) {
        Ok(c) => c,
        Err(problem) => {
            println!("NOT VALID: {problem}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let what =
        if checked.kind == proof::RECEIPT_KIND { "receipt 提交回执" } else { "skill record 绿色技能档案" };
    if trusted.is_none() {
        println!(
            "signed by key {} — compare it with the server's /.well-known/greenline-key, or pass --key or --server / 请与服务器公布的公钥核对",
            checked.key_id
        );
    }
    if let (Some(url), true) = (&server, checked.kind == proof::RECEIPT_KIND) {
        let query = "query($d: String!) { verifyReceipt(document: $d) { valid problems } }";
        let body = json!({ "query": query, "variables": { "d": text } }).to_string();
        let answer = client
            .post(format!("{url}/graphql"))
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json, application/json")
            .body(body)
            .send()
            .await?
            .text()
            .await?;
        let v: Value = serde_json::from_str(&answer).context("the server's answer is not JSON")?;
        let check = &v["data"]["verifyReceipt"];
        if check.is_null() {
            anyhow::bail!("the server could not check the receipt: {answer}");
        }
        if check["valid"] != json!(true) {
            for p in check["problems"].as_array().into_iter().flatten() {
                println!("NOT VALID: {}", p.as_str().unwrap_or_default());
            }
            return Ok(ExitCode::FAILURE);
        }
        println!("the server's chain and stored proposal agree with it / 服务器上的哈希链与提案与回执一致");
    }
    println!("OK: the {what} is intact and signed by key {} / 验证通过", checked.key_id);
    Ok(ExitCode::SUCCESS)
}

/// Walks the chain of the configured database and reports what is broken.
pub async fn audit(config: Config) -> anyhow::Result<ExitCode> {
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let report = crate::chain::audit(&db).await.map_err(|e| anyhow::anyhow!(e.public_message()))?;
    println!(
        "{} events linked, {} signed checkpoints, {} submitted proposals checked, {} events not linked yet",
        report.links, report.checkpoints, report.proposals, report.unchained
    );
    if let Some((position, event, what)) = &report.broken {
        println!("BROKEN at position {position} (event {event}): {what}");
    }
    for (position, what) in &report.bad_checkpoints {
        println!("BAD CHECKPOINT at position {position}: {what}");
    }
    for (id, fields) in &report.altered_proposals {
        println!("ALTERED proposal {id}: its {} differ from its submission / 提案内容与提交时不符", fields.join(", "));
    }
    if report.ok() {
        println!("OK: the chain is intact / 哈希链完整");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}
