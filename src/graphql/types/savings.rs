//! Savings figures, their input, and the published conversion factors.

use crate::graphql::types::scalars::Date;
use crate::graphql::types::scalars::Timestamp;
use async_graphql::{InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    db::rows::{FactorRow, SavingsRow},
    domain::savings::{Carrier, Converted, Quantity, Savings, SavingsKind},
};

/// Yearly savings. Energy carriers in their own units; money in yuan per year; investment in yuan. 年节能量：各能源以其自身单位计，金额为每年元数，投资以元计。
#[derive(InputObject, Clone, Copy, Default)]
pub struct SavingsInput {
    /// Electricity, kWh per year. 年节电量（千瓦时）。
    #[graphql(default)]
    pub electricity_kwh: f64,
    /// Coal, tonnes per year. 年节煤量（吨）。
    #[graphql(default)]
    pub coal_t: f64,
    /// Natural gas, m³ per year. 年节天然气量（立方米）。
    #[graphql(default)]
    pub natural_gas_m3: f64,
    /// Steam, tonnes per year. 年节蒸汽量（吨）。
    #[graphql(default)]
    pub steam_t: f64,
    /// Water, tonnes per year. 年节水量（吨）。
    #[graphql(default)]
    pub water_t: f64,
    /// Money saved per year, yuan. 年节约金额（元）。
    #[graphql(default)]
    pub money_yuan: f64,
    /// Investment it needs, yuan. 所需投资（元）。
    #[graphql(default)]
    pub investment_yuan: f64,
}

impl From<SavingsInput> for Savings {
    fn from(i: SavingsInput) -> Savings {
        Savings {
            electricity_kwh: i.electricity_kwh,
            coal_t: i.coal_t,
            natural_gas_m3: i.natural_gas_m3,
            steam_t: i.steam_t,
            water_t: i.water_t,
            money_yuan: i.money_yuan,
            investment_yuan: i.investment_yuan,
        }
    }
}

/// One savings figure — expected (author), forecast (evaluators) or verified (pilot) — with its conversion
/// to tce and tCO2e and the factor-table version that conversion used.
pub struct SavingsFigure {
    /// Expected by the authors, forecast, or verified by measurement. 作者预期、预测或测量核实。
    pub kind: SavingsKind,
    pub c: Converted,
    /// When it was recorded. 记录时间。
    pub recorded_at: Option<DateTime<Utc>>,
}

impl SavingsFigure {
    pub fn from_row(r: SavingsRow) -> SavingsFigure {
        SavingsFigure {
            kind: SavingsKind::parse(&r.kind).unwrap_or(SavingsKind::Expected),
            c: r.converted(),
            recorded_at: Some(r.recorded_at),
        }
    }
}

/// Savings per year per carrier, with their tce and tCO2e. 各能源载体的年节能量及折算结果。
#[Object]
impl SavingsFigure {
    /// Expected by the authors, forecast, or verified by measurement. 作者预期、预测或测量核实。
    async fn kind(&self) -> SavingsKind {
        self.kind
    }
    /// Electricity, kWh per year. 年节电量（千瓦时）。
    async fn electricity_kwh(&self) -> f64 {
        self.c.savings.electricity_kwh
    }
    /// Coal, tonnes per year. 年节煤量（吨）。
    async fn coal_t(&self) -> f64 {
        self.c.savings.coal_t
    }
    /// Natural gas, m³ per year. 年节天然气量（立方米）。
    async fn natural_gas_m3(&self) -> f64 {
        self.c.savings.natural_gas_m3
    }
    /// Steam, tonnes per year. 年节蒸汽量（吨）。
    async fn steam_t(&self) -> f64 {
        self.c.savings.steam_t
    }
    /// Water, tonnes per year. 年节水量（吨）。
    async fn water_t(&self) -> f64 {
        self.c.savings.water_t
    }
    /// Money saved per year, yuan. 年节约金额（元）。
    async fn money_yuan(&self) -> f64 {
        self.c.savings.money_yuan
    }
    /// Investment it needs, yuan. 所需投资（元）。
    async fn investment_yuan(&self) -> f64 {
        self.c.savings.investment_yuan
    }
    /// Tonnes of standard coal equivalent saved per year. 年节能量（吨标准煤）。
    async fn tce(&self) -> f64 {
        self.c.tce
    }
    /// Tonnes of CO2 equivalent avoided per year. 年减排量（吨二氧化碳当量）。
    #[graphql(name = "tco2e")]
    async fn tco2e(&self) -> f64 {
        self.c.tco2e
    }
    /// Investment divided by money saved per year; null when no money is saved. 投资除以年节约金额；无节约金额时为空。
    async fn payback_years(&self) -> Option<f64> {
        self.c.savings.payback_years()
    }
    /// The conversion-factor table version used; a later table never rewrites this figure. 所用折算系数表的版本；之后的新系数表不会改写此数字。
    async fn factor_version(&self) -> i64 {
        self.c.factor_version
    }
    /// When it was recorded. 记录时间。
    async fn recorded_at(&self) -> Option<Timestamp> {
        self.recorded_at.map(Into::into)
    }
}

/// A published conversion factor (with its source): tonnes of `quantity` per unit of `carrier`. 公布的折算系数（含出处）：每单位能源折合的吨数。
#[derive(SimpleObject)]
pub struct ConversionFactor {
    /// Version of this set of factors. 系数版本。
    pub version: i64,
    /// The carrier it converts. 适用的能源载体。
    pub carrier: Carrier,
    /// What it converts to: tce or tCO2e. 折算目标：吨标准煤或吨二氧化碳当量。
    pub quantity: Quantity,
    /// Tonnes of the quantity per unit of the carrier (kWh, t, m³), as used in the arithmetic. 每单位能源（千瓦时、吨、立方米）折合的吨数，计算时使用。
    pub factor: f64,
    /// The factor as published, in `unit`. 公布的系数值（单位见 unit）。
    pub published_factor: f64,
    /// The unit of the published factor, e.g. tce/10⁴ kWh. 公布系数的单位。
    pub unit: String,
    /// How the factor is defined (e.g. equivalent value). 系数口径（如当量值）。
    pub basis: String,
    /// The standard or publication it comes from. 出处（标准或公告）。
    pub source: String,
    /// The year of the publication. 发布年份。
    pub year: i64,
    /// Used for figures recorded from this date. 自该日起的数据使用此系数。
    pub valid_from: Date,
}

impl ConversionFactor {
    pub fn from_row(r: FactorRow) -> Option<ConversionFactor> {
        Some(ConversionFactor {
            version: r.version,
            carrier: Carrier::parse(&r.carrier)?,
            quantity: Quantity::parse(&r.quantity)?,
            factor: r.factor,
            published_factor: r.published_factor,
            unit: r.unit,
            basis: r.basis,
            source: r.source,
            year: r.year,
            valid_from: r.valid_from.into(),
        })
    }
}
