//! `greenline user add`: create a user and print their bearer token (only the token, on the last line).

use std::process::ExitCode;

use anyhow::anyhow;

use crate::{
    config::{Config, UserAdd},
    db::{users::NewUser, Db},
    domain::organisation::{Industry, Role},
};

pub async fn add(config: Config, args: UserAdd) -> anyhow::Result<ExitCode> {
    let role =
        Role::parse(&args.role).ok_or_else(|| anyhow!("unknown role {:?}; use one of {}", args.role, Role::names()))?;
    let industry = match &args.industry {
        Some(i) => Some(
            Industry::parse(i).ok_or_else(|| anyhow!("unknown industry {i:?}; use one of {}", Industry::names()))?,
        ),
        None => None,
    };
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let new = NewUser {
        name: args.name,
        role,
        enterprise: args.enterprise,
        industry,
        team: args.team,
        studio: args.studio,
        email: args.email,
        employee_number: args.employee_number,
        oidc_subject: args.oidc_subject,
        token_days: args.expires_in_days,
    };
    let (user, token) = db.create_user(&new).await.map_err(|e| anyhow!(e.public_message()))?;
    db.close().await;
    eprintln!(
        "created user {} ({}) with id {}; keep this token, it is shown only once:",
        user.name,
        user.role,
        crate::graphql::ids::encode("User", user.id).0
    );
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
