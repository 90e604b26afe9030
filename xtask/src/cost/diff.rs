//! The cost change between two plans (`cost-report <env> --compare-to <base plan JSON>`): each plan
//! priced in full, each resource's monthly cost compared by address, the changed ones listed with their
//! delta, and the totals before, after and the change — as a table, the markdown a pull request comment
//! shows, or JSON. The gate is the new plan's (its total against the budget, nothing unpriced).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use super::estimate::Estimate;
use super::report::{money, text_table};
use super::{Priced, Report};

/// The two plans compared: `base` (what the environment costs now, e.g. the base branch's plan) and
/// `report` (the new plan, the one gated).
pub struct Diff<'a> {
    pub base: &'a Priced,
    pub base_path: &'a Path,
    pub report: Report<'a>,
}

/// One resource whose monthly cost changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub address: String,
    pub rtype: String,
    pub before: f64,
    pub after: f64,
}

impl Row {
    pub fn delta(&self) -> f64 {
        self.after - self.before
    }
}

/// A change smaller than half a cent is no change.
const CENT: f64 = 0.005;

/// Monthly cost per address (every component of a resource together).
fn by_address(e: &Estimate) -> BTreeMap<&str, (&str, f64)> {
    let mut out: BTreeMap<&str, (&str, f64)> = BTreeMap::new();
    for l in &e.lines {
        out.entry(l.address.as_str()).or_insert((l.rtype.as_str(), 0.0)).1 += l.monthly();
    }
    out
}

/// `+$1.00`, `-$2.50`, `$0.00`.
pub fn signed(v: f64) -> String {
    if v >= CENT {
        format!("+{}", money(v))
    } else {
        money(v)
    }
}

impl Diff<'_> {
    fn before(&self) -> f64 {
        self.base.estimate.total()
    }
    fn after(&self) -> f64 {
        self.report.priced.estimate.total()
    }

    /// The resources whose monthly cost changes, the largest change first.
    pub fn rows(&self) -> Vec<Row> {
        let (a, b) = (by_address(&self.base.estimate), by_address(&self.report.priced.estimate));
        let mut addresses: Vec<&str> = a.keys().chain(b.keys()).copied().collect();
        addresses.sort();
        addresses.dedup();
        let mut rows: Vec<Row> = addresses
            .into_iter()
            .map(|addr| {
                let (before, after) = (a.get(addr), b.get(addr));
                let rtype = after.or(before).map(|x| x.0).unwrap_or_default();
                Row {
                    address: addr.to_string(),
                    rtype: rtype.to_string(),
                    before: before.map_or(0.0, |x| x.1),
                    after: after.map_or(0.0, |x| x.1),
                }
            })
            .filter(|r| r.delta().abs() >= CENT)
            .collect();
        rows.sort_by(|x, y| y.delta().abs().total_cmp(&x.delta().abs()).then_with(|| x.address.cmp(&y.address)));
        rows
    }

    fn headline(&self) -> String {
        let change = self.after() - self.before();
        let pct =
            if self.before() >= CENT { format!(" ({:+.1}%)", change / self.before() * 100.0) } else { String::new() };
        format!("{} → {}/month: {}/month{pct}", money(self.before()), money(self.after()), signed(change))
    }

    fn unpriced_lines(&self) -> Vec<String> {
        self.report
            .priced
            .estimate
            .unpriced
            .iter()
            .map(|u| format!("unpriced: {} — {} ({})", u.rtype, u.reason, u.address))
            .collect()
    }

    pub fn table(&self) -> String {
        let rows = self.rows();
        let mut out = format!(
            "Cost change for `{}` (monthly, USD)\nbase: {}\n{}\n\n",
            self.report.env,
            self.base_path.display(),
            self.report.note
        );
        let mut cells: Vec<[String; 4]> = vec![["resource".into(), "before".into(), "after".into(), "change".into()]];
        for r in &rows {
            cells.push([r.address.clone(), money(r.before), money(r.after), signed(r.delta())]);
        }
        out.push_str(&text_table(&cells, [false, true, true, true]));
        if rows.is_empty() {
            out.push_str("(no resource changes its monthly cost)\n");
        }
        out.push('\n');
        for u in self.unpriced_lines() {
            let _ = writeln!(out, "{u}");
        }
        let _ = writeln!(out, "{}", self.report.assumptions());
        let _ = writeln!(out, "\ntotal:  {}", self.headline());
        let _ = writeln!(out, "budget: {}", self.report.budget_text());
        let _ = writeln!(out, "{}", self.report.verdict());
        out
    }

    /// What the pull request comment shows under the plan summary.
    pub fn markdown(&self) -> String {
        let rows = self.rows();
        let change = self.after() - self.before();
        let mut out = format!("### Cost change: `{}` {}/month\n\n", self.report.env, signed(change));
        let _ =
            writeln!(out, "{} — budget {} — {}\n", self.headline(), self.report.budget_text(), self.report.verdict());
        let cell = |s: &str| s.replace('|', "\\|").replace('`', "'");
        if rows.is_empty() {
            out.push_str("No resource changes its monthly cost.\n\n");
        } else {
            out.push_str("| resource | before | after | change |\n|---|--:|--:|--:|\n");
            for r in &rows {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} |",
                    cell(&r.address),
                    money(r.before),
                    money(r.after),
                    signed(r.delta())
                );
            }
            let _ = writeln!(
                out,
                "| **total** | {} | {} | **{}** |\n",
                money(self.before()),
                money(self.after()),
                signed(change)
            );
        }
        for u in self.unpriced_lines() {
            let _ = writeln!(out, "- {}", cell(&u));
        }
        let _ = writeln!(out, "- base: `{}`; {}", cell(&self.base_path.display().to_string()), cell(self.report.note));
        let _ = writeln!(out, "- {}\n", self.report.assumptions());
        out
    }

    pub fn json(&self) -> Value {
        let round = |v: f64| (v * 100.0).round() / 100.0;
        let mut new = self.report.json();
        new["base_plan"] = json!(self.base_path.display().to_string());
        new["base_total_monthly_usd"] = json!(round(self.before()));
        new["change_monthly_usd"] = json!(round(self.after() - self.before()));
        new["changes"] = self
            .rows()
            .iter()
            .map(|r| {
                json!({"address": r.address, "type": r.rtype, "before_monthly_usd": round(r.before),
                       "after_monthly_usd": round(r.after), "change_monthly_usd": round(r.delta())})
            })
            .collect();
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_are_shown_for_increases_only() {
        assert_eq!(signed(12.345), "+$12.35");
        assert_eq!(signed(-3.0), "-$3.00");
        assert_eq!(signed(0.001), "$0.00");
    }
}
