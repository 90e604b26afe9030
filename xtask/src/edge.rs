//! The seam between the overlay's edge objects and terraform's network: each ALB Ingress binds, in
//! `alb.ingress.kubernetes.io/security-groups`, the stack output that is the network module's `alb`
//! security group (`${terraform:<output>}`, replaced at deploy from the environment's own outputs, so
//! dr, which runs production's overlay, gets its own group), and the `alb-to-gateway` NetworkPolicy
//! admits exactly the environment's public subnets (where the ALB's nodes are). Both expected values
//! are derived from terraform's own expressions: the stack output whose value is the network module's
//! `security_group_ids["alb"]`, and the stack's `cidrs.public` rule (`cidrsubnet(var.sizing.vpc_cidr, <bits>,
//! <first> + i)` for each of `az_count` zones) with the environment's `vpc_cidr` and `az_count`.

use std::net::Ipv4Addr;

use serde_norway::Value;

use crate::env_files::EnvFiles;
use crate::finding::Finding;
use crate::k8s;
use crate::terraform::{self, TfFile};

pub const SECURITY_GROUPS: &str = "alb.ingress.kubernetes.io/security-groups";
pub const ALB_POLICY: &str = "alb-to-gateway";

fn source(e: &impl std::fmt::Display) -> String {
    e.to_string().trim().trim_matches('"').to_string()
}

/// The binding of the stack output whose value is the network module's `alb` security group
/// (`${terraform:alb_security_group_id}`), as terraform/stack/outputs.tf declares it.
pub fn alb_security_group_binding(root: &std::path::Path) -> Result<String, Finding> {
    let path = terraform::tf_dir(root).join("stack/outputs.tf");
    let file = TfFile::read(&path)?;
    let is_alb_group = |value: &str| {
        let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        ["module.network.security_group_ids[\"alb\"]", "module.network.security_group_ids.alb"]
            .contains(&value.as_str())
    };
    let missing = "no output whose value is module.network.security_group_ids[\"alb\"]: the ALB's Ingress has no security group to bind";
    let found = file
        .blocks("output")
        .find(|(_, b, _)| b.body.get_attribute("value").is_some_and(|a| is_alb_group(&a.value.to_string())))
        .map(|(name, _, _)| format!("${{terraform:{name}}}"));
    found.ok_or_else(|| Finding::new(&path, None, missing))
}

/// terraform's `cidrsubnet(prefix, newbits, netnum)` for IPv4.
pub fn cidrsubnet(prefix: &str, newbits: u32, netnum: u32) -> Option<String> {
    let (addr, bits) = prefix.split_once('/')?;
    let (addr, bits): (Ipv4Addr, u32) = (addr.parse().ok()?, bits.parse().ok()?);
    let new = bits + newbits;
    if new > 32 || u64::from(netnum) >= 1u64 << newbits {
        return None;
    }
    let base = u32::from(addr) & if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    let net = base | if new == 32 { netnum } else { netnum << (32 - new) };
    Some(format!("{}/{new}", Ipv4Addr::from(net)))
}

/// The environment's public subnet CIDRs, as the stack computes them.
pub fn public_subnets(env: EnvFiles<'_>) -> Result<Vec<String>, Finding> {
    let stack = terraform::tf_dir(env.root()).join("stack/main.tf");
    let main = env.sizing_file();
    let file = TfFile::read(&stack)?;
    let rule = file
        .blocks("locals")
        .find_map(|(_, b, _)| b.body.get_attribute("cidrs").map(|a| a.value.clone()))
        .and_then(|c| {
            c.as_object().and_then(|o| {
                o.iter().find(|(k, _)| terraform::object_key(k) == "public").map(|(_, v)| source(v.expr()))
            })
        })
        .ok_or_else(|| Finding::new(&stack, None, "no `local.cidrs.public`: the public subnets can't be derived"))?;
    // [for i in range(var.sizing.az_count) : cidrsubnet(var.sizing.vpc_cidr, 8, 1 + i)]
    let args = rule
        .split_once("cidrsubnet(var.sizing.vpc_cidr,")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(args, _)| args.split(',').map(str::trim).collect::<Vec<_>>());
    let parsed = args.as_deref().and_then(|a| match a {
        [bits, num] => Some((bits.parse::<u32>().ok()?, num.strip_suffix("+ i")?.trim().parse::<u32>().ok()?)),
        _ => None,
    });
    let Some((newbits, first)) = parsed.filter(|_| rule.contains("range(var.sizing.az_count)")) else {
        return Err(Finding::new(&stack, None, format!("`cidrs.public = {rule}` is not the form this check reads")));
    };
    let args = env.stack_arguments().unwrap_or_default();
    let vpc = args.get("vpc_cidr").and_then(|e| e.as_str().map(str::to_string));
    let azs = args.get("az_count").and_then(|e| e.as_number().and_then(|n| n.as_u64()));
    let (Some(vpc), Some(azs)) = (vpc, azs) else {
        return Err(Finding::new(&main, None, "the sizing needs literal `vpc_cidr` and `az_count`"));
    };
    (0..azs as u32)
        .map(|i| {
            cidrsubnet(&vpc, newbits, first + i).ok_or_else(|| {
                Finding::new(&main, None, format!("cidrsubnet({vpc}, {newbits}, {}) is out of range", first + i))
            })
        })
        .collect()
}

/// The overlay's edge objects against terraform.
pub fn check(env: EnvFiles<'_>, objects: &[Value]) -> Vec<Finding> {
    let (name, where_) = (env.name(), &env.overlay_dir());
    let mut findings = Vec::new();
    let get = |v: &Value, path: &[&str]| k8s::get(v, path).cloned();
    match alb_security_group_binding(env.root()) {
        Err(f) => findings.push(f),
        Ok(want) => {
            for ing in objects.iter().filter(|o| o.get("kind").and_then(Value::as_str) == Some("Ingress")) {
                if get(ing, &["spec", "ingressClassName"]).as_ref().and_then(Value::as_str) != Some("alb") {
                    continue;
                }
                let have = get(ing, &["metadata", "annotations", SECURITY_GROUPS]);
                let have = have.as_ref().and_then(Value::as_str).unwrap_or("(none)");
                if have != want {
                    findings.push(Finding::new(where_, None, format!(
                        "{}: {SECURITY_GROUPS} is `{have}` but must be `{want}`: terraform's alb security group, bound from `{name}`'s own outputs (terraform/stack/outputs.tf)",
                        crate::k8s::object_name(ing)
                    )));
                }
            }
        }
    }
    match public_subnets(env) {
        Err(f) => findings.push(f),
        Ok(want) => {
            let policy = objects.iter().find(|o| {
                o.get("kind").and_then(Value::as_str) == Some("NetworkPolicy")
                    && get(o, &["metadata", "name"]).as_ref().and_then(Value::as_str) == Some(ALB_POLICY)
            });
            let Some(policy) = policy else { return findings };
            let mut have: Vec<String> = get(policy, &["spec", "ingress"])
                .and_then(|i| i.as_sequence().cloned())
                .into_iter()
                .flatten()
                .flat_map(|rule| rule.get("from").and_then(Value::as_sequence).cloned().unwrap_or_default())
                .filter_map(|peer| get(&peer, &["ipBlock", "cidr"]).and_then(|c| c.as_str().map(str::to_string)))
                .collect();
            have.sort();
            let mut sorted = want.clone();
            sorted.sort();
            if have != sorted {
                findings.push(Finding::new(where_, None, format!(
                    "{}: admits {} but the public subnets of `{name}` are {} ({} vpc_cidr and az_count, terraform/stack/main.tf cidrs.public)",
                    crate::k8s::object_name(policy),
                    if have.is_empty() { "no ipBlock".to_string() } else { have.join(", ") },
                    want.join(", "),
                    env.shown_sizing_file()
                )));
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrsubnet_is_terraforms() {
        assert_eq!(cidrsubnet("10.2.0.0/16", 8, 1).as_deref(), Some("10.2.1.0/24"));
        assert_eq!(cidrsubnet("10.0.0.0/16", 8, 23).as_deref(), Some("10.0.23.0/24"));
        assert_eq!(cidrsubnet("10.0.0.0/16", 4, 15).as_deref(), Some("10.0.240.0/20"));
        assert_eq!(cidrsubnet("10.0.0.0/16", 8, 256), None);
    }
}
