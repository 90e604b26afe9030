//! `cargo xtask cost-report <env>`: the monthly estimate of an environment from its terraform plan JSON,
//! priced from cost/prices.toml with the traffic in cost/usage.toml, against the budget terraform sets
//! (`monthly_budget_usd` of `module "stack"`); exit 1 when the estimate is over it. `--actual` reports
//! last month's spend from Cost Explorer instead.
//!
//! Pricing is one pass over `resource_changes`: one HashMap lookup for the resource type's rule, one for
//! its usage, one for its price. Resources the table can't price are listed as unpriced, never as $0.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Context as _, Result};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cli::{CostFormat, CostReportArgs, RunArgs};
use crate::engine::{usage, Pipeline, Step};
use crate::terraform::Target;
use crate::{bootstrap, Context};

pub const PRICES: &str = "cost/prices.toml";
pub const USAGE: &str = "cost/usage.toml";

pub fn run(ctx: &Context, args: CostReportArgs) -> Result<()> {
    if args.actual {
        return actual(ctx, &args);
    }
    let config = ctx.config()?;
    let env = config.env(&args.env)?.clone();
    let (plan_path, note) = choose_plan(ctx, &env.name, args.plan.as_deref())?;
    let priced = price(ctx, &env, &plan_path)?;
    let report = Report { env: &env.name, plan: &plan_path, note: &note, priced: &priced };
    match args.format {
        CostFormat::Table => {
            print!("{}", report.table());
            if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("opening GITHUB_STEP_SUMMARY {}", PathBuf::from(&path).display()))?;
                f.write_all(report.markdown().as_bytes()).context("writing the GitHub step summary")?;
            }
        }
        CostFormat::Markdown => print!("{}", report.markdown()),
        CostFormat::Json => println!("{}", serde_json::to_string_pretty(&report.json()).expect("JSON")),
    }
    if args.no_gate {
        return Ok(());
    }
    gate(&env.name, &priced, "--no-gate to report without failing")
}

/// An environment's plan priced, with the budget terraform sets for it.
pub struct Priced {
    estimate: Estimate,
    budget: Budget,
    prices: Prices,
}

impl Priced {
    /// One line: the total against the budget (for a pipeline step's note and the run summary).
    pub fn line(&self) -> String {
        let total = money(self.estimate.total());
        let unpriced = match self.estimate.unpriced.len() {
            0 => String::new(),
            n => format!(", {n} resource(s) unpriced"),
        };
        match &self.budget {
            Budget::Set(b) => format!("estimate {total}/month, budget {}/month{unpriced}", money(*b)),
            Budget::Missing(why) => format!("estimate {total}/month; {why}{unpriced}"),
        }
    }
}

/// faults: `validate`'s check of cost/usage.toml (every section, every key).
pub fn usage_findings(ctx: &Context) -> Result<Vec<crate::validate::Finding>> {
    let path = ctx.root.join(USAGE);
    let checked = UsageFile::load(&path).and_then(|f| f.check_all(&path, &ctx.config()?));
    Ok(match checked {
        Ok(()) => Vec::new(),
        Err(e) => {
            let text = format!("{e:#}");
            let prefix = format!("{}:", path.display());
            let rest = text.strip_prefix(&prefix).unwrap_or(&text);
            let (line, message) = match rest.split_once(": ") {
                Some((l, m)) if l.parse::<usize>().is_ok() => (l.parse().ok(), m.to_string()),
                _ => (None, rest.to_string()),
            };
            vec![crate::validate::Finding::new(&path, line, message)]
        }
    })
}

/// Prices a plan JSON for `env` from the repository's price table and usage file.
pub fn price(ctx: &Context, env: &crate::config::Environment, plan_path: &Path) -> Result<Priced> {
    let prices = Prices::load(&ctx.root.join(PRICES))?;
    let usage_file = UsageFile::load(&ctx.root.join(USAGE))?;
    usage_file.check_all(&ctx.root.join(USAGE), &ctx.config()?)?; // faults: the whole file, every time
    let traffic = usage_file.for_env(&env.name, &ctx.root.join(USAGE))?;
    let text = std::fs::read_to_string(plan_path)
        .map_err(|e| usage(format!("cannot read the plan {}: {e}", plan_path.display())))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "{}:{}: not a terraform plan JSON (`terraform show -json` of a saved plan): {e}",
            plan_path.display(),
            e.line()
        ))
    })?;
    let Some(changes) = &plan.resource_changes else {
        return Err(usage(format!(
            "{}: not a terraform plan JSON: it has no `resource_changes` (is it `terraform show -json` of a saved plan?)",
            plan_path.display()
        )));
    };
    let var = |name: &str| plan.variables.get(name).and_then(|v| v.value.as_str()).map(str::to_string);
    let region = var("region").unwrap_or_else(|| env.region.clone());
    let dr_region = var("dr_region").or_else(|| env.dr_region.clone()).unwrap_or_else(|| region.clone());
    let dr_addresses = plan.configuration.as_ref().map(dr_resources).unwrap_or_default();
    let regions = Regions { primary: &region, dr: &dr_region, dr_addresses: &dr_addresses };
    let estimate = estimate(changes, &prices, &traffic, &regions, &today())?;
    Ok(Priced { estimate, budget: budget(&ctx.root, &env.name), prices })
}

/// The gate: an error when the estimate is over the budget, or incomplete (something unpriced);
/// `override_flag` is the flag that lets the caller through.
pub fn gate(env: &str, priced: &Priced, override_flag: &str) -> Result<()> {
    let total = priced.estimate.total();
    if let Budget::Set(limit) = priced.budget {
        if total > limit {
            return Err(anyhow!(
                "{env}: the estimate {}/month is over the budget {}/month (monthly_budget_usd in {}); size the environment down, or pass {override_flag}",
                money(total),
                money(limit),
                main_tf(env)
            ));
        }
    }
    if !priced.estimate.unpriced.is_empty() {
        return Err(anyhow!(
            "{env}: {} resource(s) could not be priced, so the estimate {}/month is incomplete: add their prices to {PRICES}, or pass {override_flag}",
            priced.estimate.unpriced.len(),
            money(total)
        ));
    }
    Ok(())
}

fn main_tf(env: &str) -> String {
    format!("terraform/environments/{env}/main.tf")
}

/// The plan to price: `--plan FILE`, else the saved plan, else the emulated one (said so), else how to
/// get one. It does not plan by itself: a report stays quick and read-only, and `plan` is one command.
fn choose_plan(ctx: &Context, env: &str, explicit: Option<&Path>) -> Result<(PathBuf, String)> {
    if let Some(path) = explicit {
        return Ok((path.to_path_buf(), format!("plan: {} (--plan)", path.display())));
    }
    let plans = ctx.work.join("plans");
    let saved = plans.join(format!("{env}.plan.json"));
    if saved.is_file() {
        return Ok((saved.clone(), format!("plan: {} (the saved plan of `cargo xtask plan {env}`)", saved.display())));
    }
    let emulated = plans.join(format!("{env}-emulated.plan.json"));
    if emulated.is_file() {
        return Ok((
            emulated.clone(),
            format!(
                "plan: {} — EMULATED: no saved plan of `{env}` (it needs {env}'s AWS credentials), so this prices the emulated plan of `cargo xtask plan {env} --emulated`: every resource the environment would have, from empty state",
                emulated.display()
            ),
        ));
    }
    Err(usage(format!(
        "no plan of `{env}` to price (looked for {} and {}): run `cargo xtask plan {env}` (with {env}'s AWS credentials) or `cargo xtask plan {env} --emulated` (none needed), then this again",
        saved.display(),
        emulated.display()
    )))
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

// ---------------------------------------------------------------------------------------------------
// The plan

#[derive(Deserialize)]
struct Plan {
    resource_changes: Option<Vec<Change>>,
    #[serde(default)]
    variables: HashMap<String, Variable>,
    configuration: Option<Value>,
}

#[derive(Deserialize)]
struct Variable {
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct Change {
    address: String,
    #[serde(default)]
    module_address: Option<String>,
    #[serde(default)]
    mode: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    index: Option<Value>,
    change: ChangeBody,
}

#[derive(Deserialize)]
struct ChangeBody {
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    after: Option<Value>,
}

/// Addresses (without instance keys) of the resources configured with the DR provider (`aws.dr`).
fn dr_resources(configuration: &Value) -> HashSet<String> {
    fn walk(module: &Value, prefix: &str, out: &mut HashSet<String>) {
        for r in module["resources"].as_array().into_iter().flatten() {
            let key = r["provider_config_key"].as_str().unwrap_or_default();
            if key == "aws.dr" || key.ends_with(":aws.dr") {
                out.insert(format!("{prefix}{}", r["address"].as_str().unwrap_or_default()));
            }
        }
        for (name, call) in module["module_calls"].as_object().into_iter().flatten() {
            walk(&call["module"], &format!("{prefix}module.{name}."), out);
        }
    }
    let mut out = HashSet::new();
    walk(&configuration["root_module"], "", &mut out);
    out
}

/// `module.a["x"].aws_s3_bucket.b[0]` → `module.a.aws_s3_bucket.b`.
fn strip_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let (mut depth, mut quoted) = (0, false);
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The resource type in an address: the first part that is not `module.<name>`.
fn type_of(address: &str) -> Option<String> {
    let plain = strip_keys(address);
    let mut parts = plain.split('.');
    while let Some(p) = parts.next() {
        if p == "module" {
            parts.next();
        } else if p != "data" {
            return Some(p.to_string());
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------------
// The price table

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    #[allow(dead_code)]
    source: BTreeMap<String, String>,
    assumptions: Assumptions,
    eks_standard_support_ends: HashMap<String, String>,
    regions: HashMap<String, RegionPrices>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Assumptions {
    hours_per_month: f64,
    spot_discount: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionPrices {
    eks_cluster_hour: f64,
    eks_extended_support_hour: f64,
    nat_gateway_hour: f64,
    nat_gateway_gb: f64,
    public_ipv4_hour: f64,
    alb_hour: f64,
    alb_lcu_hour: f64,
    nlb_hour: f64,
    nlb_lcu_hour: f64,
    kms_key_month: f64,
    kms_requests_10k: f64,
    secret_month: f64,
    secret_api_calls_10k: f64,
    route53_zone_month: f64,
    route53_queries_million: f64,
    alarm_standard_month: f64,
    alarm_high_resolution_month: f64,
    composite_alarm_month: f64,
    dashboard_month: f64,
    dashboards_free: f64,
    custom_metric_month: f64,
    logs_ingest_gb: f64,
    logs_vended_gb: f64,
    logs_vended_s3_gb: f64,
    logs_storage_gb_month: f64,
    cloudtrail_data_events_100k: f64,
    cloudtrail_extra_management_events_100k: f64,
    guardduty_cloudtrail_events_million: f64,
    guardduty_flow_dns_gb: f64,
    guardduty_s3_data_events_million: f64,
    guardduty_eks_audit_events_million: f64,
    s3_standard_gb_month: f64,
    s3_put_1k: f64,
    s3_get_1k: f64,
    s3_replication_gb: f64,
    cloudfront_gb: f64,
    cloudfront_https_10k: f64,
    dynamodb_write_million: f64,
    dynamodb_read_million: f64,
    dynamodb_storage_gb_month: f64,
    dynamodb_wcu_hour: f64,
    dynamodb_rcu_hour: f64,
    waf_web_acl_month: f64,
    waf_rule_month: f64,
    waf_requests_million: f64,
    sns_requests_million: f64,
    rds_backup_gb_month: f64,
    vpc_endpoint_az_hour: f64,
    vpc_endpoint_gb: f64,
    ec2: HashMap<String, f64>,
    ebs_gb_month: HashMap<String, f64>,
    rds: HashMap<String, HashMap<String, f64>>,
    rds_storage_gb_month: HashMap<String, f64>,
    elasticache: HashMap<String, HashMap<String, f64>>,
}

impl Prices {
    pub fn load(path: &Path) -> Result<Prices> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("cannot read the price table {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))
    }

    fn region(&self, region: &str) -> Result<&RegionPrices> {
        self.regions.get(region).ok_or_else(|| {
            let mut known: Vec<&str> = self.regions.keys().map(String::as_str).collect();
            known.sort();
            usage(format!(
                "{PRICES} has no prices for region {region} (it has {}): add a [regions.{region}] table",
                known.join(", ")
            ))
        })
    }
}

fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> anyhow::Error {
    let at = match e.span() {
        Some(span) => format!("{}:{}", path.display(), line_of(text, span.start)),
        None => path.display().to_string(),
    };
    usage(format!("{at}: {}", e.message().trim().replace('\n', "; ")))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

// ---------------------------------------------------------------------------------------------------
// The usage file

/// `[defaults.<type>]` / `[resources."<address>"]` tables: type or address → key → number, with the
/// keys' positions for errors.
type Tables = BTreeMap<String, toml::Spanned<BTreeMap<String, f64>>>;

/// The keys each resource type takes in cost/usage.toml.
const USAGE_KEYS: &[(&str, &[&str])] = &[
    ("aws_nat_gateway", &["monthly_data_processed_gb"]),
    ("aws_vpc_endpoint", &["monthly_data_processed_gb"]),
    ("aws_lb", &["average_lcus"]),
    ("aws_cloudwatch_log_group", &["monthly_ingested_gb", "stored_gb"]),
    ("aws_cloudwatch_log_metric_filter", &["metrics"]),
    ("aws_cloudwatch_log_delivery", &["monthly_gb"]),
    ("aws_flow_log", &["monthly_ingested_gb"]),
    ("aws_cloudtrail", &["monthly_data_events", "monthly_management_events"]),
    ("aws_guardduty_detector", &["monthly_cloudtrail_events", "monthly_flow_dns_gb"]),
    ("aws_guardduty_detector_feature", &["monthly_s3_data_events", "monthly_eks_audit_events"]),
    ("aws_s3_bucket", &["storage_gb", "monthly_put_requests", "monthly_get_requests"]),
    ("aws_s3_bucket_replication_configuration", &["monthly_replicated_gb"]),
    ("aws_cloudfront_distribution", &["monthly_data_transfer_gb", "monthly_https_requests"]),
    ("aws_dynamodb_table", &["monthly_write_requests", "monthly_read_requests", "storage_gb"]),
    ("aws_wafv2_web_acl", &["monthly_requests"]),
    ("aws_route53_zone", &["monthly_queries"]),
    ("aws_db_instance", &["backup_storage_gb"]),
    ("aws_kms_key", &["monthly_requests"]),
    ("aws_secretsmanager_secret", &["monthly_api_calls"]),
    ("aws_sns_topic", &["monthly_requests"]),
];

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct Ingress {
    network_load_balancers: Option<f64>,
    application_load_balancers: Option<f64>,
    average_lcus: Option<f64>,
    public_ipv4_addresses: Option<f64>,
}

impl Ingress {
    fn over(self, base: Ingress) -> Ingress {
        Ingress {
            network_load_balancers: self.network_load_balancers.or(base.network_load_balancers),
            application_load_balancers: self.application_load_balancers.or(base.application_load_balancers),
            average_lcus: self.average_lcus.or(base.average_lcus),
            public_ipv4_addresses: self.public_ipv4_addresses.or(base.public_ipv4_addresses),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UsageSection {
    #[serde(default)]
    defaults: Tables,
    #[serde(default)]
    ingress: Ingress,
    #[serde(default)]
    resources: Tables,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UsageFile {
    #[serde(default)]
    defaults: Tables,
    #[serde(default)]
    ingress: Ingress,
    #[serde(default)]
    resources: Tables,
    #[serde(default)]
    env: BTreeMap<String, UsageSection>,
    #[serde(skip)]
    text: String,
}

/// The usage of one environment, merged: address → values, type → values.
#[derive(Default)]
struct Usage {
    by_address: HashMap<String, BTreeMap<String, f64>>,
    by_type: HashMap<String, BTreeMap<String, f64>>,
    ingress: Ingress,
}

impl UsageFile {
    fn load(path: &Path) -> Result<UsageFile> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(UsageFile::default()),
            Err(e) => return Err(usage(format!("cannot read the usage file {}: {e}", path.display()))),
        };
        let mut file: UsageFile = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
        file.text = text;
        Ok(file)
    }

    fn for_env(&self, env: &str, path: &Path) -> Result<Usage> {
        let mut merged = Usage::default();
        let empty = UsageSection::default();
        let env_section = self.env.get(env).unwrap_or(&empty);
        let all = [(&self.defaults, &self.resources), (&env_section.defaults, &env_section.resources)];
        for (defaults, resources) in all {
            for (rtype, values) in defaults {
                self.check_keys(path, rtype, rtype, values, "defaults")?;
                merged.by_type.entry(rtype.clone()).or_default().extend(values.get_ref().clone());
            }
            for (address, values) in resources {
                let rtype = type_of(address).unwrap_or_default();
                self.check_keys(path, &rtype, address, values, "resources")?;
                merged.by_address.entry(address.clone()).or_default().extend(values.get_ref().clone());
            }
        }
        merged.ingress = env_section.ingress.over(self.ingress);
        Ok(merged)
    }

    // --- faults (issue 14): every section of the file is checked whenever it is read, not only the
    // priced environment's: a section for an environment xtask.toml doesn't define, or a key typo in
    // another environment's section, is an error with file:line every time.
    fn check_all(&self, path: &Path, config: &crate::config::Config) -> Result<()> {
        let known: Vec<&str> = config.environments().map(|e| e.name.as_str()).collect();
        for name in self.env.keys() {
            if !known.contains(&name.as_str()) {
                let header = format!("[env.{name}");
                let line =
                    self.text.lines().position(|l| l.trim_start().starts_with(&header)).map(|i| i + 1).unwrap_or(1);
                return Err(usage(format!(
                    "{}:{line}: [env.{name}…] names no environment of {} (they are: {})",
                    path.display(),
                    config.path.display(),
                    known.join(", ")
                )));
            }
        }
        self.for_env("", path)?;
        for name in self.env.keys() {
            self.for_env(name, path)?;
        }
        Ok(())
    }
    // --- end faults

    /// Every key must be one the resource type takes: a typo is an error with file:line, never ignored.
    fn check_keys(
        &self,
        path: &Path,
        rtype: &str,
        name: &str,
        values: &toml::Spanned<BTreeMap<String, f64>>,
        kind: &str,
    ) -> Result<()> {
        let Some((_, known)) = USAGE_KEYS.iter().find(|(t, _)| *t == rtype) else {
            return Err(usage(format!(
                "{}:{}: {kind}.\"{name}\": `{rtype}` takes no usage (the types that do: {})",
                path.display(),
                self.key_line(values.span().start, None),
                USAGE_KEYS.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
            )));
        };
        for key in values.get_ref().keys() {
            if !known.contains(&key.as_str()) {
                return Err(usage(format!(
                    "{}:{}: unknown usage key `{key}` for {rtype}, expected one of: {}",
                    path.display(),
                    self.key_line(values.span().start, Some(key)),
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The line of `key` in the table that starts at `offset` (the table's line without a key).
    fn key_line(&self, offset: usize, key: Option<&str>) -> usize {
        let first = line_of(&self.text, offset);
        let Some(key) = key else { return first };
        let is_key = |l: &str| l.trim_start().strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('='));
        self.text
            .lines()
            .enumerate()
            .skip(first.saturating_sub(1))
            .take_while(|(i, l)| *i + 1 == first || !l.trim_start().starts_with('['))
            .find(|(_, l)| is_key(l))
            .map(|(i, _)| i + 1)
            .unwrap_or(first)
    }
}

/// The usage numbers that apply to one resource: its address's, else its type's, else 0 (and said).
struct UsageOf<'a> {
    own: [Option<&'a BTreeMap<String, f64>>; 2],
    by_type: Option<&'a BTreeMap<String, f64>>,
}

impl UsageOf<'_> {
    fn get(&self, key: &str) -> Option<f64> {
        self.own
            .iter()
            .flatten()
            .find_map(|m| m.get(key).copied())
            .or_else(|| self.by_type.and_then(|m| m.get(key).copied()))
    }
    fn or_zero(&self, key: &str) -> f64 {
        self.get(key).unwrap_or(0.0)
    }
}

impl Usage {
    fn of<'a>(&'a self, address: &str, plain: &str, rtype: &str) -> UsageOf<'a> {
        UsageOf {
            own: [self.by_address.get(address), if plain != address { self.by_address.get(plain) } else { None }],
            by_type: self.by_type.get(rtype),
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Pricing

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

struct Regions<'a> {
    primary: &'a str,
    dr: &'a str,
    dr_addresses: &'a HashSet<String>,
}

/// What a resource's rule needs.
struct Res<'a> {
    address: &'a str,
    rtype: &'a str,
    module: &'a str,
    index: Option<&'a Value>,
    after: &'a Value,
    usage: UsageOf<'a>,
    p: &'a RegionPrices,
    region: &'a str,
}

/// What the pass collects for the rules that need another resource (node disks from launch templates,
/// replicas from their source database) — settled after the pass, without reading anything again.
#[derive(Default)]
struct Pass {
    lines: Vec<Line>,
    unpriced: Vec<Unpriced>,
    launch_disks: HashMap<(String, String), (f64, String)>,
    node_disks: Vec<(Line, String, String, f64)>,
    databases: HashMap<String, (String, f64, String)>,
    replicas: Vec<PendingReplica>,
    trails: usize,
    dashboards: usize,
    has_cluster: bool,
    hours: f64,
    spot_discount: f64,
    support_ends: HashMap<String, String>,
    today: String,
    notes: Vec<String>,
}

struct PendingReplica {
    address: String,
    source: String,
    engine: Option<String>,
    class: String,
    storage: Option<(f64, String)>,
    multi_az: bool,
    region: String,
}

type Rule = fn(&Res, &mut Pass);

/// Resource types that cost nothing by themselves (their cost, if any, is on the line named).
const FREE: &[&str] = &[
    "aws_vpc",
    "aws_subnet",
    "aws_route_table",
    "aws_route",
    "aws_route_table_association",
    "aws_internet_gateway",
    "aws_egress_only_internet_gateway",
    "aws_default_route_table",
    "aws_default_network_acl",
    "aws_network_acl",
    "aws_network_acl_rule",
    "aws_security_group",
    "aws_security_group_rule",
    "aws_default_security_group",
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
    "aws_iam_role",
    "aws_iam_policy",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_iam_openid_connect_provider",
    "aws_iam_instance_profile",
    "aws_iam_service_linked_role",
    "aws_kms_alias",
    "aws_db_subnet_group",
    "aws_db_parameter_group",
    "aws_elasticache_subnet_group",
    "aws_elasticache_parameter_group",
    "aws_elasticache_user",
    "aws_elasticache_user_group",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_logging",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_notification",
    "aws_s3_bucket_cors_configuration",
    "aws_sns_topic_policy",
    "aws_sns_topic_subscription",
    "aws_acm_certificate",
    "aws_acm_certificate_validation",
    "aws_route53_record",
    "aws_route53_query_log",
    "aws_cloudwatch_log_resource_policy",
    "aws_cloudwatch_log_delivery_source",
    "aws_cloudwatch_log_delivery_destination",
    "aws_cloudwatch_event_rule",
    "aws_cloudwatch_event_target",
    "aws_cloudfront_origin_access_control",
    "aws_eks_addon",
    "aws_eks_access_entry",
    "aws_eks_access_policy_association",
    "aws_launch_template",
    "aws_budgets_budget",
    "aws_ce_anomaly_monitor",
    "aws_ce_anomaly_subscription",
    "aws_lb_listener",
    "aws_lb_listener_rule",
    "aws_lb_target_group",
    "aws_wafv2_web_acl_association",
    "aws_wafv2_web_acl_logging_configuration",
    "aws_kms_key_policy",
    "terraform_data",
];

fn rules() -> &'static HashMap<&'static str, Rule> {
    static RULES: OnceLock<HashMap<&'static str, Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut m: HashMap<&'static str, Rule> = HashMap::new();
        for t in FREE {
            m.insert(t, |_, _| {});
        }
        m.insert("aws_launch_template", launch_template);
        m.insert("aws_eks_cluster", eks_cluster);
        m.insert("aws_eks_node_group", node_group);
        m.insert("aws_instance", ec2_instance);
        m.insert("aws_ebs_volume", ebs_volume);
        m.insert("aws_nat_gateway", nat_gateway);
        m.insert("aws_eip", eip);
        m.insert("aws_lb", load_balancer);
        m.insert("aws_alb", load_balancer);
        m.insert("aws_db_instance", db_instance);
        m.insert("aws_elasticache_replication_group", cache_group);
        m.insert("aws_elasticache_cluster", cache_cluster);
        m.insert("aws_kms_key", kms_key);
        m.insert("aws_kms_replica_key", kms_key);
        m.insert("aws_secretsmanager_secret", secret);
        m.insert("aws_route53_zone", zone);
        m.insert("aws_cloudwatch_metric_alarm", alarm);
        m.insert("aws_cloudwatch_composite_alarm", |r, s| {
            s.add(r, "composite alarm", 1.0, "alarm-month", r.p.composite_alarm_month)
        });
        m.insert("aws_cloudwatch_dashboard", dashboard);
        m.insert("aws_cloudwatch_log_group", log_group);
        m.insert("aws_cloudwatch_log_metric_filter", |r, s| {
            let n = r.usage.get("metrics").unwrap_or(1.0);
            s.add(r, "custom metrics published", n, "metric-month", r.p.custom_metric_month)
        });
        m.insert("aws_cloudwatch_log_delivery", |r, s| {
            s.add(r, "vended logs delivered to S3", r.usage.or_zero("monthly_gb"), "GB", r.p.logs_vended_s3_gb)
        });
        m.insert("aws_flow_log", flow_log);
        m.insert("aws_vpc_endpoint", vpc_endpoint);
        m.insert("aws_cloudtrail", cloudtrail);
        m.insert("aws_guardduty_detector", guardduty);
        m.insert("aws_guardduty_detector_feature", guardduty_feature);
        m.insert("aws_s3_bucket", s3_bucket);
        m.insert("aws_s3_bucket_replication_configuration", |r, s| {
            let gb = r.usage.or_zero("monthly_replicated_gb");
            s.add(r, "cross-region replication transfer", gb, "GB", r.p.s3_replication_gb)
        });
        m.insert("aws_cloudfront_distribution", cloudfront);
        m.insert("aws_dynamodb_table", dynamodb);
        m.insert("aws_wafv2_web_acl", waf);
        m.insert("aws_sns_topic", |r, s| {
            let n = r.usage.or_zero("monthly_requests");
            s.add(r, "API requests", n / 1e6, "million requests", r.p.sns_requests_million)
        });
        m
    })
}

impl Pass {
    fn add(&mut self, r: &Res, what: impl Into<String>, quantity: f64, unit: &'static str, unit_price: f64) {
        self.lines.push(Line {
            address: r.address.to_string(),
            rtype: r.rtype.to_string(),
            what: what.into(),
            quantity,
            unit,
            unit_price,
        });
    }
    fn unpriced(&mut self, r: &Res, reason: impl Into<String>) {
        self.unpriced.push(Unpriced {
            address: r.address.to_string(),
            rtype: r.rtype.to_string(),
            reason: reason.into(),
        });
    }
    fn hours(&mut self, r: &Res, what: impl Into<String>, count: f64, hourly: f64) {
        let h = self.hours;
        self.add(r, what, count * h, "hours", hourly)
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}
fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}
fn first<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).and_then(|x| x.as_array()).and_then(|a| a.first()).unwrap_or(&Value::Null)
}
fn usage_note(r: &Res, key: &str) -> &'static str {
    if r.usage.get(key).is_some() {
        ""
    } else {
        " (no usage given: 0)"
    }
}

fn estimate(changes: &[Change], prices: &Prices, usage: &Usage, regions: &Regions, today: &str) -> Result<Estimate> {
    let mut est = Estimate::default();
    let mut pass = Pass {
        hours: prices.assumptions.hours_per_month,
        spot_discount: prices.assumptions.spot_discount,
        support_ends: prices.eks_standard_support_ends.clone(),
        today: today.to_string(),
        ..Pass::default()
    };
    let primary = prices.region(regions.primary)?;
    let mut dr: Option<&RegionPrices> = None;
    let rules = rules();
    est.regions.push(regions.primary.to_string());
    for rc in changes {
        if rc.mode != "managed" {
            continue;
        }
        let Some(after) = rc.change.after.as_ref().filter(|a| !a.is_null()) else { continue };
        if rc.change.actions.iter().all(|a| a == "delete") && !rc.change.actions.is_empty() {
            continue;
        }
        est.resources += 1;
        let plain = strip_keys(&rc.address);
        let in_dr = !regions.dr_addresses.is_empty() && regions.dr_addresses.contains(&plain);
        let (p, region) = if in_dr {
            let p = match dr {
                Some(p) => p,
                None => {
                    let p = prices.region(regions.dr)?;
                    est.regions.push(regions.dr.to_string());
                    dr = Some(p);
                    p
                }
            };
            (p, regions.dr)
        } else {
            (primary, regions.primary)
        };
        let Some(rule) = rules.get(rc.rtype.as_str()) else {
            pass.unpriced.push(Unpriced {
                address: rc.address.clone(),
                rtype: rc.rtype.clone(),
                reason: format!("no price in {PRICES}"),
            });
            continue;
        };
        let before = (pass.lines.len(), pass.unpriced.len(), pass.node_disks.len(), pass.replicas.len());
        let r = Res {
            address: &rc.address,
            rtype: &rc.rtype,
            module: rc.module_address.as_deref().unwrap_or(""),
            index: rc.index.as_ref(),
            after,
            usage: usage.of(&rc.address, &plain, &rc.rtype),
            p,
            region,
        };
        rule(&r, &mut pass);
        if before == (pass.lines.len(), pass.unpriced.len(), pass.node_disks.len(), pass.replicas.len()) {
            *est.free.entry(rc.rtype.clone()).or_default() += 1;
        }
    }
    settle(&mut pass, primary, prices, usage);
    est.lines = pass.lines;
    est.unpriced = pass.unpriced;
    est.notes = pass.notes;
    est.lines.sort_by(|a, b| b.monthly().total_cmp(&a.monthly()).then_with(|| a.address.cmp(&b.address)));
    Ok(est)
}

/// After the pass: node disks from their launch templates, replicas from their source, ingress LBs.
fn settle(pass: &mut Pass, primary: &RegionPrices, prices: &Prices, usage: &Usage) {
    for (mut line, module, index, default_gb) in std::mem::take(&mut pass.node_disks) {
        let (gb, kind) = pass.launch_disks.get(&(module, index)).cloned().unwrap_or((default_gb, "gp3".to_string()));
        let nodes = line.quantity;
        match primary.ebs_gb_month.get(&kind) {
            Some(price) => {
                line.what = format!("node disks: {nodes} × {gb} GB {kind}");
                line.quantity = nodes * gb;
                line.unit_price = *price;
                pass.lines.push(line);
            }
            None => pass.unpriced.push(Unpriced {
                address: line.address,
                rtype: line.rtype,
                reason: format!("no price for EBS {kind} in {PRICES}"),
            }),
        }
    }
    for rep in std::mem::take(&mut pass.replicas) {
        let source = pass.databases.get(&rep.source);
        let engine = rep.engine.clone().or_else(|| source.map(|s| s.0.clone()));
        let storage = rep.storage.clone().or_else(|| source.map(|s| (s.1, s.2.clone())));
        let p = prices.regions.get(&rep.region).unwrap_or(primary);
        let Some(engine) = engine else {
            pass.unpriced.push(Unpriced {
                address: rep.address,
                rtype: "aws_db_instance".into(),
                reason: format!("read replica of `{}`, whose engine is not in the plan", rep.source),
            });
            continue;
        };
        db_lines(pass, p, &rep.address, &engine, &rep.class, rep.multi_az, storage, "read replica", &rep.region);
    }
    if pass.has_cluster {
        let i = usage.ingress;
        let lbs = [
            ("network", i.network_load_balancers.unwrap_or(0.0), primary.nlb_hour, primary.nlb_lcu_hour, "NLCU-hours"),
            (
                "application",
                i.application_load_balancers.unwrap_or(0.0),
                primary.alb_hour,
                primary.alb_lcu_hour,
                "LCU-hours",
            ),
        ];
        let lcus = i.average_lcus.unwrap_or(1.0);
        let hours = pass.hours;
        for (kind, count, hourly, lcu_price, lcu_unit) in lbs {
            if count <= 0.0 {
                continue;
            }
            let address = format!("(ingress controller) {kind} load balancer");
            pass.lines.push(Line {
                address: address.clone(),
                rtype: "aws_lb".into(),
                what: format!("{count} × {kind} LB, from {USAGE} [ingress]"),
                quantity: count * hours,
                unit: "hours",
                unit_price: hourly,
            });
            pass.lines.push(Line {
                address,
                rtype: "aws_lb".into(),
                what: format!("{lcus} average capacity units"),
                quantity: count * lcus * hours,
                unit: lcu_unit,
                unit_price: lcu_price,
            });
        }
        let ips = i.public_ipv4_addresses.unwrap_or(0.0);
        if ips > 0.0 {
            pass.lines.push(Line {
                address: "(ingress controller) load balancer public IPv4".into(),
                rtype: "aws_lb".into(),
                what: format!("{ips} public IPv4 addresses"),
                quantity: ips * hours,
                unit: "hours",
                unit_price: primary.public_ipv4_hour,
            });
        }
    }
}

// ---- the rules, one per resource type -------------------------------------------------------------

fn eks_cluster(r: &Res, s: &mut Pass) {
    s.has_cluster = true;
    let version = s_str(r.after, "version");
    let policy = text(first(r.after, "upgrade_policy"), "support_type").unwrap_or("EXTENDED");
    let ends = version.as_deref().and_then(|v| s.support_ends.get(v)).cloned();
    match ends {
        Some(end) if s.today > end && policy != "STANDARD" => {
            let v = version.unwrap_or_default();
            s.notes.push(format!(
                "{}: Kubernetes {v} left EKS standard support on {end}, so the cluster pays extended support (${}/h instead of ${}/h): upgrade kubernetes_version, or set upgrade_policy {{ support_type = \"STANDARD\" }}",
                r.address, r.p.eks_extended_support_hour, r.p.eks_cluster_hour
            ));
            s.hours(r, format!("control plane, Kubernetes {v}, EXTENDED support"), 1.0, r.p.eks_extended_support_hour)
        }
        _ => s.hours(
            r,
            format!("control plane (Kubernetes {})", version.unwrap_or_else(|| "?".into())),
            1.0,
            r.p.eks_cluster_hour,
        ),
    }
}

fn s_str(v: &Value, key: &str) -> Option<String> {
    text(v, key).map(str::to_string)
}

fn launch_template(r: &Res, s: &mut Pass) {
    let ebs = first(first(r.after, "block_device_mappings"), "ebs");
    if let Some(gb) = num(ebs, "volume_size") {
        let kind = text(ebs, "volume_type").unwrap_or("gp2").to_string();
        let index = r.index.map(|i| i.to_string()).unwrap_or_default();
        s.launch_disks.insert((r.module.to_string(), index), (gb, kind));
    }
}

fn node_group(r: &Res, s: &mut Pass) {
    let types: Vec<&str> = r
        .after
        .get("instance_types")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let Some(itype) = types.first() else {
        return s.unpriced(r, "no instance_types in the plan");
    };
    let desired = num(first(r.after, "scaling_config"), "desired_size").unwrap_or(0.0);
    let spot = text(r.after, "capacity_type") == Some("SPOT");
    let Some(price) = r.p.ec2.get(*itype) else {
        return s.unpriced(r, format!("no price for EC2 {itype} in {} in {PRICES}", r.region));
    };
    let (price, how) = if spot {
        (
            price * (1.0 - s.spot_discount),
            format!("spot, {}% off on-demand (assumed)", (s.spot_discount * 100.0).round()),
        )
    } else {
        (*price, "on-demand".to_string())
    };
    let more = if types.len() > 1 { format!(" (first of {})", types.join(", ")) } else { String::new() };
    s.hours(r, format!("{desired} × {itype}{more}, {how}"), desired, price);
    let disk = num(r.after, "disk_size").unwrap_or(20.0);
    let index = r.index.map(|i| i.to_string()).unwrap_or_default();
    let line = Line {
        address: r.address.to_string(),
        rtype: r.rtype.to_string(),
        what: String::new(),
        quantity: desired,
        unit: "GB-months",
        unit_price: 0.0,
    };
    s.node_disks.push((line, r.module.to_string(), index, disk));
}

fn ec2_instance(r: &Res, s: &mut Pass) {
    let itype = text(r.after, "instance_type").unwrap_or("?");
    match r.p.ec2.get(itype) {
        Some(price) => s.hours(r, format!("{itype} on-demand"), 1.0, *price),
        None => s.unpriced(r, format!("no price for EC2 {itype} in {} in {PRICES}", r.region)),
    }
}

fn ebs_volume(r: &Res, s: &mut Pass) {
    let kind = text(r.after, "type").unwrap_or("gp3");
    let gb = num(r.after, "size").unwrap_or(0.0);
    match r.p.ebs_gb_month.get(kind) {
        Some(price) => s.add(r, format!("{gb} GB {kind}"), gb, "GB-months", *price),
        None => s.unpriced(r, format!("no price for EBS {kind} in {} in {PRICES}", r.region)),
    }
}

fn nat_gateway(r: &Res, s: &mut Pass) {
    s.hours(r, "NAT gateway", 1.0, r.p.nat_gateway_hour);
    let key = "monthly_data_processed_gb";
    s.add(r, format!("data processed{}", usage_note(r, key)), r.usage.or_zero(key), "GB", r.p.nat_gateway_gb);
}

fn eip(r: &Res, s: &mut Pass) {
    s.hours(r, "public IPv4 address", 1.0, r.p.public_ipv4_hour);
}

fn load_balancer(r: &Res, s: &mut Pass) {
    let kind = text(r.after, "load_balancer_type").unwrap_or("application");
    let (hourly, lcu, unit) = match kind {
        "application" => (r.p.alb_hour, r.p.alb_lcu_hour, "LCU-hours"),
        "network" => (r.p.nlb_hour, r.p.nlb_lcu_hour, "NLCU-hours"),
        other => return s.unpriced(r, format!("no price for {other} load balancers in {PRICES}")),
    };
    s.hours(r, format!("{kind} load balancer"), 1.0, hourly);
    let lcus = r.usage.get("average_lcus").unwrap_or(1.0);
    let h = s.hours;
    s.add(r, format!("{lcus} average capacity units"), lcus * h, unit, lcu);
}

fn db_instance(r: &Res, s: &mut Pass) {
    let class = text(r.after, "instance_class").unwrap_or("?").to_string();
    let multi_az = r.after.get("multi_az").and_then(Value::as_bool).unwrap_or(false);
    let engine = s_str(r.after, "engine");
    let storage =
        num(r.after, "allocated_storage").map(|gb| (gb, text(r.after, "storage_type").unwrap_or("gp2").to_string()));
    if let Some(source) = text(r.after, "replicate_source_db") {
        let source = source.rsplit(':').next().unwrap_or(source).to_string();
        s.replicas.push(PendingReplica {
            address: r.address.to_string(),
            source,
            engine,
            class,
            storage,
            multi_az,
            region: r.region.to_string(),
        });
        return;
    }
    let Some(engine) = engine else { return s.unpriced(r, "no engine in the plan") };
    if let (Some(id), Some((gb, kind))) = (text(r.after, "identifier"), &storage) {
        s.databases.insert(id.to_string(), (engine.clone(), *gb, kind.clone()));
    }
    db_lines(s, r.p, r.address, &engine, &class, multi_az, storage, "instance", r.region);
    let key = "backup_storage_gb";
    if let Some(gb) = r.usage.get(key).filter(|gb| *gb > 0.0) {
        s.add(r, "backup storage beyond the free allowance", gb, "GB-months", r.p.rds_backup_gb_month);
    }
    let pi = r.after.get("performance_insights_enabled").and_then(Value::as_bool).unwrap_or(false);
    let retention = num(r.after, "performance_insights_retention_period").unwrap_or(7.0);
    if pi && retention > 7.0 {
        s.unpriced(
            r,
            format!("Performance Insights kept {retention} days: only the 7-day free tier has a price in {PRICES}"),
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn db_lines(
    s: &mut Pass,
    p: &RegionPrices,
    address: &str,
    engine: &str,
    class: &str,
    multi_az: bool,
    storage: Option<(f64, String)>,
    role: &str,
    region: &str,
) {
    let copies = if multi_az { 2.0 } else { 1.0 };
    let az = if multi_az { "Multi-AZ (primary + standby)" } else { "Single-AZ" };
    let line = |what: String, quantity: f64, unit: &'static str, unit_price: f64| Line {
        address: address.to_string(),
        rtype: "aws_db_instance".into(),
        what,
        quantity,
        unit,
        unit_price,
    };
    let unpriced = |reason: String| Unpriced { address: address.to_string(), rtype: "aws_db_instance".into(), reason };
    match p.rds.get(engine).and_then(|m| m.get(class)) {
        Some(price) => s.lines.push(line(format!("{role}: {class} {engine}, {az}"), copies * s.hours, "hours", *price)),
        None => s.unpriced.push(unpriced(format!("no price for RDS {engine} {class} in {region} in {PRICES}"))),
    }
    if let Some((gb, kind)) = storage {
        match p.rds_storage_gb_month.get(&kind) {
            Some(price) => s.lines.push(line(
                format!("{role} storage: {gb} GB {kind} × {copies}"),
                gb * copies,
                "GB-months",
                *price,
            )),
            None => s.unpriced.push(unpriced(format!("no price for RDS storage {kind} in {region} in {PRICES}"))),
        }
    }
}

fn cache_price(r: &Res, s: &mut Pass, node_type: &str, nodes: f64, shape: String) {
    let engine = text(r.after, "engine").unwrap_or("redis");
    match r.p.elasticache.get(engine).and_then(|m| m.get(node_type)) {
        Some(price) => s.hours(r, format!("{} × {node_type} {engine} ({shape})", nodes), nodes, *price),
        None => s.unpriced(r, format!("no price for ElastiCache {engine} {node_type} in {} in {PRICES}", r.region)),
    }
}

fn cache_group(r: &Res, s: &mut Pass) {
    let node_type = text(r.after, "node_type").unwrap_or("?").to_string();
    let groups = num(r.after, "num_node_groups");
    let cluster_mode = groups.is_some() || text(r.after, "cluster_mode") == Some("enabled");
    let (nodes, shape) = if cluster_mode {
        let shards = groups.unwrap_or(1.0);
        let replicas = num(r.after, "replicas_per_node_group").unwrap_or(0.0);
        (shards * (replicas + 1.0), format!("cluster mode: {shards} shards × (1 + {replicas} replicas)"))
    } else {
        let c = num(r.after, "num_cache_clusters").unwrap_or(1.0);
        (c, format!("{c} cache clusters"))
    };
    cache_price(r, s, &node_type, nodes, shape)
}

fn cache_cluster(r: &Res, s: &mut Pass) {
    if text(r.after, "replication_group_id").is_some() {
        return; // a member of a replication group, priced there
    }
    let node_type = text(r.after, "node_type").unwrap_or("?").to_string();
    let nodes = num(r.after, "num_cache_nodes").unwrap_or(1.0);
    cache_price(r, s, &node_type, nodes, format!("{nodes} cache nodes"))
}

fn kms_key(r: &Res, s: &mut Pass) {
    s.add(r, "customer managed key", 1.0, "key-months", r.p.kms_key_month);
    let req = r.usage.or_zero("monthly_requests");
    if req > 0.0 {
        s.add(r, "requests", req / 1e4, "10k requests", r.p.kms_requests_10k);
    }
}

fn secret(r: &Res, s: &mut Pass) {
    s.add(r, "secret", 1.0, "secret-months", r.p.secret_month);
    let calls = r.usage.or_zero("monthly_api_calls");
    if calls > 0.0 {
        s.add(r, "API calls", calls / 1e4, "10k calls", r.p.secret_api_calls_10k);
    }
}

fn zone(r: &Res, s: &mut Pass) {
    s.add(r, "hosted zone", 1.0, "zone-months", r.p.route53_zone_month);
    let q = r.usage.or_zero("monthly_queries");
    if q > 0.0 {
        s.add(r, "standard queries", q / 1e6, "million queries", r.p.route53_queries_million);
    }
}

fn alarm(r: &Res, s: &mut Pass) {
    let metrics =
        r.after.get("metric_query").and_then(Value::as_array).map(|q| q.len()).filter(|n| *n > 0).unwrap_or(1);
    let high_res = num(r.after, "period").is_some_and(|p| p < 60.0);
    let (price, kind) = if high_res {
        (r.p.alarm_high_resolution_month, "high-resolution")
    } else {
        (r.p.alarm_standard_month, "standard")
    };
    s.add(r, format!("{kind} alarm, {metrics} metric(s)"), metrics as f64, "alarm-metric-months", price);
}

fn dashboard(r: &Res, s: &mut Pass) {
    s.dashboards += 1;
    let free = (s.dashboards as f64) <= r.p.dashboards_free;
    let what = if free { format!("dashboard (within the {} free)", r.p.dashboards_free) } else { "dashboard".into() };
    s.add(r, what, 1.0, "dashboard-months", if free { 0.0 } else { r.p.dashboard_month });
}

fn log_group(r: &Res, s: &mut Pass) {
    let key = "monthly_ingested_gb";
    let ingested = r.usage.or_zero(key);
    if ingested > 0.0 || r.usage.get(key).is_none() {
        s.add(r, format!("ingestion{}", usage_note(r, key)), ingested, "GB", r.p.logs_ingest_gb);
    }
    let retention = num(r.after, "retention_in_days").filter(|d| *d > 0.0);
    let stored = r.usage.get("stored_gb").unwrap_or_else(|| ingested * retention.unwrap_or(365.0) / 30.0);
    let kept =
        retention.map(|d| format!("{d} days kept")).unwrap_or_else(|| "kept forever: a year's worth assumed".into());
    s.add(r, format!("storage ({kept})"), stored, "GB-months", r.p.logs_storage_gb_month);
}

fn flow_log(r: &Res, s: &mut Pass) {
    let key = "monthly_ingested_gb";
    let gb = r.usage.or_zero(key);
    let (price, to) = match text(r.after, "log_destination_type") {
        Some("s3") => (r.p.logs_vended_s3_gb, "S3"),
        _ => (r.p.logs_vended_gb, "CloudWatch Logs"),
    };
    s.add(r, format!("flow logs delivered to {to}{}", usage_note(r, key)), gb, "GB", price);
}

/// Gateway endpoints (S3, DynamoDB) are free; interface endpoints are charged per zone and per GB.
fn vpc_endpoint(r: &Res, s: &mut Pass) {
    if text(r.after, "vpc_endpoint_type").unwrap_or("Gateway") == "Gateway" {
        return;
    }
    let zones = r.after.get("subnet_ids").and_then(Value::as_array).map(|a| a.len()).unwrap_or(1).max(1) as f64;
    s.hours(r, format!("interface endpoint in {zones} zone(s)"), zones, r.p.vpc_endpoint_az_hour);
    let key = "monthly_data_processed_gb";
    s.add(r, format!("data processed{}", usage_note(r, key)), r.usage.or_zero(key), "GB", r.p.vpc_endpoint_gb);
}

fn cloudtrail(r: &Res, s: &mut Pass) {
    s.trails += 1;
    if s.trails == 1 {
        s.add(r, "management events (first trail: free)", 1.0, "trail-months", 0.0);
    } else {
        let ev = r.usage.or_zero("monthly_management_events");
        s.add(
            r,
            "management events (additional trail)",
            ev / 1e5,
            "100k events",
            r.p.cloudtrail_extra_management_events_100k,
        );
    }
    let data = r.usage.or_zero("monthly_data_events");
    if data > 0.0 {
        s.add(r, "data events", data / 1e5, "100k events", r.p.cloudtrail_data_events_100k);
    }
}

fn guardduty(r: &Res, s: &mut Pass) {
    let (ev, gb) = ("monthly_cloudtrail_events", "monthly_flow_dns_gb");
    s.add(
        r,
        format!("CloudTrail events analysed{}", usage_note(r, ev)),
        r.usage.or_zero(ev) / 1e6,
        "million events",
        r.p.guardduty_cloudtrail_events_million,
    );
    s.add(
        r,
        format!("flow and DNS logs analysed{}", usage_note(r, gb)),
        r.usage.or_zero(gb),
        "GB",
        r.p.guardduty_flow_dns_gb,
    );
}

fn guardduty_feature(r: &Res, s: &mut Pass) {
    if text(r.after, "status") == Some("DISABLED") {
        return;
    }
    let (key, price, what) = match text(r.after, "name").unwrap_or("?") {
        "S3_DATA_EVENTS" => ("monthly_s3_data_events", r.p.guardduty_s3_data_events_million, "S3 data events analysed"),
        "EKS_AUDIT_LOGS" => {
            ("monthly_eks_audit_events", r.p.guardduty_eks_audit_events_million, "EKS audit events analysed")
        }
        other => return s.unpriced(r, format!("GuardDuty feature {other}: no price in {PRICES}")),
    };
    s.add(r, format!("{what}{}", usage_note(r, key)), r.usage.or_zero(key) / 1e6, "million events", price);
}

fn s3_bucket(r: &Res, s: &mut Pass) {
    let key = "storage_gb";
    s.add(
        r,
        format!("Standard storage{}", usage_note(r, key)),
        r.usage.or_zero(key),
        "GB-months",
        r.p.s3_standard_gb_month,
    );
    let put = r.usage.or_zero("monthly_put_requests");
    if put > 0.0 {
        s.add(r, "PUT/COPY/POST/LIST requests", put / 1e3, "1k requests", r.p.s3_put_1k);
    }
    let get = r.usage.or_zero("monthly_get_requests");
    if get > 0.0 {
        s.add(r, "GET requests", get / 1e3, "1k requests", r.p.s3_get_1k);
    }
}

fn cloudfront(r: &Res, s: &mut Pass) {
    let key = "monthly_data_transfer_gb";
    s.add(r, format!("data transfer out{}", usage_note(r, key)), r.usage.or_zero(key), "GB", r.p.cloudfront_gb);
    let req = r.usage.or_zero("monthly_https_requests");
    if req > 0.0 {
        s.add(r, "HTTPS requests", req / 1e4, "10k requests", r.p.cloudfront_https_10k);
    }
}

fn dynamodb(r: &Res, s: &mut Pass) {
    if text(r.after, "billing_mode") == Some("PROVISIONED") {
        let wcu = num(r.after, "write_capacity").unwrap_or(0.0);
        let rcu = num(r.after, "read_capacity").unwrap_or(0.0);
        s.hours(r, format!("{wcu} provisioned WCU"), wcu, r.p.dynamodb_wcu_hour);
        s.hours(r, format!("{rcu} provisioned RCU"), rcu, r.p.dynamodb_rcu_hour);
    } else {
        let w = r.usage.or_zero("monthly_write_requests");
        let rd = r.usage.or_zero("monthly_read_requests");
        s.add(r, "on-demand writes", w / 1e6, "million WRU", r.p.dynamodb_write_million);
        s.add(r, "on-demand reads", rd / 1e6, "million RRU", r.p.dynamodb_read_million);
    }
    s.add(r, "storage", r.usage.or_zero("storage_gb"), "GB-months", r.p.dynamodb_storage_gb_month);
}

fn waf(r: &Res, s: &mut Pass) {
    s.add(r, "web ACL", 1.0, "ACL-months", r.p.waf_web_acl_month);
    let rules = r.after.get("rule").and_then(Value::as_array).map(|a| a.len()).unwrap_or(0);
    if rules > 0 {
        s.add(r, format!("{rules} rules"), rules as f64, "rule-months", r.p.waf_rule_month);
    }
    let key = "monthly_requests";
    s.add(
        r,
        format!("requests{}", usage_note(r, key)),
        r.usage.or_zero(key) / 1e6,
        "million requests",
        r.p.waf_requests_million,
    );
}

// ---------------------------------------------------------------------------------------------------
// Budget and report

#[derive(Debug, Clone, PartialEq)]
enum Budget {
    Set(f64),
    /// Why there is none (the gate is skipped).
    Missing(String),
}

fn budget(root: &Path, env: &str) -> Budget {
    let file = main_tf(env);
    match crate::terraform::stack_argument(root, env, "monthly_budget_usd") {
        Ok(Some(expr)) => match expr.as_number().and_then(|n| n.as_f64()) {
            Some(v) => Budget::Set(v),
            None => Budget::Missing(format!("monthly_budget_usd in {file} is not a number literal: gate skipped")),
        },
        Ok(None) => Budget::Missing(format!("no monthly_budget_usd in module \"stack\" of {file}: gate skipped")),
        Err(e) => Budget::Missing(format!("budget unknown ({e:#}): gate skipped")),
    }
}

struct Report<'a> {
    env: &'a str,
    plan: &'a Path,
    note: &'a str,
    priced: &'a Priced,
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

fn unit_price(v: f64) -> String {
    let s = format!("{v:.5}");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let frac = frac.trim_end_matches('0');
    format!("${whole}.{frac:0<2}")
}

fn qty(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl Report<'_> {
    fn verdict(&self) -> String {
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

    fn budget_text(&self) -> String {
        match &self.priced.budget {
            Budget::Set(b) => format!("{}/month", money(*b)),
            Budget::Missing(_) => "none".into(),
        }
    }

    fn assumptions(&self) -> String {
        let a = &self.priced.prices.assumptions;
        format!(
            "prices: {PRICES} (on-demand list prices checked {}; {} h/month; spot assumed {:.0}% off), usage: {USAGE}",
            self.priced.prices.source.get("checked").map(String::as_str).unwrap_or("?"),
            a.hours_per_month,
            a.spot_discount * 100.0
        )
    }

    fn free_text(&self) -> String {
        let total: usize = self.priced.estimate.free.values().sum();
        let kinds: Vec<String> = self.priced.estimate.free.iter().map(|(t, n)| format!("{t} ×{n}")).collect();
        format!("{total} resources cost nothing by themselves: {}", kinds.join(", "))
    }

    fn table(&self) -> String {
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
        let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
        let w: Vec<usize> = (0..5).map(width).collect();
        let mut out = format!("Cost estimate for `{}` (monthly, USD)\n{}\n\n", self.env, self.note);
        for (i, r) in rows.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3],
                w4 = w[4]
            );
            if i == 0 {
                let _ = writeln!(out, "{}", "-".repeat(w.iter().sum::<usize>() + 8));
            }
        }
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

    fn markdown(&self) -> String {
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

    fn json(&self) -> Value {
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

// ---------------------------------------------------------------------------------------------------
// --actual: last month's spend from Cost Explorer

fn actual(ctx: &Context, args: &CostReportArgs) -> Result<()> {
    let target = Target::new(ctx, &args.env, false)?;
    let (start, end) = last_month();
    let ce = |endpoint: Option<&str>| {
        let base = target.aws(ctx, endpoint).args([
            "ce",
            "get-cost-and-usage",
            "--time-period",
            &format!("Start={start},End={end}"),
            "--granularity",
            "MONTHLY",
            "--metrics",
            "UnblendedCost",
        ]);
        let filter = json!({"And": [
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
    };
    let answers: RefCell<Vec<String>> = RefCell::new(Vec::new());
    {
        let mut pipeline = Pipeline::new(ctx, format!("cost-report {} --actual", target.env.name));
        bootstrap::ready_steps(ctx, &target, &mut pipeline);
        let (a, b) = ce(target.shown_endpoint(ctx).as_deref());
        let (target, answers, ce) = (&target, &answers, &ce);
        pipeline.step(
            Step::new(
                "cost-explorer",
                "Last month's spend from Cost Explorer, by service and by tag",
                vec![a, b],
                move |c| {
                    let endpoint = crate::plan::endpoint_for(ctx, target)?;
                    let (a, b) = ce(endpoint.as_deref());
                    let by_service = c.output(&a)?;
                    let by_tag = c.output(&b)?;
                    answers.borrow_mut().extend([by_service, by_tag]);
                    Ok(())
                },
            )
            .note("read-only: ce get-cost-and-usage, grouped by SERVICE and by the Project/Environment tags"),
        );
        pipeline.run(&RunArgs { dry_run: args.dry_run, ..RunArgs::default() })?;
    }
    let answers = answers.into_inner();
    if let [by_service, by_tag] = answers.as_slice() {
        print!("{}", actual_report(&target.env.name, &start, &end, by_service, by_tag, target.uses_emulator())?);
    }
    Ok(())
}

/// The first day of last month and of this month.
fn last_month() -> (String, String) {
    let today = time::OffsetDateTime::now_utc().date();
    let this = time::Date::from_calendar_date(today.year(), today.month(), 1).expect("a date");
    let prev_month = today.month().previous();
    let prev_year = if prev_month == time::Month::December { today.year() - 1 } else { today.year() };
    let prev = time::Date::from_calendar_date(prev_year, prev_month, 1).expect("a date");
    let f = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    (f(prev), f(this))
}

fn groups(answer: &str) -> Result<Vec<(Vec<String>, f64, String)>> {
    let v: Value = serde_json::from_str(answer).context("Cost Explorer's answer is not JSON")?;
    let mut out = Vec::new();
    for period in v["ResultsByTime"].as_array().into_iter().flatten() {
        for g in period["Groups"].as_array().into_iter().flatten() {
            let keys =
                g["Keys"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect();
            let m = &g["Metrics"]["UnblendedCost"];
            let amount: f64 = m["Amount"].as_str().and_then(|a| a.parse().ok()).unwrap_or(0.0);
            out.push((keys, amount, m["Unit"].as_str().unwrap_or("USD").to_string()));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(out)
}

fn actual_report(env: &str, start: &str, end: &str, by_service: &str, by_tag: &str, emulated: bool) -> Result<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_lose_their_keys_and_name_their_type() {
        assert_eq!(strip_keys(r#"module.a["x.y[1]"].aws_s3_bucket.b[0]"#), "module.a.aws_s3_bucket.b");
        assert_eq!(type_of(r#"module.stack.module.net.aws_eip.nat[0]"#).as_deref(), Some("aws_eip"));
        assert_eq!(type_of("aws_vpc.main").as_deref(), Some("aws_vpc"));
    }

    #[test]
    fn money_is_grouped_and_rounded() {
        assert_eq!(money(1234567.891), "$1,234,567.89");
        assert_eq!(money(0.004), "$0.00");
        assert_eq!(unit_price(0.0208), "$0.0208");
        assert_eq!(unit_price(1.0), "$1.00");
    }

    #[test]
    fn last_month_is_a_whole_month() {
        let (a, b) = last_month();
        assert!(a.ends_with("-01") && b.ends_with("-01") && a < b, "{a} {b}");
    }
}
