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

/// A proven technique in the industry catalogue, open to every enterprise. 行业技术目录中的成熟技术。
#[Object]
impl Technique {
    /// Global, opaque id. 全局唯一编号。
    pub async fn id(&self) -> ID {
        ids::encode("Technique", self.0.id)
    }
    /// Its id in the catalogue it was imported from. 导入来源中的编号。
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Its name. 技术名称。
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its industry. 所属行业。
    async fn industry(&self) -> Industry {
        Industry::parse(&self.0.industry).unwrap_or(Industry::Other)
    }
    /// Where it applies. 适用范围
    async fn scope(&self) -> &str {
        &self.0.scope
    }
    /// How it works. 技术原理
    async fn principle(&self) -> &str {
        &self.0.principle
    }
    /// The parameters that make it work. 关键技术参数。
    async fn key_parameters(&self) -> &str {
        &self.0.key_parameters
    }
    /// A typical case, with its figures. 典型案例。
    async fn typical_case(&self) -> &str {
        &self.0.typical_case
    }
    /// What it saves. 节能效果
    async fn effect(&self) -> &str {
        &self.0.effect
    }
    /// Typical investment, yuan. 典型投资（元）。
    async fn investment_yuan(&self) -> Option<f64> {
        self.0.investment_yuan
    }
    /// Typical payback, years. 典型投资回收期（年）。
    async fn payback_years(&self) -> Option<f64> {
        self.0.payback_years
    }
    /// Where else it could be used, and how much it could save. 推广潜力。
    async fn promotion_potential(&self) -> &str {
        &self.0.promotion_potential
    }
    /// Changes each time the entry is edited. 版本（每次修改递增）。
    async fn version(&self) -> i64 {
        self.0.version
    }
    /// When it was created. 创建时间。
    async fn created_at(&self) -> Timestamp {
        self.0.created_at.into()
    }
    /// When it last changed. 最后修改时间。
    async fn updated_at(&self) -> Timestamp {
        self.0.updated_at.into()
    }
    /// The promoted proposals it was born from (those this viewer may see). 形成该技术的入选提案（当前查看者可见的）。
    async fn source_proposals(&self, ctx: &Context<'_>) -> Result<Vec<Proposal>> {
        let id = self.0.id;
        Ok(Proposal::by_ids(ctx, read!(ctx, |s| s.technique_sources(id).await)).await?)
    }
    /// Enterprises that adopted it, oldest first; the originating enterprise comes with the verified savings. 采用该技术的企业，按时间先后；原始企业附核实节能量。
    async fn adoptions(&self, ctx: &Context<'_>) -> Result<Vec<Adoption>> {
        let id = self.0.id;
        Ok(read!(ctx, |s| s.adoptions(id).await).into_iter().map(Adoption).collect())
    }
    /// Running totals over all adoptions. 所有采用的累计汇总。
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

/// A technique's adoptions added up. 技术推广应用的汇总。
#[derive(SimpleObject)]
pub struct AdoptionTotals {
    /// How many adoptions. 采用次数。
    pub adoption_count: i64,
    /// How many different enterprises adopted it. 采用的企业数。
    pub enterprise_count: i64,
    /// tce saved per year, summed over adoptions. 各次采用的年节能量之和（吨标准煤）。
    pub tce: f64,
    /// tCO2e avoided per year, summed over adoptions. 各次采用的年减排量之和（吨二氧化碳当量）。
    #[graphql(name = "tco2e")]
    pub tco2e: f64,
    /// Money saved per year, summed over adoptions, yuan. 各次采用的年节约金额之和（元）。
    pub money_yuan: f64,
    /// Investment, summed over adoptions, yuan. 各次采用的投资之和（元）。
    pub investment_yuan: f64,
}

pub struct Adoption(pub AdoptionRow);

/// One enterprise adopting a catalogue technique, with the savings it reported. 一家企业采用目录技术的记录及其节能量。
#[Object]
impl Adoption {
    /// The adopting enterprise. 采用的企业。
    async fn enterprise(&self, ctx: &Context<'_>) -> Result<Option<Enterprise>> {
        Ok(services(ctx)?.db.enterprise(self.0.enterprise_id).await?.map(Enterprise))
    }
    /// When it was adopted. 采用日期。
    async fn adopted_on(&self) -> Date {
        self.0.adopted_on.into()
    }
    /// The proposal it came from, when it is the originating enterprise's. 来源提案（仅限原始企业的采用）。
    async fn proposal_id(&self) -> Option<ID> {
        self.0.proposal_id.map(|id| ids::encode("Proposal", id))
    }
    /// Electricity, kWh per year. 年节电量（千瓦时）。
    async fn electricity_kwh(&self) -> f64 {
        self.0.electricity_kwh
    }
    /// Coal, tonnes per year. 年节煤量（吨）。
    async fn coal_t(&self) -> f64 {
        self.0.coal_t
    }
    /// Natural gas, m³ per year. 年节天然气量（立方米）。
    async fn natural_gas_m3(&self) -> f64 {
        self.0.natural_gas_m3
    }
    /// Steam, tonnes per year. 年节蒸汽量（吨）。
    async fn steam_t(&self) -> f64 {
        self.0.steam_t
    }
    /// Water, tonnes per year. 年节水量（吨）。
    async fn water_t(&self) -> f64 {
        self.0.water_t
    }
    /// Money saved per year, yuan. 年节约金额（元）。
    async fn money_yuan(&self) -> f64 {
        self.0.money_yuan
    }
    /// Investment it needs, yuan. 所需投资（元）。
    async fn investment_yuan(&self) -> f64 {
        self.0.investment_yuan
    }
    /// Energy saved per year, tonnes of coal equivalent (tce), with the published factors. 年节能量（吨标准煤），按公布的折算系数。
    async fn tce(&self) -> f64 {
        self.0.tce
    }
    /// Emissions avoided per year, tonnes CO2 equivalent. 年减排量（吨二氧化碳当量）。
    #[graphql(name = "tco2e")]
    async fn tco2e(&self) -> f64 {
        self.0.tco2e
    }
    /// Version of the conversion factors used. 所用折算系数的版本。
    async fn factor_version(&self) -> i64 {
        self.0.factor_version
    }
    /// What the enterprise noted about it. 企业备注。
    async fn note(&self) -> &str {
        &self.0.note
    }
}
