//! What an estimate is made of: priced lines, unpriced resources, and the pass state a resource's rule
//! reads (`Res`) and writes (`Pass`).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::inputs::*;

/// One priced component of one resource.
#[derive(Debug, Clone)]
pub struct Line {
    pub address: String,
    pub rtype: String,
    pub what: String,
    pub quantity: f64,
    pub unit: &'static str,
    pub unit_price: f64,
}

impl Line {
    pub fn monthly(&self) -> f64 {
        self.quantity * self.unit_price
    }
}

#[derive(Debug, Clone)]
pub struct Unpriced {
    pub address: String,
    pub rtype: String,
    pub reason: String,
}

#[derive(Default)]
pub struct Estimate {
    pub lines: Vec<Line>,
    pub unpriced: Vec<Unpriced>,
    /// Resource type → how many resources of it cost nothing.
    pub free: BTreeMap<String, usize>,
    pub resources: usize,
    pub regions: Vec<String>,
    /// Warnings about what drives the cost (e.g. EKS extended support).
    pub notes: Vec<String>,
}

impl Estimate {
    pub fn total(&self) -> f64 {
        self.lines.iter().map(Line::monthly).sum()
    }
}

pub(super) struct Regions<'a> {
    pub(super) primary: &'a str,
    pub(super) dr: &'a str,
    pub(super) dr_addresses: &'a HashSet<String>,
}

/// What a resource's rule needs.
pub(super) struct Res<'a> {
    pub(super) address: &'a str,
    pub(super) rtype: &'a str,
    pub(super) module: &'a str,
    pub(super) index: Option<&'a Value>,
    pub(super) after: &'a Value,
    pub(super) usage: UsageOf<'a>,
    pub(super) p: &'a RegionPrices,
    pub(super) region: &'a str,
}

/// What the pass collects for the rules that need another resource (node disks from launch templates,
/// replicas from their source database) — settled after the pass, without reading anything again.
#[derive(Default)]
pub(super) struct Pass {
    pub(super) lines: Vec<Line>,
    pub(super) unpriced: Vec<Unpriced>,
    pub(super) launch_disks: HashMap<(String, String), (f64, String)>,
    pub(super) node_disks: Vec<(Line, String, String, f64)>,
    pub(super) databases: HashMap<String, (String, f64, String)>,
    pub(super) replicas: Vec<PendingReplica>,
    pub(super) trails: usize,
    pub(super) dashboards: usize,
    pub(super) has_cluster: bool,
    pub(super) hours: f64,
    pub(super) spot_discount: f64,
    /// Kubernetes minor → the day its EKS standard support ends (k8s/eks-versions.toml).
    pub(super) support_ends: HashMap<String, time::Date>,
    /// The first day of the month priced.
    pub(super) today: Option<time::Date>,
    pub(super) notes: Vec<String>,
}

pub(super) struct PendingReplica {
    pub(super) address: String,
    pub(super) source: String,
    pub(super) engine: Option<String>,
    pub(super) class: String,
    pub(super) storage: Option<(f64, String)>,
    pub(super) multi_az: bool,
    pub(super) region: String,
}

pub(super) type Rule = fn(&Res, &mut Pass);

/// A type priced by one usage figure alone (0 when cost/usage.toml gives none): the type, the line,
/// the usage key, how much of the figure makes one unit, the unit and its price. A type with two rows
/// gets two lines.
pub(super) type Metered = (&'static str, &'static str, &'static str, f64, &'static str, fn(&RegionPrices) -> f64);

impl Pass {
    pub(super) fn add(&mut self, r: &Res, what: impl Into<String>, quantity: f64, unit: &'static str, unit_price: f64) {
        self.lines.push(Line {
            address: r.address.to_string(),
            rtype: r.rtype.to_string(),
            what: what.into(),
            quantity,
            unit,
            unit_price,
        });
    }
    pub(super) fn unpriced(&mut self, r: &Res, reason: impl Into<String>) {
        self.unpriced.push(Unpriced {
            address: r.address.to_string(),
            rtype: r.rtype.to_string(),
            reason: reason.into(),
        });
    }
    pub(super) fn hours(&mut self, r: &Res, what: impl Into<String>, count: f64, hourly: f64) {
        let h = self.hours;
        self.add(r, what, count * h, "hours", hourly)
    }
}

pub(super) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}
pub(super) fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}
pub(super) fn first<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).and_then(|x| x.as_array()).and_then(|a| a.first()).unwrap_or(&Value::Null)
}
pub(super) fn usage_note(r: &Res, key: &str) -> &'static str {
    if r.usage.get(key).is_some() {
        ""
    } else {
        " (no usage given: 0)"
    }
}
