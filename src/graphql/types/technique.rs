//! `Technique`: an entry of the industry catalogue, with its source proposals and adoptions.

use crate::graphql::types::scalars::{Date, Timestamp};
use async_graphql::{Context, Object, Result, SimpleObject, ID};

use super::{organisation::Enterprise, proposal::Proposal};
use crate::{
    db::rows::{AdoptionRow, TechniqueRow},
    domain::organisation::Industry,
    graphql::{guards::services, ids},
    read,
};

pub struct Technique(pub TechniqueRow);

#[Object]
impl Technique {
    pub async fn id(&self) -> ID {
        ids::encode("Technique", self.0.id)
    }
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn industry(&self) -> Industry {
        Industry::parse(&self.0.industry).unwrap_or(Industry::Other)
    }
    /// 适用范围
    async fn scope(&self) -> &str {
        &self.0.scope
    }
    /// 技术原理
    async fn principle(&self) -> &str {
        &self.0.principle
    }
    async fn key_parameters(&self) -> &str {
        &self.0.key_parameters
    }
    async fn typical_case(&self) -> &str {
        &self.0.typical_case
    }
    /// 节能效果
    async fn effect(&self) -> &str {
        &self.0.effect
    }
    async fn investment_yuan(&self) -> Option<f64> {
        self.0.investment_yuan
    }
    async fn payback_years(&self) -> Option<f64> {
        self.0.payback_years
    }
    async fn promotion_potential(&self) -> &str {
        &self.0.promotion_potential
    }
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> Timestamp {
        self.0.updated_at.into()
    }
    /// The promoted proposals it was born from (those this viewer may see).
    async fn source_proposals(&self, ctx: &Context<'_>) -> Result<Vec<Proposal>> {
        let id = self.0.id;
        Ok(Proposal::by_ids(ctx, read!(ctx, |s| s.technique_sources(id).await)).await?)
    }
    /// Enterprises that adopted it, oldest first; the originating enterprise comes with the verified savings.
    async fn adoptions(&self, ctx: &Context<'_>) -> Result<Vec<Adoption>> {
        let id = self.0.id;
        Ok(read!(ctx, |s| s.adoptions(id).await).into_iter().map(Adoption).collect())
    }
    /// Running totals over all adoptions.
    async fn totals(&self, ctx: &Context<'_>) -> Result<AdoptionTotals> {
        let id = self.0.id;
        let rows = read!(ctx, |s| s.adoptions(id).await);
        let mut enterprises: Vec<i64> = rows.iter().map(|a| a.enterprise_id).collect();
        enterprises.sort_unstable();
        enterprises.dedup();
        Ok(AdoptionTotals {
            adoption_count: rows.len() as i64,
            enterprise_count: enterprises.len() as i64,
            tce: rows.iter().map(|a| a.tce).sum(),
            tco2e: rows.iter().map(|a| a.tco2e).sum(),
            money_yuan: rows.iter().map(|a| a.money_yuan).sum(),
            investment_yuan: rows.iter().map(|a| a.investment_yuan).sum(),
        })
    }
}

#[derive(SimpleObject)]
pub struct AdoptionTotals {
    pub adoption_count: i64,
    pub enterprise_count: i64,
    /// tce saved per year, summed over adoptions.
    pub tce: f64,
    #[graphql(name = "tco2e")]
    pub tco2e: f64,
    pub money_yuan: f64,
    pub investment_yuan: f64,
}

pub struct Adoption(pub AdoptionRow);

#[Object]
impl Adoption {
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        Ok(services(ctx)?.db.enterprise(self.0.enterprise_id).await?.map(Enterprise))
    }
    async fn adopted_on(&self) -> Date {
        self.0.adopted_on.into()
    }
    /// The proposal it came from, when it is the originating enterprise's.
    async fn proposal_id(&self) -> Option<ID> {
        self.0.proposal_id.map(|id| ids::encode("Proposal", id))
    }
    async fn electricity_kwh(&self) -> f64 {
        self.0.electricity_kwh
    }
    async fn coal_t(&self) -> f64 {
        self.0.coal_t
    }
    async fn natural_gas_m3(&self) -> f64 {
        self.0.natural_gas_m3
    }
    async fn steam_t(&self) -> f64 {
        self.0.steam_t
    }
    async fn water_t(&self) -> f64 {
        self.0.water_t
    }
    async fn money_yuan(&self) -> f64 {
        self.0.money_yuan
    }
    async fn investment_yuan(&self) -> f64 {
        self.0.investment_yuan
    }
    async fn tce(&self) -> f64 {
        self.0.tce
    }
    #[graphql(name = "tco2e")]
    async fn tco2e(&self) -> f64 {
        self.0.tco2e
    }
    async fn factor_version(&self) -> i64 {
        self.0.factor_version
    }
    async fn note(&self) -> &str {
        &self.0.note
    }
}
