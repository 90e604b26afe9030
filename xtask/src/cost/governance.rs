//! The rules of the account's governance and recovery services: AWS Config (configuration items
//! recorded, rule evaluations), Security Hub (security checks), RDS automated backups replicated to
//! another region (the transfer and the backup storage there), and those of their resources that cost
//! nothing by themselves. Registered by [`super::rules`].

use std::collections::HashMap;

use super::estimate::{Pass, Res, Rule};

/// Free by themselves: the delivery channel and the recorder's status (the recorder's line carries
/// Config), the standard's subscription (Security Hub bills its checks), the account analyzer (external
/// access analysis has no charge), EBS encryption by default and its key, the account's S3 public
/// access block.
const FREE: &[&str] = &[
    "aws_config_delivery_channel",
    "aws_config_configuration_recorder_status",
    "aws_securityhub_standards_subscription",
    "aws_accessanalyzer_analyzer",
    "aws_ebs_encryption_by_default",
    "aws_ebs_default_kms_key",
    "aws_s3_account_public_access_block",
];

pub(super) fn register(m: &mut HashMap<&'static str, Rule>) {
    for t in FREE {
        m.insert(t, |_, _| {});
    }
    m.insert("aws_config_configuration_recorder", config_recorder);
    m.insert("aws_config_config_rule", config_rule);
    m.insert("aws_securityhub_account", security_hub);
    m.insert("aws_db_instance_automated_backups_replication", backups_replication);
}

fn config_recorder(r: &Res, s: &mut Pass) {
    let items = r.usage.or_zero("monthly_configuration_items");
    s.add(r, "configuration items recorded (continuous)", items, "items", r.p.config_item);
}

fn config_rule(r: &Res, s: &mut Pass) {
    let evaluations = r.usage.or_zero("monthly_evaluations");
    s.add(r, "rule evaluations", evaluations, "evaluations", r.p.config_rule_evaluation);
}

fn security_hub(r: &Res, s: &mut Pass) {
    let checks = r.usage.or_zero("monthly_security_checks");
    s.add(r, "security checks", checks, "checks", r.p.securityhub_check);
}

/// Billed in the destination region: the transfer out of the source region and the replicated
/// backups' storage (RDS pricing, "Cross-Region automated backups").
fn backups_replication(r: &Res, s: &mut Pass) {
    let transferred = r.usage.or_zero("monthly_transferred_gb");
    s.add(r, "cross-region transfer of snapshots and logs", transferred, "GB", r.p.inter_region_transfer_gb);
    let stored = r.usage.or_zero("backup_storage_gb");
    s.add(r, "replicated backup storage", stored, "GB-months", r.p.rds_backup_gb_month);
}
