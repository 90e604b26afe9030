//! The budget terraform sets and the report: table, markdown and JSON of a priced plan.

use std::path::Path;

use serde_json::Value;

use super::{PRICES, USAGE};
use std::fmt::Write as _;

use serde_json::json;

use super::Priced;
use crate::env_files::EnvFiles;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Budget {
    Set(f64),
    /// Why there is none (the gate is skipped).
    Missing(String),
}

pub(super) fn budget(env: EnvFiles<'_>) -> Budget {
    let file = env.shown_main_tf();
    match env.stack_argument("monthly_budget_usd") {
        Ok(Some(expr)) => match expr.as_number().and_then(|n| n.as_f64()) {
            Some(v) => Budget::Set(v),
            None => Budget::Missing(format!("monthly_budget_usd in {file} is not a number literal: gate skipped")),
        },
        Ok(None) => Budget::Missing(format!("no monthly_budget_usd in module \"stack\" of {file}: gate skipped")),
        Err(e) => Budget::Missing(format!("budget unknown ({e:#}): gate skipped")),
    }
}

pub struct Report<'a> {
    pub env: &'a str,
    pub plan: &'a Path,
    pub note: &'a str,
    pub priced: &'a Priced,
}

/// A text table: columns two spaces apart, each as wide as its widest cell (left-aligned, or right
/// where `right` says), and a rule under the first row, the header.
pub(super) fn text_table<const N: usize>(rows: &[[String; N]], right: [bool; N]) -> String {
    let w: Vec<usize> = (0..N).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = (row.iter().zip(&w).zip(right))
            .map(|((cell, &w), right)| if right { format!("{cell:>w$}") } else { format!("{cell:<w$}") })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  "));
        if i == 0 {
            let _ = writeln!(out, "{}", "-".repeat(w.iter().sum::<usize>() + 2 * (N - 1)));
        }
    }
    out
}

pub fn money(v: f64) -> String {
    let cents = (v * 100.0).round() as i64;
    let (whole, frac) = (cents.abs() / 100, cents.abs() % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}${grouped}.{frac:02}", if cents < 0 { "-" } else { "" })
}

pub(super) fn unit_price(v: f64) -> String {
    let s = format!("{v:.5}");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let frac = frac.trim_end_matches('0');
    format!("${whole}.{frac:0<2}")
}

pub(super) fn qty(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl Report<'_> {
    pub(super) fn verdict(&self) -> String {
        let total = self.priced.estimate.total();
        let incomplete = if self.priced.estimate.unpriced.is_empty() {
            String::new()
        } else {
            format!(" — incomplete: {} unpriced", self.priced.estimate.unpriced.len())
        };
        match &self.priced.budget {
            Budget::Set(b) if total > *b => format!("OVER BUDGET by {}{incomplete}", money(total - b)),
            Budget::Set(b) => format!("within budget ({:.0}% of it){incomplete}", total / b * 100.0),
            Budget::Missing(why) => format!("{why}{incomplete}"),
        }
    }

    pub(super) fn budget_text(&self) -> String {
        match &self.priced.budget {
            Budget::Set(b) => format!("{}/month", money(*b)),
            Budget::Missing(_) => "none".into(),
        }
    }

    pub(super) fn assumptions(&self) -> String {
        let a = &self.priced.prices.assumptions;
        format!(
            "prices: {PRICES} (on-demand list prices checked {}; {} h/month; spot assumed {:.0}% off), usage: {USAGE}",
            self.priced.prices.source.get("checked").map(String::as_str).unwrap_or("?"),
            a.hours_per_month,
            a.spot_discount * 100.0
        )
    }

    pub(super) fn free_text(&self) -> String {
        let total: usize = self.priced.estimate.free.values().sum();
        let kinds: Vec<String> = self.priced.estimate.free.iter().map(|(t, n)| format!("{t} ×{n}")).collect();
        format!("{total} resources cost nothing by themselves: {}", kinds.join(", "))
    }

    pub fn table(&self) -> String {
        let e = &self.priced.estimate;
        let mut rows: Vec<[String; 5]> =
            vec![["resource".into(), "component".into(), "quantity".into(), "unit price".into(), "monthly".into()]];
        for l in &e.lines {
            rows.push([
                l.address.clone(),
                l.what.clone(),
                format!("{} {}", qty(l.quantity), l.unit),
                unit_price(l.unit_price),
                money(l.monthly()),
            ]);
        }
        let mut out = format!("Cost estimate for `{}` (monthly, USD)\n{}\n\n", self.env, self.note);
        out.push_str(&text_table(&rows, [false, false, true, true, true]));
        out.push('\n');
        for u in &e.unpriced {
            let _ = writeln!(out, "unpriced: {} — {} ({})", u.rtype, u.reason, u.address);
        }
        for n in &e.notes {
            let _ = writeln!(out, "warning: {n}");
        }
        let _ = writeln!(out, "{}", self.free_text());
        let _ = writeln!(out, "{}", self.assumptions());
        let _ = writeln!(
            out,
            "\ntotal:  {}/month ({} resources priced from {})",
            money(e.total()),
            e.resources,
            self.plan.display()
        );
        let _ = writeln!(out, "budget: {}", self.budget_text());
        let _ = writeln!(out, "{}", self.verdict());
        out
    }

    pub fn markdown(&self) -> String {
        let e = &self.priced.estimate;
        let mut out = format!("### Cost estimate: `{}`\n\n", self.env);
        let _ = writeln!(out, "**{}/month** — budget {} — {}\n", money(e.total()), self.budget_text(), self.verdict());
        out.push_str("| resource | component | quantity | unit price | monthly |\n|---|---|--:|--:|--:|\n");
        let cell = |s: &str| s.replace('|', "\\|");
        for l in &e.lines {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} {} | {} | {} |",
                cell(&l.address),
                cell(&l.what),
                qty(l.quantity),
                l.unit,
                unit_price(l.unit_price),
                money(l.monthly())
            );
        }
        let _ = writeln!(out, "| **total** | | | | **{}** |\n", money(e.total()));
        for u in &e.unpriced {
            let _ = writeln!(out, "- unpriced: `{}` — {} (`{}`)", u.rtype, cell(&u.reason), cell(&u.address));
        }
        for n in &e.notes {
            let _ = writeln!(out, "- warning: {}", cell(n));
        }
        let _ = writeln!(out, "- {}", self.free_text());
        let _ = writeln!(out, "- {}", self.note);
        let _ = writeln!(out, "- {}\n", self.assumptions());
        out
    }

    pub fn json(&self) -> Value {
        let e = &self.priced.estimate;
        json!({
            "environment": self.env,
            "plan": self.plan.display().to_string(),
            "plan_note": self.note,
            "regions": e.regions,
            "resources": e.resources,
            "total_monthly_usd": (e.total() * 100.0).round() / 100.0,
            "budget_monthly_usd": match &self.priced.budget { Budget::Set(b) => json!(b), Budget::Missing(_) => Value::Null },
            "budget_note": match &self.priced.budget { Budget::Missing(w) => json!(w), Budget::Set(_) => Value::Null },
            "within_budget": match &self.priced.budget { Budget::Set(b) => json!(e.total() <= *b), Budget::Missing(_) => Value::Null },
            "lines": e.lines.iter().map(|l| json!({
                "address": l.address,
                "type": l.rtype,
                "component": l.what,
                "quantity": l.quantity,
                "unit": l.unit,
                "unit_price_usd": l.unit_price,
                "monthly_usd": (l.monthly() * 10000.0).round() / 10000.0,
            })).collect::<Vec<_>>(),
            "unpriced": e.unpriced.iter().map(|u| json!({"address": u.address, "type": u.rtype, "reason": u.reason})).collect::<Vec<_>>(),
            "free": e.free,
            "notes": e.notes,
            "assumptions": {
                "hours_per_month": self.priced.prices.assumptions.hours_per_month,
                "spot_discount": self.priced.prices.assumptions.spot_discount,
                "prices_checked": self.priced.prices.source.get("checked"),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_table_aligns_its_columns_under_a_ruled_header() {
        let rows = [["resource", "monthly"], ["aws_vpc.main", "0.00"], ["aws_nat_gateway.é", "32.85"]]
            .map(|r| r.map(String::from));
        let expected = "\
resource           monthly
--------------------------
aws_vpc.main          0.00
aws_nat_gateway.é    32.85
";
        assert_eq!(text_table(&rows, [false, true]), expected);
    }

    #[test]
    fn money_is_grouped_and_rounded() {
        assert_eq!(money(1234567.891), "$1,234,567.89");
        assert_eq!(money(0.004), "$0.00");
        assert_eq!(unit_price(0.0208), "$0.0208");
        assert_eq!(unit_price(1.0), "$1.00");
    }
}
