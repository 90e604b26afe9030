//! What pricing reads: the plan JSON (`terraform show -json`), the price table (cost/prices.toml) and
//! the usage file (cost/usage.toml), each parsed and checked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use super::PRICES;

use crate::error::{line_of, usage};
use crate::tfplan::{ConfigModule, Configuration};

/// Addresses (without instance keys) of the resources configured with the DR provider (`aws.dr`).
pub(super) fn dr_resources(configuration: &Configuration) -> HashSet<String> {
    fn walk(module: &ConfigModule, prefix: &str, out: &mut HashSet<String>) {
        for r in &module.resources {
            let key = r.provider_config_key.as_str();
            if key == "aws.dr" || key.ends_with(":aws.dr") {
                out.insert(format!("{prefix}{}", r.address));
            }
        }
        for (name, call) in &module.module_calls {
            walk(&call.module, &format!("{prefix}module.{name}."), out);
        }
    }
    let mut out = HashSet::new();
    walk(&configuration.root_module, "", &mut out);
    out
}

/// `module.a["x"].aws_s3_bucket.b[0]` → `module.a.aws_s3_bucket.b`.
pub(super) fn strip_keys(address: &str) -> String {
    crate::tfplan::without_keys(address)
}

/// The resource type in an address: the first part that is not `module.<name>`.
pub(super) fn type_of(address: &str) -> Option<String> {
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
    pub(super) source: BTreeMap<String, String>,
    pub(super) assumptions: Assumptions,
    pub(super) regions: HashMap<String, RegionPrices>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Assumptions {
    pub(super) hours_per_month: f64,
    pub(super) spot_discount: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegionPrices {
    pub(super) eks_cluster_hour: f64,
    pub(super) eks_extended_support_hour: f64,
    pub(super) nat_gateway_hour: f64,
    pub(super) nat_gateway_gb: f64,
    pub(super) public_ipv4_hour: f64,
    pub(super) alb_hour: f64,
    pub(super) alb_lcu_hour: f64,
    pub(super) nlb_hour: f64,
    pub(super) nlb_lcu_hour: f64,
    pub(super) kms_key_month: f64,
    pub(super) kms_requests_10k: f64,
    pub(super) secret_month: f64,
    pub(super) secret_api_calls_10k: f64,
    pub(super) route53_zone_month: f64,
    pub(super) route53_queries_million: f64,
    pub(super) alarm_standard_month: f64,
    pub(super) alarm_high_resolution_month: f64,
    pub(super) composite_alarm_month: f64,
    pub(super) dashboard_month: f64,
    pub(super) dashboards_free: f64,
    pub(super) custom_metric_month: f64,
    pub(super) logs_ingest_gb: f64,
    pub(super) logs_vended_gb: f64,
    pub(super) logs_vended_s3_gb: f64,
    pub(super) logs_storage_gb_month: f64,
    pub(super) cloudtrail_data_events_100k: f64,
    pub(super) cloudtrail_extra_management_events_100k: f64,
    pub(super) guardduty_cloudtrail_events_million: f64,
    pub(super) guardduty_flow_dns_gb: f64,
    pub(super) guardduty_s3_data_events_million: f64,
    pub(super) guardduty_eks_audit_events_million: f64,
    pub(super) s3_standard_gb_month: f64,
    pub(super) s3_put_1k: f64,
    pub(super) s3_get_1k: f64,
    pub(super) s3_replication_gb: f64,
    pub(super) cloudfront_gb: f64,
    pub(super) cloudfront_https_10k: f64,
    pub(super) dynamodb_write_million: f64,
    pub(super) dynamodb_read_million: f64,
    pub(super) dynamodb_storage_gb_month: f64,
    pub(super) dynamodb_wcu_hour: f64,
    pub(super) dynamodb_rcu_hour: f64,
    pub(super) waf_web_acl_month: f64,
    pub(super) waf_rule_month: f64,
    pub(super) waf_requests_million: f64,
    pub(super) sns_requests_million: f64,
    pub(super) rds_backup_gb_month: f64,
    pub(super) inter_region_transfer_gb: f64,
    pub(super) config_item: f64,
    pub(super) config_rule_evaluation: f64,
    pub(super) securityhub_check: f64,
    pub(super) vpc_endpoint_az_hour: f64,
    pub(super) vpc_endpoint_gb: f64,
    pub(super) ecr_storage_gb_month: f64,
    pub(super) ec2: HashMap<String, f64>,
    pub(super) ebs_gb_month: HashMap<String, f64>,
    pub(super) codebuild_linux_minute: HashMap<String, f64>,
    pub(super) rds: HashMap<String, HashMap<String, f64>>,
    pub(super) rds_storage_gb_month: HashMap<String, f64>,
    pub(super) elasticache: HashMap<String, HashMap<String, f64>>,
}

impl Prices {
    pub fn load(path: &Path) -> Result<Prices> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("cannot read the price table {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))
    }

    pub(super) fn region(&self, region: &str) -> Result<&RegionPrices> {
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

pub(super) fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> anyhow::Error {
    let at = match e.span() {
        Some(span) => format!("{}:{}", path.display(), line_of(text, span.start)),
        None => path.display().to_string(),
    };
    usage(format!("{at}: {}", e.message().trim().replace('\n', "; ")))
}

// ---------------------------------------------------------------------------------------------------
// The usage file

/// `[defaults.<type>]` / `[resources."<address>"]` tables: type or address → key → number, with the
/// keys' positions for errors.
pub(super) type Tables = BTreeMap<String, toml::Spanned<BTreeMap<String, f64>>>;

/// The keys each resource type takes in cost/usage.toml.
pub(super) const USAGE_KEYS: &[(&str, &[&str])] = &[
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
    ("aws_ecr_repository", &["storage_gb"]),
    ("aws_ecr_replication_configuration", &["monthly_replicated_gb", "storage_gb"]),
    ("aws_sns_topic", &["monthly_requests"]),
    ("aws_codebuild_project", &["monthly_build_minutes"]),
    ("aws_config_configuration_recorder", &["monthly_configuration_items"]),
    ("aws_config_config_rule", &["monthly_evaluations"]),
    ("aws_securityhub_account", &["monthly_security_checks"]),
    ("aws_db_instance_automated_backups_replication", &["monthly_transferred_gb", "backup_storage_gb"]),
];

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub(super) struct Ingress {
    pub(super) network_load_balancers: Option<f64>,
    pub(super) application_load_balancers: Option<f64>,
    pub(super) average_lcus: Option<f64>,
    pub(super) public_ipv4_addresses: Option<f64>,
}

impl Ingress {
    pub(super) fn over(self, base: Ingress) -> Ingress {
        Ingress {
            network_load_balancers: self.network_load_balancers.or(base.network_load_balancers),
            application_load_balancers: self.application_load_balancers.or(base.application_load_balancers),
            average_lcus: self.average_lcus.or(base.average_lcus),
            public_ipv4_addresses: self.public_ipv4_addresses.or(base.public_ipv4_addresses),
        }
    }
}

/// The usage file, and (the same shape, one level down) each `[env.<name>]` section of it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct UsageFile {
    #[serde(default)]
    pub(super) defaults: Tables,
    #[serde(default)]
    pub(super) ingress: Ingress,
    #[serde(default)]
    pub(super) resources: Tables,
    /// Per-environment sections; a section's own `env` is refused by `check_all` (they don't nest).
    #[serde(default)]
    pub(super) env: BTreeMap<String, UsageFile>,
    #[serde(skip)]
    pub(super) text: String,
}

/// The usage of one environment, merged: address → values, type → values.
#[derive(Default)]
pub(super) struct Usage {
    pub(super) by_address: HashMap<String, BTreeMap<String, f64>>,
    pub(super) by_type: HashMap<String, BTreeMap<String, f64>>,
    pub(super) ingress: Ingress,
}

impl UsageFile {
    pub(super) fn load(path: &Path) -> Result<UsageFile> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(UsageFile::default()),
            Err(e) => return Err(usage(format!("cannot read the usage file {}: {e}", path.display()))),
        };
        let mut file: UsageFile = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
        file.text = text;
        Ok(file)
    }

    /// Every section of the file, checked whenever it is read, not only the priced environment's: a
    /// section for an environment xtask.toml doesn't define, or a key typo in another environment's
    /// section, is an error with file:line every time.
    pub(super) fn check_all(&self, path: &Path, config: &crate::config::Config) -> Result<()> {
        let known: Vec<&str> = config.environments().map(|e| e.name.as_str()).collect();
        for (name, section) in &self.env {
            let header = format!("[env.{name}");
            let line = self.text.lines().position(|l| l.trim_start().starts_with(&header)).map(|i| i + 1).unwrap_or(1);
            if let Some(nested) = section.env.keys().next() {
                return Err(usage(format!(
                    "{}:{line}: [env.{name}.env.{nested}…]: environment sections don't nest (write [env.{nested}…])",
                    path.display()
                )));
            }
            if !known.contains(&name.as_str()) {
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

    pub(super) fn for_env(&self, env: &str, path: &Path) -> Result<Usage> {
        let mut merged = Usage::default();
        let empty = UsageFile::default();
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

    /// Every key must be one the resource type takes: a typo is an error with file:line, never ignored.
    pub(super) fn check_keys(
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
    pub(super) fn key_line(&self, offset: usize, key: Option<&str>) -> usize {
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
pub(super) struct UsageOf<'a> {
    pub(super) own: [Option<&'a BTreeMap<String, f64>>; 2],
    pub(super) by_type: Option<&'a BTreeMap<String, f64>>,
}

impl UsageOf<'_> {
    pub(super) fn get(&self, key: &str) -> Option<f64> {
        self.own
            .iter()
            .flatten()
            .find_map(|m| m.get(key).copied())
            .or_else(|| self.by_type.and_then(|m| m.get(key).copied()))
    }
    pub(super) fn or_zero(&self, key: &str) -> f64 {
        self.get(key).unwrap_or(0.0)
    }
}

impl Usage {
    pub(super) fn of<'a>(&'a self, address: &str, plain: &str, rtype: &str) -> UsageOf<'a> {
        UsageOf {
            own: [self.by_address.get(address), if plain != address { self.by_address.get(plain) } else { None }],
            by_type: self.by_type.get(rtype),
        }
    }
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
    fn environment_sections_do_not_nest() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let config = crate::config::Config::load(&root.join("xtask.toml")).unwrap();
        let text = "[env.dev.ingress]\n[env.dev.env.staging.defaults]\n";
        let mut file: UsageFile = toml::from_str(text).unwrap();
        file.text = text.into();
        let err = format!("{:#}", file.check_all(Path::new("usage.toml"), &config).unwrap_err());
        assert!(err.starts_with("usage.toml:1: [env.dev.env.staging…]: environment sections don't nest"), "{err}");
    }
}
