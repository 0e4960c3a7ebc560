//! Savings figures, their input, and the published conversion factors.

use crate::graphql::types::scalars::Date;
use crate::graphql::types::scalars::Timestamp;
use async_graphql::{InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::{
    db::rows::{FactorRow, SavingsRow},
    domain::savings::{Carrier, Converted, Quantity, Savings, SavingsKind},
};

/// Yearly savings. Energy carriers in their own units; money in yuan per year; investment in yuan.
#[derive(InputObject, Clone, Copy, Default)]
pub struct SavingsInput {
    #[graphql(default)]
    pub electricity_kwh: f64,
    #[graphql(default)]
    pub coal_t: f64,
    #[graphql(default)]
    pub natural_gas_m3: f64,
    #[graphql(default)]
    pub steam_t: f64,
    #[graphql(default)]
    pub water_t: f64,
    #[graphql(default)]
    pub money_yuan: f64,
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
    pub kind: SavingsKind,
    pub c: Converted,
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

#[Object]
impl SavingsFigure {
    async fn kind(&self) -> SavingsKind {
        self.kind
    }
    async fn electricity_kwh(&self) -> f64 {
        self.c.savings.electricity_kwh
    }
    async fn coal_t(&self) -> f64 {
        self.c.savings.coal_t
    }
    async fn natural_gas_m3(&self) -> f64 {
        self.c.savings.natural_gas_m3
    }
    async fn steam_t(&self) -> f64 {
        self.c.savings.steam_t
    }
    async fn water_t(&self) -> f64 {
        self.c.savings.water_t
    }
    /// Money saved per year, yuan.
    async fn money_yuan(&self) -> f64 {
        self.c.savings.money_yuan
    }
    async fn investment_yuan(&self) -> f64 {
        self.c.savings.investment_yuan
    }
    /// Tonnes of standard coal equivalent saved per year.
    async fn tce(&self) -> f64 {
        self.c.tce
    }
    /// Tonnes of CO2 equivalent avoided per year.
    #[graphql(name = "tco2e")]
    async fn tco2e(&self) -> f64 {
        self.c.tco2e
    }
    /// Investment divided by money saved per year; null when no money is saved.
    async fn payback_years(&self) -> Option<f64> {
        self.c.savings.payback_years()
    }
    /// The conversion-factor table version used; a later table never rewrites this figure.
    async fn factor_version(&self) -> i64 {
        self.c.factor_version
    }
    async fn recorded_at(&self) -> Option<Timestamp> {
        self.recorded_at.map(Into::into)
    }
}

/// A published conversion factor (with its source): tonnes of `quantity` per unit of `carrier`.
#[derive(SimpleObject)]
pub struct ConversionFactor {
    pub version: i64,
    pub carrier: Carrier,
    pub quantity: Quantity,
    /// Tonnes of the quantity per unit of the carrier (kWh, t, m³), as used in the arithmetic.
    pub factor: f64,
    /// The factor as published, in `unit`.
    pub published_factor: f64,
    pub unit: String,
    pub basis: String,
    pub source: String,
    pub year: i64,
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
