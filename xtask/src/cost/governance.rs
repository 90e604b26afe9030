//! The rules of the account's governance and recovery services: AWS Config (configuration items
//! recorded, rule evaluations), Security Hub (security checks), RDS automated backups replicated to
//! another region (the transfer and the backup storage there), and those of their resources that cost
//! nothing by themselves. Read by [`super::rules`].

use super::estimate::Metered;

/// Free by themselves: the delivery channel and the recorder's status (the recorder's line carries
/// Config), the standard's subscription (Security Hub bills its checks), the account analyzer (external
/// access analysis has no charge), EBS encryption by default and its key, the account's S3 public
/// access block.
pub(super) const FREE: &[&str] = &[
    "aws_config_delivery_channel",
    "aws_config_configuration_recorder_status",
    "aws_securityhub_standards_subscription",
    "aws_accessanalyzer_analyzer",
    "aws_ebs_encryption_by_default",
    "aws_ebs_default_kms_key",
    "aws_s3_account_public_access_block",
];

/// Priced by one usage figure each. RDS automated backups replicated to another region are billed in
/// the destination region: the transfer out of the source region and the replicated backups' storage
/// (RDS pricing, "Cross-Region automated backups").
pub(super) const METERED: &[Metered] = &[
    (
        "aws_config_configuration_recorder",
        "configuration items recorded (continuous)",
        "monthly_configuration_items",
        1.0,
        "items",
        |p| p.config_item,
    ),
    ("aws_config_config_rule", "rule evaluations", "monthly_evaluations", 1.0, "evaluations", |p| {
        p.config_rule_evaluation
    }),
    ("aws_securityhub_account", "security checks", "monthly_security_checks", 1.0, "checks", |p| p.securityhub_check),
    (
        "aws_db_instance_automated_backups_replication",
        "cross-region transfer of snapshots and logs",
        "monthly_transferred_gb",
        1.0,
        "GB",
        |p| p.inter_region_transfer_gb,
    ),
    (
        "aws_db_instance_automated_backups_replication",
        "replicated backup storage",
        "backup_storage_gb",
        1.0,
        "GB-months",
        |p| p.rds_backup_gb_month,
    ),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use crate::cost::estimate::{Pass, Res};
    use crate::cost::inputs::{Prices, UsageOf};
    use crate::cost::rules::rules;

    #[test]
    fn metered_types_get_a_line_per_row_from_their_usage_figure() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let prices = Prices::load(&root.join(crate::cost::PRICES)).unwrap();
        let usage: BTreeMap<String, f64> =
            [("monthly_transferred_gb", 10.0), ("backup_storage_gb", 100.0), ("monthly_requests", 2e6)]
                .map(|(k, v)| (k.to_string(), v))
                .into();
        let lines = |rtype: &str| {
            let mut pass = Pass::default();
            let res = Res {
                address: "x.y",
                rtype,
                module: "",
                index: None,
                after: &serde_json::json!({}),
                usage: UsageOf { own: [Some(&usage), None], by_type: None },
                p: prices.region("us-east-1").unwrap(),
                region: "us-east-1",
            };
            rules()[rtype](&res, &mut pass);
            pass.lines.iter().map(|l| (l.what.clone(), l.quantity, l.unit, l.unit_price)).collect::<Vec<_>>()
        };
        let p = prices.region("us-east-1").unwrap();
        assert_eq!(
            lines("aws_db_instance_automated_backups_replication"),
            [
                ("cross-region transfer of snapshots and logs".to_string(), 10.0, "GB", p.inter_region_transfer_gb),
                ("replicated backup storage".to_string(), 100.0, "GB-months", p.rds_backup_gb_month),
            ]
        );
        assert_eq!(
            lines("aws_sns_topic"),
            [("API requests".to_string(), 2.0, "million requests", p.sns_requests_million)]
        );
        assert_eq!(lines("aws_securityhub_account")[0].1, 0.0, "no usage figure: 0");
        assert!(lines("aws_config_delivery_channel").is_empty(), "free");
    }
}
