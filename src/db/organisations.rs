//! Enterprises, teams and studios.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Db;
use crate::{error::AppResult, with_conn};

#[derive(FromRow, Clone, Debug)]
pub struct EnterpriseRow {
    pub id: i64,
    pub name: String,
    pub industry: String,
    pub region: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct TeamRow {
    pub id: i64,
    pub enterprise_id: i64,
    pub name: String,
    pub is_green: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow, Clone, Debug)]
pub struct StudioRow {
    pub id: i64,
    pub enterprise_id: i64,
    pub name: String,
    pub specialties: String,
    pub lead_user_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl Db {
    pub async fn enterprise(&self, id: i64) -> AppResult<Option<EnterpriseRow>> {
        Ok(
            with_conn!(self, conn => sqlx::query_as("select * from enterprises where id = $1").bind(id).fetch_optional(conn).await?),
        )
    }

    pub async fn enterprises(&self) -> AppResult<Vec<EnterpriseRow>> {
        Ok(with_conn!(self, conn => sqlx::query_as("select * from enterprises order by id").fetch_all(conn).await?))
    }

    pub async fn team(&self, id: i64) -> AppResult<Option<TeamRow>> {
        Ok(
            with_conn!(self, conn => sqlx::query_as("select * from teams where id = $1").bind(id).fetch_optional(conn).await?),
        )
    }

    pub async fn teams_of(&self, enterprise_id: i64) -> AppResult<Vec<TeamRow>> {
        Ok(with_conn!(self, conn => sqlx::query_as("select * from teams where enterprise_id = $1 order by id")
            .bind(enterprise_id).fetch_all(conn).await?))
    }

    pub async fn studio(&self, id: i64) -> AppResult<Option<StudioRow>> {
        Ok(
            with_conn!(self, conn => sqlx::query_as("select * from studios where id = $1").bind(id).fetch_optional(conn).await?),
        )
    }

    pub async fn studios_of(&self, enterprise_id: i64) -> AppResult<Vec<StudioRow>> {
        Ok(with_conn!(self, conn => sqlx::query_as("select * from studios where enterprise_id = $1 order by id")
            .bind(enterprise_id).fetch_all(conn).await?))
    }
}
