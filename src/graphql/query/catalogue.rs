//! The public reference data and the catalogue: `evaluationCriteria`, `conversionFactors`, `techniques`.

use async_graphql::{Context, Object, Result};

use crate::{
    domain::organisation::Industry,
    graphql::{
        connection::{Conn, Keyset, PageArgs},
        types::{evaluation::EvaluationCriteria, savings::ConversionFactor, Technique},
    },
    read,
};

#[derive(Default)]
pub struct CatalogueQuery;

#[Object]
impl CatalogueQuery {
    /// The published evaluation criteria and weights (the latest version, or the one asked for). Public.
    async fn evaluation_criteria(&self, ctx: &Context<'_>, version: Option<i64>) -> Result<Option<EvaluationCriteria>> {
        Ok(EvaluationCriteria::load(ctx, version).await?)
    }

    /// The conversion factors to tce and tCO2e, each with its source and year (the latest version, or the one asked for). Public.
    async fn conversion_factors(&self, ctx: &Context<'_>, version: Option<i64>) -> Result<Vec<ConversionFactor>> {
        Ok(read!(ctx, |s| s.factors(version).await).into_iter().filter_map(ConversionFactor::from_row).collect())
    }

    /// The industry catalogue of techniques, newest first. Public.
    async fn techniques(
        &self,
        ctx: &Context<'_>,
        industry: Option<Industry>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Technique>> {
        let page = Keyset::of("techniques", &PageArgs::new(first, after, last, before))?;
        let industry = industry.map(|i| i.as_str());
        let rows_page = page.rows();
        let (rows, total) = read!(ctx, |s| s.techniques(industry, &rows_page).await);
        Ok(page.page("techniques", rows.into_iter().map(|r| (r.id, Technique(r))).collect(), total))
    }
}
