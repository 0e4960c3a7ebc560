//! `greenline demo`: fill an empty database with the demo data set (see `crate::demo`).

use std::process::ExitCode;

use crate::{
    config::Config,
    db::{store::ListScope, Db},
};

pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let existing = db
        .read(|s| {
            Box::pin(async move {
                let scope = ListScope { is_admin: true, ..Default::default() };
                Ok(s.list_proposals(&scope, &Default::default(), &crate::db::rows::KeyPage::COUNT_ONLY).await?.1)
            })
        })
        .await
        .map_err(|e| anyhow::anyhow!(e.public_message()))?;
    if existing > 0 {
        anyhow::bail!("the database already holds {existing} proposals; `greenline demo` only fills an empty one");
    }
    eprintln!("filling the database with the demo data set…");
    let filled = crate::demo::fill(&db).await.map_err(|e| anyhow::anyhow!(e.public_message()))?;
    db.close().await;
    eprintln!(
        "demo ready: {} enterprises, {} proposals, {} catalogue techniques, {} challenges, {} help requests. A server on this database indexes them at start.",
        crate::demo::ENTERPRISE_COUNT,
        filled.proposals,
        filled.techniques,
        filled.challenges,
        filled.help_requests
    );
    eprintln!("Tokens to try in GraphiQL (header {{\"Authorization\": \"Bearer <token>\"}}); they are shown only now:");
    for (name, role, token) in &filled.tokens {
        println!("{:<16} {name:<10} {token}", role.as_str());
    }
    Ok(ExitCode::SUCCESS)
}
