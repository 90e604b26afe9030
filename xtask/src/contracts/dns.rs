//! The DNS contract: every hostname the environment serves — Ingress hosts (rules and TLS), CloudFront
//! aliases, ACM certificate names — is inside the environment's Route53 zone; an Ingress host has a
//! record in the plan or is published by external-dns (a release of the environment whose `sources`
//! include `ingress`, filtered to the zone), and a CloudFront alias has a record in the plan. An
//! environment that renders another's overlay (`local`) serves none of its hosts.

use serde_norway::Value;

use super::{Inputs, Resource};
use crate::finding::Finding;

fn inside(host: &str, zone: &str) -> bool {
    let host = host.trim_end_matches('.').trim_start_matches("*.");
    let zone = zone.trim_end_matches('.');
    host == zone || host.ends_with(&format!(".{zone}"))
}

/// Whether external-dns publishes Ingress hosts of `zone` in this environment.
fn external_dns(inputs: &Inputs) -> bool {
    inputs.releases.iter().any(|r| {
        r.release.chart == "external-dns"
            && r.value("sources")
                .and_then(Value::as_sequence)
                .is_none_or(|s| s.iter().any(|x| x.as_str() == Some("ingress")))
            && (r.release.set_from_terraform.values().any(|o| o == "domain_name") || r.value("domainFilters").is_some())
    })
}

pub fn check(inputs: &Inputs) -> Vec<Finding> {
    let plan = &inputs.plan;
    let zones: Vec<&Resource> = plan.of_type("aws_route53_zone").collect();
    let Some(zone) = zones.iter().find_map(|z| z.text("name")) else { return Vec::new() };
    let records: Vec<&str> = plan.of_type("aws_route53_record").filter_map(|r| r.text("name")).collect();
    let has_record = |h: &str| records.iter().any(|r| r.trim_end_matches('.') == h.trim_end_matches('.'));
    let published = external_dns(inputs);
    let mut findings = Vec::new();
    // `local` renders another environment's overlay (dev's) and serves nothing: its hosts are dev's.
    let ingresses = inputs.overlay.of_kind("Ingress").filter(|_| inputs.env.overlay() == inputs.env.name());
    for ing in ingresses {
        let spec = ing.value.get("spec");
        let mut hosts: Vec<&str> = spec
            .and_then(|s| s.get("rules"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("host").and_then(Value::as_str))
            .collect();
        for tls in spec.and_then(|s| s.get("tls")).and_then(Value::as_sequence).into_iter().flatten() {
            hosts.extend(tls.get("hosts").and_then(Value::as_sequence).into_iter().flatten().filter_map(Value::as_str));
        }
        hosts.dedup();
        for host in hosts {
            let at = |m: String| {
                let mut f = ing.finding(&inputs.overlay.dir, m);
                if let Some((file, line)) = inputs.overlay.locate(host) {
                    (f.file, f.line) = (file, Some(line));
                }
                f
            };
            if !inside(host, zone) {
                findings
                    .push(at(format!("host {host} is outside the environment's zone {zone} ({})", zones[0].address)));
            } else if !published && !has_record(host) {
                findings.push(at(format!(
                    "host {host} has no record in the plan's zone {zone} and no external-dns release of `{}` publishes Ingress hosts",
                    inputs.env.name()
                )));
            }
        }
    }
    for cdn in plan.of_type("aws_cloudfront_distribution") {
        for alias in cdn.known("aliases").and_then(|a| a.as_array()).into_iter().flatten().filter_map(|a| a.as_str()) {
            if !inside(alias, zone) {
                findings.push(plan.finding(cdn, format!("alias {alias} is outside the environment's zone {zone}")));
            } else if !has_record(alias) {
                findings.push(plan.finding(cdn, format!("alias {alias} has no record in the zone {zone}")));
            }
        }
    }
    for cert in plan.of_type("aws_acm_certificate") {
        let mut names: Vec<&str> = cert.text("domain_name").into_iter().collect();
        names.extend(
            cert.known("subject_alternative_names")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str()),
        );
        for name in names.into_iter().filter(|n| !inside(n, zone)) {
            findings
                .push(plan.finding(cert, format!("certificate name {name} is outside the environment's zone {zone}")));
        }
    }
    findings
}
