//! The contracts of `validate` (`contracts <env>`): the repository passes for every environment, a
//! second run reuses the emulated plans, and per contract a copy of the repository with one change
//! and the finding that names it. A copy whose change is not in terraform/ reuses the dev plan made
//! once per test run (`common::repository`: its key is the same); a change in terraform/ makes its own plan.

use crate::common::*;

#[test]
fn the_repositorys_contracts_pass_and_a_second_validate_reuses_the_plans() {
    let (_, first, second) = repository();
    first.assert_code(0);
    for env in ["dev", "staging", "production", "dr", "local"] {
        assert!(first.stdout().contains(&format!("ok     contracts {env} (")), "{}", first.stdout());
        assert!(second.stdout().contains(&format!("{env}: reused (")), "{}", second.stdout());
    }
    assert!(first.stdout().contains("dev: made ("), "{}", first.stdout());
    second.assert_code(0);
}

/// The names an emulated plan gives what is account-wide (IAM roles, managed policies, instance
/// profiles, service-linked roles) or global (S3 buckets): (type, name).
fn account_wide_names(shared: &Sandbox, env: &str) -> std::collections::BTreeSet<(String, String)> {
    let path = shared.work().join("plans").join(format!("{env}-emulated.plan.json"));
    let plan: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut names = std::collections::BTreeSet::new();
    for rc in plan["resource_changes"].as_array().unwrap() {
        let after = &rc["change"]["after"];
        let kind = rc["type"].as_str().unwrap_or_default();
        let name = match kind {
            "aws_iam_role" | "aws_iam_policy" | "aws_iam_instance_profile" => after["name"].as_str(),
            // A service-linked role's name is fixed by its service (AWSServiceRoleFor…).
            "aws_iam_service_linked_role" => after["aws_service_name"].as_str(),
            "aws_s3_bucket" => after["bucket"].as_str(),
            _ => continue,
        };
        let name = name.unwrap_or_else(|| panic!("{env}: {} has no known name", rc["address"]));
        names.insert((kind.to_string(), name.to_string()));
    }
    names
}

/// `dr` rebuilds production in its DR region inside production's account: an IAM name is account-wide
/// and a bucket name global, so none of dr's may be one of production's, or its apply collides with
/// what production has (or, worse, adopts it). Both plans are the shared ones of this test run.
#[test]
fn dr_names_no_role_policy_or_bucket_that_production_names() {
    let (shared, first, _) = repository();
    first.assert_code(0);
    let (dr, production) = (account_wide_names(shared, "dr"), account_wide_names(shared, "production"));
    assert!(dr.iter().filter(|(k, _)| k == "aws_iam_role").count() > 10, "dr plans its roles: {dr:?}");
    assert!(dr.iter().any(|(k, _)| k == "aws_s3_bucket"), "dr plans its buckets: {dr:?}");
    let shared_names: Vec<_> = dr.intersection(&production).collect();
    assert!(shared_names.is_empty(), "dr names what production names: {shared_names:?}");
}

/// `contracts dev` over a copy whose terraform/ is the repository's: the dev plan made once is reused.
fn contracts_dev_reusing_the_plan(sb: &Sandbox) -> Run {
    let (shared, first, _) = repository();
    first.assert_code(0);
    contracts_with_the_plan_of(shared, sb, "dev")
}

#[test]
fn bindings_a_binding_to_an_output_the_stack_lacks() {
    let sb = one_change(
        "k8s/overlays/dev/kustomization.yaml",
        "      - LOG_LEVEL=debug\n",
        "      - LOG_LEVEL=debug\n      - CACHE_HOST=${terraform:cache_endpont}\n",
    );
    finds(
        &contracts_dev_reusing_the_plan(&sb),
        &[
            "k8s/overlays/dev/kustomization.yaml:",
            "ConfigMap authorworks/platform",
            "${terraform:cache_endpont} can't be bound: the stack has no output `cache_endpont`",
        ],
    );
}

#[test]
fn bindings_a_key_the_map_output_lacks() {
    let sb = one_change(
        "k8s/overlays/dev/kustomization.yaml",
        "      - LOG_LEVEL=debug\n",
        "      - LOG_LEVEL=debug\n      - MEDIA_BUCKET=${terraform:bucket_names.madia}\n",
    );
    finds(
        &contracts_dev_reusing_the_plan(&sb),
        &[
            "k8s/overlays/dev/kustomization.yaml:",
            "${terraform:bucket_names.madia} can't be bound: the stack output `bucket_names` has no key `madia`",
            "backups, exports, logs, loki, media",
        ],
    );
}

/// The dev overlay gives media-service's ServiceAccount external-dns's role (a strategic merge
/// patch: it sets the annotation whether or not the base has one).
#[test]
fn identity_a_service_account_annotated_with_another_workloads_role() {
    let sb = one_change(
        "k8s/overlays/dev/kustomization.yaml",
        "patches:\n",
        "patches:\n  - target: {kind: ServiceAccount, name: media-service}\n    patch: |-\n      {apiVersion: v1, kind: ServiceAccount, metadata: {name: media-service, annotations: {eks.amazonaws.com/role-arn: \"${terraform:external_dns_role_arn}\"}}}\n",
    );
    finds(
        &contracts_dev_reusing_the_plan(&sb),
        &[
            "k8s/overlays/dev/kustomization.yaml:",
            "ServiceAccount authorworks/media-service: module.stack.module.security.module.irsa.aws_iam_role.this[\"external-dns\"]'s trust allows system:serviceaccount:external-dns:external-dns — not exactly system:serviceaccount:authorworks:media-service",
        ],
    );
}

#[test]
fn identity_a_helm_service_account_renamed_away_from_its_roles_trust() {
    let sb = one_change(
        "helm-values/external-dns/values.yaml",
        "  name: external-dns\n",
        "  name: external-dns-controller\n",
    );
    // The finding points at the name's line, wherever the values file has it now.
    let line = line("helm-values/external-dns/values.yaml", "  name: external-dns");
    finds(
        &contracts_dev_reusing_the_plan(&sb),
        &[
            &format!("helm-values/external-dns/values.yaml:{line}:"),
            "release external-dns: ServiceAccount external-dns/external-dns-controller (set_from_terraform external_dns_role_arn)",
            "trust allows system:serviceaccount:external-dns:external-dns — not exactly system:serviceaccount:external-dns:external-dns-controller",
        ],
    );
}

#[test]
fn identity_an_irsa_role_no_service_account_uses() {
    let sb = one_change(
        "helm-values/releases.toml",
        ", \"rbac.serviceAccount.annotations.eks\\\\.amazonaws\\\\.com/role-arn\" = \"cluster_autoscaler_role_arn\"",
        "",
    );
    finds(
        &contracts_dev_reusing_the_plan(&sb),
        &[
            "terraform/modules/irsa-role/main.tf:",
            "module.stack.module.security.module.irsa.aws_iam_role.this[\"cluster-autoscaler\"]: an IRSA role",
            "no ServiceAccount",
        ],
    );
}

/// The service's report step, before it starts, reads a Secret of its own (an init container: the
/// service-defaults component sets the service container's own `env`).
const READS_A_SECRET: &str = "      initContainers:\n        - name: migrate\n          image: ghcr.io/authorworks/content-service:0.0.0\n          envFrom: [{secretRef: {name: content-service-reports}}]\n      containers:\n";

#[test]
fn secrets_a_secret_nothing_produces() {
    let sb = one_change("k8s/base/services/content-service.yaml", "      containers:\n", READS_A_SECRET);
    finds(
        &contracts_dev_reusing_the_plan(&sb),
        &["k8s/base/services/content-service.yaml:", "Deployment authorworks/content-service: reads Secret authorworks/content-service-reports, which nothing in `dev` produces"],
    );
}

#[test]
fn secrets_an_external_secret_whose_remote_key_is_not_in_the_plan() {
    // Its ExternalSecret, from the store the cluster has (`aws-secrets-manager`), names a key no
    // secret of the plan has.
    let producer = "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: content-service-reports\nspec:\n  secretStoreRef: {kind: ClusterSecretStore, name: aws-secrets-manager}\n  target: {name: content-service-reports}\n  data:\n    - secretKey: token\n      remoteRef: {key: authorworks/dev/app/reports-api-key}\n";
    let sb = copy(move |p, t| match p {
        "k8s/base/services/content-service.yaml" => {
            format!("{}{producer}", t.replacen("      containers:\n", READS_A_SECRET, 1))
        }
        _ => t,
    });
    finds(
        &contracts_dev_reusing_the_plan(&sb),
        &[
            "k8s/base/services/content-service.yaml:",
            "ExternalSecret authorworks/content-service-reports: remote key authorworks/dev/app/reports-api-key does not exist in the plan: no aws_secretsmanager_secret in the plan is named `authorworks/dev/app/reports-api-key`",
        ],
    );
}

#[test]
fn dns_an_ingress_host_outside_the_environments_zone() {
    let sb = one_change(
        "k8s/overlays/dev/kustomization.yaml",
        "value: app.dev.authorworks.io}",
        "value: app.staging.authorworks.io}",
    );
    finds(
        &contracts_dev_reusing_the_plan(&sb),
        &["k8s/overlays/dev/kustomization.yaml:", "Ingress authorworks/gateway: host app.staging.authorworks.io is outside the environment's zone dev.authorworks.io"],
    );
}

// Changes in terraform/: each makes its own plan of dev.

#[test]
fn network_the_database_group_admits_the_nodes_on_another_port() {
    let sb = one_change(
        "terraform/modules/network/main.tf",
        "database = { engine = \"PostgreSQL\", port = 5432 }",
        "database = { engine = \"PostgreSQL\", port = 5433 }",
    );
    let out = sb.run(&["validate", "--only", "contracts dev"]);
    assert!(out.stdout().contains("dev: made ("), "{}", out.stdout());
    finds(
        &out,
        &[
            "terraform/modules/network/main.tf:",
            "module.stack.module.network.aws_security_group.data[\"database\"]: the PostgreSQL group of module.stack.module.database.aws_db_instance.primary admits none of the groups the nodes carry",
            "on TCP 5432",
        ],
    );
}

#[test]
fn keys_a_key_policy_that_no_longer_delegates_use_to_the_accounts_iam() {
    let sb = one_change(
        "terraform/modules/kms-key/main.tf",
        "    sid       = \"AccountAdministers\"\n    actions   = [\"kms:*\"]\n",
        "    sid       = \"AccountAdministers\"\n    actions   = [\"kms:Create*\", \"kms:Describe*\", \"kms:Enable*\", \"kms:List*\", \"kms:Put*\", \"kms:Update*\", \"kms:Revoke*\", \"kms:Disable*\", \"kms:Get*\", \"kms:Delete*\", \"kms:TagResource\", \"kms:UntagResource\", \"kms:ScheduleKeyDeletion\", \"kms:CancelKeyDeletion\"]\n",
    );
    finds(
        &sb.run(&["validate", "--only", "contracts dev"]),
        &[
            "terraform/modules/security/main.tf:",
            "module.stack.module.security.aws_iam_role_policy.controller[\"alertmanager\"]: module.stack.module.security.module.irsa.aws_iam_role.this[\"alertmanager\"] uses module.stack.module.security.module.keys.aws_kms_key.this[\"sns\"] (kms:GenerateDataKey*, kms:Decrypt)",
            "neither names the role nor delegates",
        ],
    );
}

#[test]
fn notifications_alarms_to_a_topic_nobody_subscribes_to() {
    let sb = one_change(
        "terraform/modules/monitoring/main.tf",
        "  for_each = toset(var.alert_emails)\n",
        "  for_each = toset([])\n",
    );
    finds(
        &sb.run(&["validate", "--only", "contracts dev"]),
        &["terraform/modules/database/main.tf:", "aws_cloudwatch_metric_alarm.this[\"cpu\"]: the alarm goes to module.stack.module.monitoring.aws_sns_topic.alerts, which has no subscription in the plan"],
    );
}

/// The GuardDuty findings rule publishes to the encrypted alert topic as EventBridge: the topic's policy
/// must admit events.amazonaws.com (notifications) and the topic's key must let it generate data keys
/// and decrypt in a statement without aws:SourceAccount, which EventBridge's KMS requests never carry
/// (keys). Both broken in one copy (one plan): each contract names the rule and the topic or key.
#[test]
fn keys_and_notifications_an_eventbridge_rule_the_topic_or_its_key_refuses() {
    let sb = copy(|p, t| match p {
        "terraform/modules/security/main.tf" => {
            let from = "sns_source_account_publishers = [\"cloudwatch.amazonaws.com\", \"budgets.amazonaws.com\", \"cloudtrail.amazonaws.com\"]";
            assert!(t.contains(from), "{p}");
            t.replacen(from, "sns_source_account_publishers = [\"cloudwatch.amazonaws.com\", \"budgets.amazonaws.com\", \"cloudtrail.amazonaws.com\", \"events.amazonaws.com\"]", 1)
        }
        "terraform/modules/monitoring/main.tf" => {
            let from = "      identifiers = local.publishing_services\n";
            assert!(t.contains(from), "{p}");
            t.replacen(
                from,
                "      identifiers = setsubtract(local.publishing_services, [\"events.amazonaws.com\"])\n",
                1,
            )
        }
        _ => t,
    });
    let out = sb.run(&["validate", "--only", "contracts dev"]);
    finds(
        &out,
        &[
            "terraform/modules/monitoring/main.tf:",
            "aws_cloudwatch_event_target.guardduty: events.amazonaws.com publishes to module.stack.module.monitoring.aws_sns_topic.alerts for it, but the topic's key module.stack.module.security.module.keys.aws_kms_key.this[\"sns\"] does not let events.amazonaws.com kms:GenerateDataKey*, kms:Decrypt",
            "its requests carry no aws:SourceAccount or aws:SourceArn",
        ],
    );
    finds(
        &out,
        &[
            "terraform/modules/monitoring/main.tf:",
            "aws_cloudwatch_event_target.guardduty: events.amazonaws.com publishes for it to module.stack.module.monitoring.aws_sns_topic.alerts whose policy does not let it publish",
        ],
    );
}

#[test]
fn edge_the_production_web_acl_not_given_to_the_load_balancer_controller() {
    let sb =
        one_change("helm-values/releases.toml", "\"ingressClassParams.spec.wafv2AclArn\" = \"alb_web_acl_arn\", ", "");
    finds(
        &contracts_with_the_plan_of(&repository().0, &sb, "production"),
        &[
            "helm-values/releases.toml:",
            "release aws-load-balancer-controller: the ALB does not get the plan's regional web ACL module.stack.module.edge.module.waf.aws_wafv2_web_acl.this[\"alb\"]",
            "set_from_terraform binds no output to `ingressClassParams.spec.wafv2AclArn`",
        ],
    );
}

#[test]
fn edge_a_listener_policy_without_tls_1_3() {
    let sb = one_change(
        "helm-values/aws-load-balancer-controller/values.yaml",
        "sslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06",
        "sslPolicy: ELBSecurityPolicy-2016-08",
    );
    finds(
        &contracts_dev_reusing_the_plan(&sb),
        &[
            "helm-values/aws-load-balancer-controller/values.yaml:",
            "the ALB's HTTPS listener policy is `ELBSecurityPolicy-2016-08`",
            "it must be a TLS 1.3 policy",
        ],
    );
}

#[test]
fn edge_a_controller_role_that_may_not_associate_the_web_acl() {
    let sb = one_change("terraform/modules/edge/main.tf", "\"wafv2:AssociateWebACL\", ", "");
    let out = sb.run(&["validate", "--only", "contracts production"]);
    assert!(out.stdout().contains("production: made ("), "{}", out.stdout());
    finds(
        &out,
        &[
            "terraform/modules/irsa-role/main.tf:",
            "module.stack.module.edge.module.irsa.aws_iam_role.this[\"aws-load-balancer-controller\"]: the aws-load-balancer-controller's role may not wafv2:AssociateWebACL",
        ],
    );
}
