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
    /// The published evaluation criteria and weights (the latest version, or the one asked for). Public. 公布的评价指标与权重（最新版本或指定版本）。公开。
    async fn evaluation_criteria(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A version; the latest when absent. 版本号（缺省为最新）。")] version: Option<i64>,
    ) -> Result<Option<EvaluationCriteria>> {
        Ok(EvaluationCriteria::load(ctx, version).await?)
    }

    /// The conversion factors to tce and tCO2e, each with its source and year (the latest version, or the one asked for). Public. 折算为吨标准煤与吨二氧化碳当量的系数及其出处和年份（最新或指定版本）。公开。
    async fn conversion_factors(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A version; the latest when absent. 版本号（缺省为最新）。")] version: Option<i64>,
    ) -> Result<Vec<ConversionFactor>> {
        Ok(read!(ctx, |s| s.factors(version).await).into_iter().filter_map(ConversionFactor::from_row).collect())
    }

    /// The industry catalogue of techniques, newest first. Public. 行业技术目录，最新的在前。公开。
    async fn techniques(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this industry. 仅该行业。")] industry: Option<Industry>,
        #[graphql(
            desc = "Page size forward (0–100; 20 when neither first nor last is given). 向后翻页的每页数量（0–100，默认20）。"
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Items after this cursor (an `endCursor` of this same list). 从该游标之后开始（须为本列表的游标）。"
        )]
        after: Option<String>,
        #[graphql(desc = "Page size backward, from `before` or from the end (0–100). 向前翻页的每页数量（0–100）。")]
        last: Option<i32>,
        #[graphql(
            desc = "Items before this cursor (a `startCursor` of this same list). 到该游标之前为止（须为本列表的游标）。"
        )]
        before: Option<String>,
    ) -> Result<Conn<Technique>> {
        let page = Keyset::of("techniques", &PageArgs::new(first, after, last, before))?;
        let industry = industry.map(|i| i.as_str());
        let rows_page = page.rows();
        let (rows, total) = read!(ctx, |s| s.techniques(industry, &rows_page).await);
        Ok(page.page("techniques", rows.into_iter().map(|r| (r.id, Technique(r))).collect(), total))
    }
}
