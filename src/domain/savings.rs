//! Savings arithmetic: energy carriers and money, converted to tonnes of standard coal equivalent (tce) and
//! tonnes of CO2 (tCO2e) through a versioned, sourced factor table. Three figures per proposal are kept
//! apart: expected (author), forecast (evaluators) and verified (measured in the pilot).

use chrono::NaiveDate;

crate::string_enum! {
    /// An energy or resource carrier that savings are measured in. 节能量的计量载体（电、煤、气、汽、水）。
    pub enum Carrier {
        /// kWh 千瓦时
        Electricity = "ELECTRICITY",
        /// tonnes of raw coal 吨原煤
        Coal = "COAL",
        /// m³ 立方米
        NaturalGas = "NATURAL_GAS",
        /// tonnes of steam 吨蒸汽
        Steam = "STEAM",
        /// tonnes of fresh water 吨新水
        Water = "WATER",
        /// yuan (a measurement of money spent, before and after) 元（改进前后的花费）
        Money = "MONEY",
    }
}

crate::string_enum! {
    /// Where a savings figure comes from. 节能量的来源。
    pub enum SavingsKind {
        /// What the authors expect. 作者预期。
        Expected = "EXPECTED",
        /// Forecast during the pilot. 试点中的预测。
        Forecast = "FORECAST",
        /// Verified by measurement. 经测量核实。
        Verified = "VERIFIED",
        /// A challenge's target. 攻关课题的目标。
        Target = "TARGET",
    }
}

crate::string_enum! {
    /// What a factor converts to. 折算目标。
    pub enum Quantity {
        /// Tonnes of coal equivalent. 吨标准煤。
        Tce = "TCE",
        /// Tonnes of CO2 equivalent. 吨二氧化碳当量。
        Co2e = "CO2E",
    }
}

impl Carrier {
    pub fn unit(self) -> &'static str {
        match self {
            Carrier::Electricity => "kWh",
            Carrier::Coal | Carrier::Steam | Carrier::Water => "t",
            Carrier::NaturalGas => "m³",
            Carrier::Money => "yuan",
        }
    }
}

/// One row of the published factor table.
#[derive(Clone, Debug, PartialEq)]
pub struct Factor {
    pub version: i64,
    pub carrier: Carrier,
    pub quantity: Quantity,
    /// Tonnes of `quantity` per unit of the carrier.
    pub factor: f64,
    /// The factor as published, in `unit`. 公布的系数值（单位见 unit）。
    pub published_factor: f64,
    pub unit: &'static str,
    pub basis: &'static str,
    pub source: &'static str,
    pub year: i32,
    pub valid_from: NaiveDate,
}

/// Version 1 of the factor table, published with the platform.
pub fn default_factors() -> Vec<Factor> {
    let from = NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date");
    let f = |carrier, quantity, published_factor: f64, per: f64, unit, basis, source, year| Factor {
        version: 1,
        carrier,
        quantity,
        factor: published_factor * per,
        published_factor,
        unit,
        basis,
        source,
        year,
        valid_from: from,
    };
    use Carrier::*;
    use Quantity::*;
    vec![
        f(
            Electricity,
            Tce,
            0.1229,
            1e-3,
            "kgce/kWh",
            "calorific equivalent value (当量值)",
            "GB/T 2589-2020 综合能耗计算通则, 附录A",
            2020,
        ),
        f(
            Coal,
            Tce,
            0.7143,
            1.0,
            "kgce/kg",
            "raw coal, net calorific value 20 908 kJ/kg",
            "GB/T 2589-2020 综合能耗计算通则, 附录A",
            2020,
        ),
        f(
            NaturalGas,
            Tce,
            1.2143,
            1e-3,
            "kgce/m³",
            "net calorific value 35 544 kJ/m³",
            "GB/T 2589-2020 综合能耗计算通则, 附录A",
            2020,
        ),
        f(
            Steam,
            Tce,
            0.1286,
            1.0,
            "kgce/kg",
            "low-pressure steam, 3 763 MJ/t",
            "GB/T 2589-2020 综合能耗计算通则, 附录A",
            2020,
        ),
        f(Water, Tce, 0.0857, 1e-3, "kgce/t", "fresh water (新水)", "GB/T 2589-2020 综合能耗计算通则, 附录A", 2020),
        f(
            Electricity,
            Co2e,
            0.5306,
            1e-3,
            "kgCO2/kWh",
            "national grid average emission factor",
            "生态环境部、国家统计局 关于发布2023年电力二氧化碳排放因子的公告",
            2023,
        ),
        f(
            Coal,
            Co2e,
            1.9003,
            1.0,
            "tCO2/t",
            "20.908 GJ/t × 26.37 tC/TJ × 94% oxidation × 44/12",
            "省级温室气体清单编制指南 default values",
            2011,
        ),
        f(
            NaturalGas,
            Co2e,
            2.1622,
            1e-3,
            "kgCO2/m³",
            "38.931 GJ/10⁴m³ × 15.3 tC/TJ × 99% oxidation × 44/12",
            "省级温室气体清单编制指南 default values",
            2011,
        ),
        f(
            Steam,
            Co2e,
            0.4139,
            1.0,
            "tCO2/t",
            "3.763 GJ/t × 0.11 tCO2/GJ purchased heat",
            "企业温室气体排放核算方法与报告指南 (heat factor 0.11 tCO2/GJ)",
            2022,
        ),
        f(
            Water,
            Co2e,
            0.0,
            1.0,
            "tCO2/t",
            "not counted: water supply emissions are indirect (scope 3)",
            "platform convention",
            2024,
        ),
    ]
}

/// The part of a factor that the arithmetic needs: tonnes of `quantity` per unit of `carrier`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub carrier: Carrier,
    pub quantity: Quantity,
    pub factor: f64,
}

impl Factor {
    pub fn rate(&self) -> Rate {
        Rate { carrier: self.carrier, quantity: self.quantity, factor: self.factor }
    }
}

/// Yearly savings per carrier, money saved per year and the investment, as entered or measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Savings {
    pub electricity_kwh: f64,
    pub coal_t: f64,
    pub natural_gas_m3: f64,
    pub steam_t: f64,
    pub water_t: f64,
    pub money_yuan: f64,
    pub investment_yuan: f64,
}

/// A savings figure with its conversions and the factor version they used.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Converted {
    pub savings: Savings,
    pub tce: f64,
    pub tco2e: f64,
    pub factor_version: i64,
}

impl Savings {
    pub fn amount(&self, carrier: Carrier) -> f64 {
        match carrier {
            Carrier::Electricity => self.electricity_kwh,
            Carrier::Coal => self.coal_t,
            Carrier::NaturalGas => self.natural_gas_m3,
            Carrier::Steam => self.steam_t,
            Carrier::Water => self.water_t,
            Carrier::Money => self.money_yuan,
        }
    }

    pub fn set(&mut self, carrier: Carrier, value: f64) {
        match carrier {
            Carrier::Electricity => self.electricity_kwh = value,
            Carrier::Coal => self.coal_t = value,
            Carrier::NaturalGas => self.natural_gas_m3 = value,
            Carrier::Steam => self.steam_t = value,
            Carrier::Water => self.water_t = value,
            Carrier::Money => self.money_yuan = value,
        }
    }

    /// The first field that is not a finite number ≥ 0 (savings here are reductions), if any.
    pub fn invalid_field(&self) -> Option<&'static str> {
        [
            ("electricityKwh", self.electricity_kwh),
            ("coalT", self.coal_t),
            ("naturalGasM3", self.natural_gas_m3),
            ("steamT", self.steam_t),
            ("waterT", self.water_t),
            ("moneyYuan", self.money_yuan),
            ("investmentYuan", self.investment_yuan),
        ]
        .into_iter()
        .find(|(_, v)| !v.is_finite() || *v < 0.0 || *v > 1e15)
        .map(|(name, _)| name)
    }

    /// Converts with the rates of one factor-table version.
    pub fn convert(self, version: i64, rates: &[Rate]) -> Converted {
        let total =
            |q: Quantity| rates.iter().filter(|r| r.quantity == q).map(|r| r.factor * self.amount(r.carrier)).sum();
        Converted { savings: self, tce: total(Quantity::Tce), tco2e: total(Quantity::Co2e), factor_version: version }
    }

    /// Years until the investment is paid back by the money saved; `None` when nothing is saved.
    pub fn payback_years(&self) -> Option<f64> {
        (self.money_yuan > 0.0).then(|| self.investment_yuan / self.money_yuan)
    }

    pub fn add(&self, o: &Savings) -> Savings {
        Savings {
            electricity_kwh: self.electricity_kwh + o.electricity_kwh,
            coal_t: self.coal_t + o.coal_t,
            natural_gas_m3: self.natural_gas_m3 + o.natural_gas_m3,
            steam_t: self.steam_t + o.steam_t,
            water_t: self.water_t + o.water_t,
            money_yuan: self.money_yuan + o.money_yuan,
            investment_yuan: self.investment_yuan + o.investment_yuan,
        }
    }

    pub fn scale(&self, k: f64) -> Savings {
        Savings {
            electricity_kwh: self.electricity_kwh * k,
            coal_t: self.coal_t * k,
            natural_gas_m3: self.natural_gas_m3 * k,
            steam_t: self.steam_t * k,
            water_t: self.water_t * k,
            money_yuan: self.money_yuan * k,
            investment_yuan: self.investment_yuan * k,
        }
    }
}

/// A pilot measurement: consumption over the same length of period before and after the change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    pub carrier: Carrier,
    pub baseline: f64,
    pub after: f64,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
}

impl Measurement {
    /// Length of the period in days, both ends included.
    pub fn days(&self) -> i64 {
        (self.period_end - self.period_start).num_days() + 1
    }

    /// What the change saves in a year, scaled from the measured period.
    pub fn yearly_saving(&self) -> f64 {
        (self.baseline - self.after) * 365.0 / self.days() as f64
    }

    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if !self.baseline.is_finite() || self.baseline < 0.0 {
            return Err(("baseline", "baseline must be a number ≥ 0 / 基准值须为非负数"));
        }
        if !self.after.is_finite() || self.after < 0.0 {
            return Err(("after", "after must be a number ≥ 0 / 改后值须为非负数"));
        }
        if self.period_end < self.period_start {
            return Err(("periodEnd", "the period ends before it starts / 结束日期早于开始日期"));
        }
        Ok(())
    }
}

/// Verified yearly savings from pilot measurements: per carrier, the latest measurement counts.
/// `measurements` must be in recording order. Investment is the pilot's actual investment.
pub fn verified_savings(measurements: &[Measurement], investment_yuan: f64) -> Savings {
    let mut s = Savings { investment_yuan, ..Savings::default() };
    for m in measurements {
        s.set(m.carrier, m.yearly_saving());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn converts_with_published_factors() {
        let s = Savings {
            electricity_kwh: 1_000_000.0,
            coal_t: 10.0,
            money_yuan: 600_000.0,
            investment_yuan: 1_200_000.0,
            ..Default::default()
        };
        let rates: Vec<Rate> = default_factors().iter().map(Factor::rate).collect();
        let c = s.convert(1, &rates);
        // 1e6 kWh × 0.1229 kgce/kWh = 122.9 tce; 10 t coal × 0.7143 = 7.143 tce.
        assert!((c.tce - (122.9 + 7.143)).abs() < 1e-9, "{}", c.tce);
        // 1e6 kWh × 0.5306 kgCO2/kWh = 530.6 t; 10 t × 1.9003 = 19.003 t.
        assert!((c.tco2e - (530.6 + 19.003)).abs() < 1e-9, "{}", c.tco2e);
        assert_eq!(c.factor_version, 1);
        assert_eq!(s.payback_years(), Some(2.0));
        assert_eq!(Savings::default().payback_years(), None);
    }

    #[test]
    fn measurements_are_annualised_and_latest_wins() {
        let m1 = Measurement {
            carrier: Carrier::Electricity,
            baseline: 100.0,
            after: 50.0,
            period_start: d("2026-01-01"),
            period_end: d("2026-01-10"),
        };
        assert_eq!(m1.days(), 10);
        assert!((m1.yearly_saving() - 50.0 * 36.5).abs() < 1e-9);
        let m2 = Measurement {
            baseline: 200.0,
            after: 100.0,
            period_start: d("2026-02-01"),
            period_end: d("2026-02-28"),
            ..m1
        };
        let v = verified_savings(&[m1, m2], 5.0);
        assert!((v.electricity_kwh - 100.0 * 365.0 / 28.0).abs() < 1e-9);
        assert_eq!(v.investment_yuan, 5.0);
        let bad = Measurement { period_end: d("2025-12-01"), ..m1 };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn negative_or_non_finite_savings_are_invalid() {
        assert_eq!(Savings { coal_t: -1.0, ..Default::default() }.invalid_field(), Some("coalT"));
        assert_eq!(Savings { money_yuan: f64::NAN, ..Default::default() }.invalid_field(), Some("moneyYuan"));
        assert_eq!(Savings::default().invalid_field(), None);
    }
}
