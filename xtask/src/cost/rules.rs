//! The rules, one per resource type: what a resource of that type costs a month, from its planned
//! attributes, its usage and the region's prices.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::PRICES;

use super::estimate::*;

/// Resource types that cost nothing by themselves (their cost, if any, is on the line named).
pub(super) const FREE: &[&str] = &[
    // A secret's version costs nothing of its own (the secret's line carries the monthly price); SES
    // bills per message sent, not for the identity or its DKIM setup.
    "aws_secretsmanager_secret_version",
    // The CI runners' webhook and GitHub connection cost nothing (AWS CodeConnections has no charge; the
    // runners bill per build minute on the project's line); a standard-tier SSM parameter is free.
    "aws_codebuild_webhook",
    "aws_codeconnections_connection",
    "aws_ssm_parameter",
    "aws_ses_domain_identity",
    "aws_ses_domain_dkim",
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
    // ECR bills storage (the repository's line) and transfer out of the region; lifecycle policies, pull-
    // through cache rules and the cache's upstream pulls have no charge of their own.
    "aws_ecr_lifecycle_policy",
    "aws_ecr_pull_through_cache_rule",
    "terraform_data",
];

/// Priced by one usage figure each.
const METERED: &[Metered] = &[
    ("aws_cloudwatch_log_delivery", "vended logs delivered to S3", "monthly_gb", 1.0, "GB", |p| p.logs_vended_s3_gb),
    (
        "aws_s3_bucket_replication_configuration",
        "cross-region replication transfer",
        "monthly_replicated_gb",
        1.0,
        "GB",
        |p| p.s3_replication_gb,
    ),
    ("aws_sns_topic", "API requests", "monthly_requests", 1e6, "million requests", |p| p.sns_requests_million),
    // ECR replication: the pushed images cross regions (inter-region transfer out of the source) and are
    // stored again in the destination's registry (ECR pricing: replication is billed as data transfer
    // and storage).
    (
        "aws_ecr_replication_configuration",
        "cross-region transfer of pushed images",
        "monthly_replicated_gb",
        1.0,
        "GB",
        |p| p.inter_region_transfer_gb,
    ),
    ("aws_ecr_replication_configuration", "replicated image storage", "storage_gb", 1.0, "GB-months", |p| {
        p.ecr_storage_gb_month
    }),
];

/// The rule of every [`Metered`] type: a line per row of its type.
fn metered(r: &Res, s: &mut Pass) {
    for (_, what, key, per, unit, price) in METERED.iter().chain(super::governance::METERED).filter(|m| m.0 == r.rtype)
    {
        s.add(r, *what, r.usage.or_zero(key) / per, unit, price(r.p));
    }
}

pub(super) fn rules() -> &'static HashMap<&'static str, Rule> {
    static RULES: OnceLock<HashMap<&'static str, Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut m: HashMap<&'static str, Rule> = HashMap::new();
        for t in FREE.iter().chain(super::governance::FREE) {
            m.insert(t, |_, _| {});
        }
        for row in METERED.iter().chain(super::governance::METERED) {
            m.insert(row.0, metered);
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
        m.insert("aws_flow_log", flow_log);
        m.insert("aws_codebuild_project", codebuild_project);
        m.insert("aws_vpc_endpoint", vpc_endpoint);
        m.insert("aws_ecr_repository", |r, s| stored(r, s, "image storage", r.p.ecr_storage_gb_month));
        m.insert("aws_ecr_registry_scanning_configuration", ecr_scanning);
        m.insert("aws_cloudtrail", cloudtrail);
        m.insert("aws_guardduty_detector", guardduty);
        m.insert("aws_guardduty_detector_feature", guardduty_feature);
        m.insert("aws_s3_bucket", s3_bucket);
        m.insert("aws_cloudfront_distribution", cloudfront);
        m.insert("aws_dynamodb_table", dynamodb);
        m.insert("aws_wafv2_web_acl", waf);
        super::data::register(&mut m);
        m
    })
}

/// The control plane: the standard rate, and from the day its Kubernetes version leaves EKS standard
/// support (k8s/eks-versions.toml) the extended-support rate — for the hours of the month priced (the
/// `hours_per_month` from today) on or after that day, unless the upgrade policy is STANDARD, with which
/// AWS upgrades the control plane that day instead (said, priced at the standard rate).
pub(super) fn eks_cluster(r: &Res, s: &mut Pass) {
    s.has_cluster = true;
    let version = s_str(r.after, "version").unwrap_or_else(|| "?".into());
    let policy = text(first(r.after, "upgrade_policy"), "support_type").unwrap_or("EXTENDED");
    let Some(end) = s.support_ends.get(&version).copied() else {
        return s.hours(r, format!("control plane (Kubernetes {version})"), 1.0, r.p.eks_cluster_hour);
    };
    // Extended support is billed from the start of the end day, UTC (the EKS calendar's words).
    let today = s.today.unwrap_or_else(crate::lifecycle::today);
    let standard_hours = ((end - today).whole_hours() as f64).clamp(0.0, s.hours);
    let extended_hours = s.hours - standard_hours;
    let end_text = crate::clock::date(end);
    let (past, when) = if standard_hours == 0.0 {
        (true, format!("left EKS standard support on {end_text}"))
    } else {
        (false, format!("leaves EKS standard support on {end_text}"))
    };
    if extended_hours == 0.0 {
        return s.hours(r, format!("control plane (Kubernetes {version})"), 1.0, r.p.eks_cluster_hour);
    }
    let next = crate::lifecycle::Minor::parse(&version)
        .map(|m| m.next().to_string())
        .unwrap_or_else(|| "the next version".into());
    if policy == "STANDARD" {
        s.notes.push(format!(
            "{}: Kubernetes {version} {when}; with upgrade_policy STANDARD AWS upgrades the control plane to {next} itself that day (add-ons and nodes stay behind), so it is priced at the standard rate: upgrade first with `cargo xtask upgrade <env> --to {next}`",
            r.address
        ));
        return s.hours(r, format!("control plane (Kubernetes {version})"), 1.0, r.p.eks_cluster_hour);
    }
    s.notes.push(format!(
        "{}: Kubernetes {version} {when}, so the cluster pays extended support (${}/h instead of ${}/h) for {extended_hours:.0} of the {:.0} hours priced: upgrade kubernetes_version (`cargo xtask upgrade <env> --to {next}`), or set upgrade_policy {{ support_type = \"STANDARD\" }}",
        r.address, r.p.eks_extended_support_hour, r.p.eks_cluster_hour, s.hours
    ));
    if !past {
        let line = format!("control plane, Kubernetes {version}, standard support until {end_text}");
        s.add(r, line, standard_hours, "hours", r.p.eks_cluster_hour);
    }
    let line = format!("control plane, Kubernetes {version}, EXTENDED support from {end_text}");
    s.add(r, line, extended_hours, "hours", r.p.eks_extended_support_hour)
}

pub(super) fn s_str(v: &Value, key: &str) -> Option<String> {
    text(v, key).map(str::to_string)
}

pub(super) fn launch_template(r: &Res, s: &mut Pass) {
    let ebs = first(first(r.after, "block_device_mappings"), "ebs");
    if let Some(gb) = num(ebs, "volume_size") {
        let kind = text(ebs, "volume_type").unwrap_or("gp2").to_string();
        let index = r.index.map(|i| i.to_string()).unwrap_or_default();
        s.launch_disks.insert((r.module.to_string(), index), (gb, kind));
    }
}

pub(super) fn node_group(r: &Res, s: &mut Pass) {
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

pub(super) fn ec2_instance(r: &Res, s: &mut Pass) {
    let itype = text(r.after, "instance_type").unwrap_or("?");
    match r.p.ec2.get(itype) {
        Some(price) => s.hours(r, format!("{itype} on-demand"), 1.0, *price),
        None => return s.unpriced(r, format!("no price for EC2 {itype} in {} in {PRICES}", r.region)),
    }
    // The root volume, where the plan gives its size (otherwise the image's default, unknown here).
    let root = first(r.after, "root_block_device");
    if let Some(gb) = num(root, "volume_size") {
        let kind = text(root, "volume_type").unwrap_or("gp2");
        match r.p.ebs_gb_month.get(kind) {
            Some(price) => s.add(r, format!("{gb} GB {kind} root volume"), gb, "GB-months", *price),
            None => s.unpriced(r, format!("no price for EBS {kind} in {} in {PRICES}", r.region)),
        }
    }
}

/// CodeBuild bills per build minute by compute type, nothing between builds (the CI runners: one build
/// per workflow job).
pub(super) fn codebuild_project(r: &Res, s: &mut Pass) {
    let compute = text(first(r.after, "environment"), "compute_type").unwrap_or("?");
    let Some(price) = r.p.codebuild_linux_minute.get(compute) else {
        return s.unpriced(r, format!("no price for CodeBuild {compute} in {} in {PRICES}", r.region));
    };
    let key = "monthly_build_minutes";
    s.add(r, format!("{compute} build minutes{}", usage_note(r, key)), r.usage.or_zero(key), "minutes", *price);
}

pub(super) fn ebs_volume(r: &Res, s: &mut Pass) {
    let kind = text(r.after, "type").unwrap_or("gp3");
    let gb = num(r.after, "size").unwrap_or(0.0);
    match r.p.ebs_gb_month.get(kind) {
        Some(price) => s.add(r, format!("{gb} GB {kind}"), gb, "GB-months", *price),
        None => s.unpriced(r, format!("no price for EBS {kind} in {} in {PRICES}", r.region)),
    }
}

pub(super) fn nat_gateway(r: &Res, s: &mut Pass) {
    s.hours(r, "NAT gateway", 1.0, r.p.nat_gateway_hour);
    let key = "monthly_data_processed_gb";
    s.add(r, format!("data processed{}", usage_note(r, key)), r.usage.or_zero(key), "GB", r.p.nat_gateway_gb);
}

pub(super) fn eip(r: &Res, s: &mut Pass) {
    s.hours(r, "public IPv4 address", 1.0, r.p.public_ipv4_hour);
}

pub(super) fn load_balancer(r: &Res, s: &mut Pass) {
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
/// A priced unit of use: what it is, how many uses make one unit, the unit, its price.
type PerUse = (&'static str, f64, &'static str, f64);

/// One of the resource a month, plus its usage under `key` (a line only when there is some).
fn monthly_plus_usage(r: &Res, s: &mut Pass, (what, unit, price): (&str, &'static str, f64), key: &str, per: PerUse) {
    s.add(r, what, 1.0, unit, price);
    let (used_what, per_unit, used_unit, used_price) = per;
    let used = r.usage.or_zero(key);
    if used > 0.0 {
        s.add(r, used_what, used / per_unit, used_unit, used_price);
    }
}

pub(super) fn kms_key(r: &Res, s: &mut Pass) {
    let per = ("requests", 1e4, "10k requests", r.p.kms_requests_10k);
    monthly_plus_usage(r, s, ("customer managed key", "key-months", r.p.kms_key_month), "monthly_requests", per);
}

pub(super) fn secret(r: &Res, s: &mut Pass) {
    let per = ("API calls", 1e4, "10k calls", r.p.secret_api_calls_10k);
    monthly_plus_usage(r, s, ("secret", "secret-months", r.p.secret_month), "monthly_api_calls", per);
    // Each replica in another region is billed as a secret of its own.
    let replicas = r.after.get("replica").and_then(Value::as_array).map_or(0, Vec::len);
    if replicas > 0 {
        s.add(r, "replicas in other regions", replicas as f64, "secret-months", r.p.secret_month);
    }
}

pub(super) fn zone(r: &Res, s: &mut Pass) {
    let per = ("standard queries", 1e6, "million queries", r.p.route53_queries_million);
    monthly_plus_usage(r, s, ("hosted zone", "zone-months", r.p.route53_zone_month), "monthly_queries", per);
}

pub(super) fn alarm(r: &Res, s: &mut Pass) {
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

pub(super) fn dashboard(r: &Res, s: &mut Pass) {
    s.dashboards += 1;
    let free = (s.dashboards as f64) <= r.p.dashboards_free;
    let what = if free { format!("dashboard (within the {} free)", r.p.dashboards_free) } else { "dashboard".into() };
    s.add(r, what, 1.0, "dashboard-months", if free { 0.0 } else { r.p.dashboard_month });
}

pub(super) fn log_group(r: &Res, s: &mut Pass) {
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

pub(super) fn flow_log(r: &Res, s: &mut Pass) {
    let key = "monthly_ingested_gb";
    let gb = r.usage.or_zero(key);
    let (price, to) = match text(r.after, "log_destination_type") {
        Some("s3") => (r.p.logs_vended_s3_gb, "S3"),
        _ => (r.p.logs_vended_gb, "CloudWatch Logs"),
    };
    s.add(r, format!("flow logs delivered to {to}{}", usage_note(r, key)), gb, "GB", price);
}

/// Gateway endpoints (S3, DynamoDB) are free; interface endpoints are charged per zone and per GB.
pub(super) fn vpc_endpoint(r: &Res, s: &mut Pass) {
    if text(r.after, "vpc_endpoint_type").unwrap_or("Gateway") == "Gateway" {
        return;
    }
    let zones = r.after.get("subnet_ids").and_then(Value::as_array).map(|a| a.len()).unwrap_or(1).max(1) as f64;
    s.hours(r, format!("interface endpoint in {zones} zone(s)"), zones, r.p.vpc_endpoint_az_hour);
    let key = "monthly_data_processed_gb";
    s.add(r, format!("data processed{}", usage_note(r, key)), r.usage.or_zero(key), "GB", r.p.vpc_endpoint_gb);
}

/// Basic scanning is free; enhanced scanning bills per image through Amazon Inspector, which the prices
/// don't hold: unpriced, so the budget gate holds until it is.
pub(super) fn ecr_scanning(r: &Res, s: &mut Pass) {
    if text(r.after, "scan_type").unwrap_or("BASIC") == "ENHANCED" {
        s.unpriced(
            r,
            "enhanced scanning bills per image scanned through Amazon Inspector, which cost/prices.toml doesn't price",
        );
    }
}

pub(super) fn cloudtrail(r: &Res, s: &mut Pass) {
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

pub(super) fn guardduty(r: &Res, s: &mut Pass) {
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

pub(super) fn guardduty_feature(r: &Res, s: &mut Pass) {
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

/// The GB-months a resource stores (its usage's `storage_gb`), at `price` a GB-month.
fn stored(r: &Res, s: &mut Pass, what: &str, price: f64) {
    let key = "storage_gb";
    s.add(r, format!("{what}{}", usage_note(r, key)), r.usage.or_zero(key), "GB-months", price);
}

pub(super) fn s3_bucket(r: &Res, s: &mut Pass) {
    stored(r, s, "Standard storage", r.p.s3_standard_gb_month);
    let put = r.usage.or_zero("monthly_put_requests");
    if put > 0.0 {
        s.add(r, "PUT/COPY/POST/LIST requests", put / 1e3, "1k requests", r.p.s3_put_1k);
    }
    let get = r.usage.or_zero("monthly_get_requests");
    if get > 0.0 {
        s.add(r, "GET requests", get / 1e3, "1k requests", r.p.s3_get_1k);
    }
}

pub(super) fn cloudfront(r: &Res, s: &mut Pass) {
    let key = "monthly_data_transfer_gb";
    s.add(r, format!("data transfer out{}", usage_note(r, key)), r.usage.or_zero(key), "GB", r.p.cloudfront_gb);
    let req = r.usage.or_zero("monthly_https_requests");
    if req > 0.0 {
        s.add(r, "HTTPS requests", req / 1e4, "10k requests", r.p.cloudfront_https_10k);
    }
}

pub(super) fn dynamodb(r: &Res, s: &mut Pass) {
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

pub(super) fn waf(r: &Res, s: &mut Pass) {
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
