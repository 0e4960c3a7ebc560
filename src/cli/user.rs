//! `greenline user add`: create a user and print their bearer token (only the token, on the last line);
//! `greenline user deactivate|reactivate ID` and `greenline token revoke ID`, recorded in the audit log.

use std::process::ExitCode;

use anyhow::anyhow;

use crate::{
    config::{Config, UserAdd},
    db::{users::NewUser, Db},
    domain::organisation::{Industry, Role},
    error::{AppError, ErrorCode},
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

/// The number of an id given on the command line: the number itself or the GraphQL id of `kind`.
fn number(id: &str, kind: &str) -> anyhow::Result<i64> {
    if let Ok(n) = id.trim().parse::<i64>() {
        return Ok(n);
    }
    crate::graphql::ids::decode(&async_graphql::ID(id.trim().to_owned()), kind, "id")
        .map_err(|_| anyhow!("{id:?} is not a {kind} id (a number, or the id the API shows)"))
}

/// `greenline user deactivate|reactivate ID`.
pub async fn set_active(config: Config, id: &str, active: bool) -> anyhow::Result<ExitCode> {
    let id = number(id, "User")?;
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let result = db
        .write(move |tx| {
            Box::pin(async move {
                let now = chrono::Utc::now();
                let user = tx.user(id).await?.ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such user"))?;
                let changed = crate::journey::people::switch_active(tx, &user, active, None, None, now).await?;
                Ok((user, changed))
            })
        })
        .await;
    db.close().await;
    let (user, changed) = result.map_err(|e| anyhow!(e.public_message()))?;
    let state = if active { "active / 已启用" } else { "deactivated / 已停用" };
    eprintln!("{} ({}): {state}{}", user.name, user.id, if changed { "" } else { " (already)" });
    Ok(ExitCode::SUCCESS)
}

/// `greenline token revoke ID`.
pub async fn revoke(config: Config, id: &str) -> anyhow::Result<ExitCode> {
    let id = number(id, "AccessToken")?;
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let result = db
        .write(move |tx| {
            Box::pin(async move {
                let now = chrono::Utc::now();
                let c = tx.credential(id).await?.ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such token"))?;
                let owner =
                    tx.user(c.user_id).await?.ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such token"))?;
                let revoked = crate::journey::people::revoke(tx, &c, &owner, None, None, now).await?;
                Ok((c, revoked))
            })
        })
        .await;
    db.close().await;
    let (c, revoked) = result.map_err(|e| anyhow!(e.public_message()))?;
    eprintln!("{} {:?} of user {}: revoked{}", c.kind, c.name, c.user_id, if revoked { "" } else { " (already)" });
    Ok(ExitCode::SUCCESS)
}
