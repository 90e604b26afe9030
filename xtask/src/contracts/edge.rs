//! The edge contract (real environments): what terraform prepares for the ALB reaches the load
//! balancer controller that makes it. The controller's ingress class (its release's values and
//! `set_from_terraform`) gets:
//! - the web ACL: where the plan has a regional WAFv2 web ACL, `wafv2AclArn` is bound from a stack
//!   output that comes from exactly that ACL, and the controller's role may `wafv2:AssociateWebACL`
//!   (the controller associates it with the ALB it makes: the association is not a terraform
//!   resource, so this is where the plan and the ALB meet);
//! - the certificate: `certificateArn` bound from a stack output that comes from the plan's issued ACM
//!   certificate (its `aws_acm_certificate_validation`, present once the zone is delegated);
//! - a TLS 1.3 listener policy (`ELBSecurityPolicy-TLS13-*`, Elastic Load Balancing's "Security
//!   policies for your Application Load Balancer").
//!
//! A regional web ACL in an environment without the controller reaches nothing, and is a finding too.

use serde_norway::Value;

use super::{Inputs, Resource};
use crate::finding::Finding;

const CHART: &str = "aws-load-balancer-controller";
const WAF: &str = "ingressClassParams.spec.wafv2AclArn";
const CERTIFICATE: &str = "ingressClassParams.spec.certificateArn[0]";
const ROLE: &str = "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn";
const SSL_POLICY: &str = "ingressClassParams.spec.sslPolicy";
const TLS13: &str = "ELBSecurityPolicy-TLS13-";

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    if !inputs.env.real() {
        return Vec::new();
    }
    let plan = &inputs.plan;
    let acls: Vec<&Resource> =
        plan.of_type("aws_wafv2_web_acl").filter(|a| a.text("scope") == Some("REGIONAL")).collect();
    let controllers: Vec<_> = inputs.releases.iter().filter(|r| r.release.chart == CHART).collect();
    let mut findings = Vec::new();
    if controllers.is_empty() {
        for acl in &acls {
            findings.push(plan.finding(
                acl,
                format!("the regional web ACL reaches no ALB: `{}` gets no {CHART} release", inputs.env.name()),
            ));
        }
        return findings;
    }
    for release in controllers {
        let output = |key: &str| release.release.set_from_terraform.get(key).cloned();
        let from = |key: &str| output(key).map(|o| plan.output_sources(&o, None)).unwrap_or_default();
        let bound = |key: &str| match output(key) {
            Some(o) => format!("its output `{o}` does not come from it"),
            None => format!("set_from_terraform binds no output to `{key}`"),
        };

        let given = from(WAF);
        for acl in &acls {
            if !given.iter().any(|g| g.address == acl.address) {
                findings.push(release.finding(format!(
                    "the ALB does not get the plan's regional web ACL {}: {}",
                    acl.address,
                    bound(WAF)
                )));
            }
        }
        if !acls.is_empty() {
            let roles: Vec<&Resource> = from(ROLE).into_iter().filter(|r| r.kind == "aws_iam_role").collect();
            if roles.is_empty() {
                findings
                    .push(release.finding(format!("the controller's role is no role of the plan: {}", bound(ROLE))));
            }
            for role in roles {
                if !plan.grants(role).iter().any(|g| g.allows("wafv2:AssociateWebACL")) {
                    findings.push(plan.finding(
                        role,
                        format!(
                            "the {CHART}'s role may not wafv2:AssociateWebACL: the web ACL would never reach the ALB"
                        ),
                    ));
                }
            }
        }

        // Before the zone is delegated the plan has no issued certificate and the output is null:
        // `deploy` stops before the cluster steps and says so (Target::output), so only an issued one
        // is followed here.
        let issued: Vec<&Resource> = plan.of_type("aws_acm_certificate_validation").collect();
        let certificates = from(CERTIFICATE);
        match output(CERTIFICATE) {
            None => findings.push(release.finding(format!(
                "the ALB's HTTPS listener gets no certificate: set_from_terraform binds no output to `{CERTIFICATE}`"
            ))),
            Some(o) if !issued.is_empty() && !certificates.iter().any(|c| issued.iter().any(|i| i.address == c.address)) => {
                findings.push(release.finding(format!(
                    "the ALB's HTTPS listener does not get the plan's issued certificate {}: the output `{o}` does not come from it",
                    issued[0].address
                )))
            }
            Some(_) => {}
        }

        match release.value(SSL_POLICY).and_then(Value::as_str) {
            Some(policy) if policy.starts_with(TLS13) => {}
            other => findings.push(release.finding_at_key(
                SSL_POLICY,
                format!(
                "the ALB's HTTPS listener policy is {} (values `{SSL_POLICY}`): it must be a TLS 1.3 policy, {TLS13}*",
                other.map(|p| format!("`{p}`")).unwrap_or_else(|| "the controller's default".into())
            ),
            )),
        }
    }
    findings
}
