//! `--actual`: last month's spend from Cost Explorer, as the report prints it.

use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use serde::Deserialize;

use super::report::money;
use crate::engine::Cmd;
use crate::target::Target;

/// The first day of last month and of this month.
pub fn last_month() -> (String, String) {
    let today = time::OffsetDateTime::now_utc().date();
    let this = time::Date::from_calendar_date(today.year(), today.month(), 1).expect("a date");
    let prev_month = today.month().previous();
    let prev_year = if prev_month == time::Month::December { today.year() - 1 } else { today.year() };
    let prev = time::Date::from_calendar_date(prev_year, prev_month, 1).expect("a date");
    (crate::clock::date(prev), crate::clock::date(this))
}

/// Cost Explorer's `get-cost-and-usage` answer, as far as the report reads it.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CostAndUsage {
    #[serde(default)]
    results_by_time: Vec<Period>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Period {
    #[serde(default)]
    groups: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Group {
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    metrics: Metrics,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Metrics {
    #[serde(default)]
    unblended_cost: Metric,
}

/// An amount as Cost Explorer writes it: a decimal in a string, and its unit.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Metric {
    #[serde(default)]
    amount: Option<String>,
    #[serde(default)]
    unit: Option<String>,
}

/// Each group's keys, unblended cost and unit, the largest first.
pub(super) fn groups(answer: &str) -> Result<Vec<(Vec<String>, f64, String)>> {
    let answer: CostAndUsage = serde_json::from_str(answer).context("Cost Explorer's answer is not JSON")?;
    let mut out = Vec::new();
    for g in answer.results_by_time.into_iter().flat_map(|p| p.groups) {
        let m = g.metrics.unblended_cost;
        let amount: f64 = m.amount.and_then(|a| a.parse().ok()).unwrap_or(0.0);
        out.push((g.keys, amount, m.unit.unwrap_or_else(|| "USD".to_string())));
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(out)
}

pub fn actual_report(
    env: &str,
    start: &str,
    end: &str,
    by_service: &str,
    by_tag: &str,
    emulated: bool,
) -> Result<String> {
    let services = groups(by_service)?;
    let tags = groups(by_tag)?;
    let mut out = format!("Actual spend of `{env}` from {start} to {end} (exclusive), Cost Explorer, unblended\n\n");
    if services.is_empty() && tags.is_empty() {
        out.push_str("Cost Explorer returned no cost data for this period.\n");
        if emulated {
            out.push_str(
                "This is the local emulator's Cost Explorer: it holds no billing data (it answers only what a test seeds into it), so there is no real spend to report.\n",
            );
        } else {
            out.push_str("Check that the Project and Environment tags are activated as cost-allocation tags (Billing → Cost allocation tags); activation is not retroactive.\n");
        }
        return Ok(out);
    }
    let total: f64 = services.iter().map(|g| g.1).sum();
    let _ = writeln!(out, "By service (resources tagged Project/Environment = {env}):");
    for (keys, amount, unit) in &services {
        let _ = writeln!(out, "  {:<50} {:>12} {unit}", keys.join(" / "), money(*amount));
    }
    let _ = writeln!(out, "  {:<50} {:>12}\n", "total", money(total));
    let _ = writeln!(out, "By cost-allocation tag Project / Environment (the whole account):");
    for (keys, amount, unit) in &tags {
        let label: Vec<String> =
            keys.iter().map(|k| if k.ends_with('$') { format!("{k}(untagged)") } else { k.clone() }).collect();
        let _ = writeln!(out, "  {:<50} {:>12} {unit}", label.join(" / "), money(*amount));
    }
    if emulated {
        out.push_str("\n(from the local emulator: seeded data, not real spend)\n");
    }
    Ok(out)
}

/// The two Cost Explorer questions `--actual` asks (`base`: the environment's `aws` command): last
/// month's spend tagged with the project and environment, by service; and all of it by those tags.
pub fn cost_explorer_cmds(base: &Cmd, target: &Target, start: &str, end: &str) -> (Cmd, Cmd) {
    let base = base.clone().args([
        "ce",
        "get-cost-and-usage",
        "--time-period",
        &format!("Start={start},End={end}"),
        "--granularity",
        "MONTHLY",
        "--metrics",
        "UnblendedCost",
    ]);
    let filter = serde_json::json!({"And": [
        {"Tags": {"Key": "Project", "Values": [target.config.project]}},
        {"Tags": {"Key": "Environment", "Values": [target.env.name]}},
    ]});
    let by_service = base
        .clone()
        .args(["--group-by", "Type=DIMENSION,Key=SERVICE", "--filter"])
        .arg(filter.to_string())
        .args(["--output", "json"]);
    let by_tag = base.args(["--group-by", "Type=TAG,Key=Project", "Type=TAG,Key=Environment", "--output", "json"]);
    (by_service, by_tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_explorer_groups_are_read_largest_first() {
        let answer = r#"{"GroupDefinitions":[{"Type":"DIMENSION","Key":"SERVICE"}],"ResultsByTime":[
            {"TimePeriod":{"Start":"2026-11-01","End":"2026-12-01"},"Total":{},"Groups":[
              {"Keys":["Amazon Simple Storage Service"],"Metrics":{"UnblendedCost":{"Amount":"1.5","Unit":"USD"}}},
              {"Keys":["Amazon Elastic Kubernetes Service"],"Metrics":{"UnblendedCost":{"Amount":"73.0"}}},
              {"Keys":["Tax"],"Metrics":{}}],"Estimated":false}],"DimensionValueAttributes":[]}"#;
        let got = groups(answer).unwrap();
        assert_eq!(
            got,
            [
                (vec!["Amazon Elastic Kubernetes Service".to_string()], 73.0, "USD".to_string()),
                (vec!["Amazon Simple Storage Service".to_string()], 1.5, "USD".to_string()),
                (vec!["Tax".to_string()], 0.0, "USD".to_string()),
            ]
        );
        assert!(groups("{}").unwrap().is_empty());
        assert!(groups("not json").is_err());
    }

    #[test]
    fn last_month_is_a_whole_month() {
        let (a, b) = last_month();
        assert!(a.ends_with("-01") && b.ends_with("-01") && a < b, "{a} {b}");
    }
}
