//! Whether an environment's pods fit its nodes: the pods the releases (`pods`, `daemonsets` in
//! helm-values/releases.toml), the overlay (Deployments and StatefulSets at their replicas or their
//! HorizontalPodAutoscaler's minReplicas, DaemonSets once per node) and the EKS add-ons ask for,
//! against the pods the node groups hold at their desired size. The node groups are the
//! environment's `node_groups` (terraform/environments/<env>/main.tf); pods per node are the eks
//! module's: its `eni_limits` table and the EKS max-pods formula it uses (below), with or without
//! VPC CNI prefix delegation as its `vpc_cni_configuration` says. Only untainted node groups count:
//! a tainted group (batch) takes only pods that tolerate it.

use std::path::{Path, PathBuf};

use hcl_edit::expr::{Expression, Object};
use serde_norway::Value;

use crate::env_files::EnvFiles;
use crate::finding::Finding;
use crate::k8s;
use crate::releases::Release;
use crate::terraform::{self, TfFile};

/// The EKS add-ons' pods (terraform/modules/eks: vpc-cni, coredns, kube-proxy, aws-ebs-csi-driver):
/// CoreDNS's two replicas and the EBS CSI controller's two, and one aws-node, kube-proxy and
/// ebs-csi-node per node (the add-ons' default manifests).
pub const ADDON_PODS: u32 = 4;
pub const ADDON_DAEMONSETS: u32 = 3;

/// One EC2 instance type's network limits (the eks module's `eni_limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EniLimits {
    pub enis: u32,
    pub ips: u32,
    pub vcpus: u32,
}

/// Pods per node as the eks module computes kubelet's maxPods (EKS User Guide, "Assign more IP
/// addresses to Amazon EKS nodes with prefixes"; awslabs/amazon-eks-ami's max-pods calculator):
/// with prefix delegation ENIs × ((IPs per ENI − 1) × 16) + 2, at most 110 below 30 vCPUs and 250
/// from 30; without it ENIs × (IPs per ENI − 1) + 2.
pub fn max_pods(l: EniLimits, prefix_delegation: bool) -> u32 {
    if prefix_delegation {
        (l.enis * ((l.ips - 1) * 16) + 2).min(if l.vcpus < 30 { 110 } else { 250 })
    } else {
        l.enis * (l.ips.saturating_sub(1)) + 2
    }
}

/// A node group of an environment, as main.tf declares it.
#[derive(Debug, Clone)]
pub struct NodeGroup {
    pub name: String,
    pub instance_types: Vec<String>,
    pub desired_size: u32,
    pub tainted: bool,
}

fn field<'a>(o: &'a Object, name: &str) -> Option<&'a Expression> {
    o.iter().find(|(k, _)| terraform::object_key(k) == name).map(|(_, v)| v.expr())
}

fn number(e: Option<&Expression>) -> Option<u32> {
    e.and_then(Expression::as_number).and_then(|n| n.as_u64()).and_then(|n| u32::try_from(n).ok())
}

fn eks_main(root: &Path) -> PathBuf {
    terraform::tf_dir(root).join("modules").join("eks").join("main.tf")
}

/// The eks module's ENI table and whether it turns on prefix delegation.
pub fn eks_limits(root: &Path) -> Result<(Vec<(String, EniLimits)>, bool), Finding> {
    let path = eks_main(root);
    let file = TfFile::read(&path)?;
    let local =
        |name: &str| file.blocks("locals").find_map(|(_, b, _)| b.body.get_attribute(name).map(|a| a.value.clone()));
    let Some(table) = local("eni_limits") else {
        return Err(Finding::new(
            &path,
            None,
            "no `local.eni_limits` (instance type => { enis, ips, vcpus }): pods per node can't be derived",
        ));
    };
    let Some(table) = table.as_object() else {
        return Err(Finding::new(&path, None, "`local.eni_limits` must be a map literal"));
    };
    let mut limits = Vec::new();
    for (k, v) in table.iter() {
        let entry = v.expr().as_object();
        let get = |n: &str| number(entry.and_then(|o| field(o, n)));
        match (get("enis"), get("ips"), get("vcpus")) {
            (Some(enis), Some(ips), Some(vcpus)) if ips > 0 => {
                limits.push((terraform::object_key(k), EniLimits { enis, ips, vcpus }))
            }
            _ => {
                return Err(Finding::new(
                    &path,
                    None,
                    format!(
                        "`local.eni_limits[\"{}\"]` needs numbers enis, ips (> 0) and vcpus",
                        terraform::object_key(k)
                    ),
                ))
            }
        }
    }
    let prefix = local("vpc_cni_configuration")
        .as_ref()
        .and_then(Expression::as_object)
        .and_then(|o| field(o, "env"))
        .and_then(Expression::as_object)
        .and_then(|o| field(o, "ENABLE_PREFIX_DELEGATION"))
        .and_then(Expression::as_str)
        == Some("true");
    Ok((limits, prefix))
}

/// The environment's node groups (`node_groups` of its sizing).
pub fn node_groups(env: EnvFiles<'_>) -> Result<Vec<NodeGroup>, Finding> {
    let path = env.sizing_file();
    let expr = env
        .stack_argument("node_groups")
        .map_err(|e| Finding::new(&path, None, format!("{e:#}")))?
        .ok_or_else(|| Finding::new(&path, None, "the sizing sets no `node_groups`"))?;
    let Some(groups) = expr.as_object() else {
        return Err(Finding::new(&path, None, "`node_groups` must be a map literal"));
    };
    let mut out = Vec::new();
    for (k, v) in groups.iter() {
        let name = terraform::object_key(k);
        let Some(g) = v.expr().as_object() else {
            return Err(Finding::new(&path, None, format!("node group `{name}` must be an object literal")));
        };
        let instance_types: Vec<String> = field(g, "instance_types")
            .and_then(Expression::as_array)
            .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let Some(desired_size) = number(field(g, "desired_size")) else {
            return Err(Finding::new(&path, None, format!("node group `{name}`: desired_size must be a number")));
        };
        let tainted = field(g, "taints").and_then(Expression::as_array).is_some_and(|a| !a.is_empty());
        out.push(NodeGroup { name, instance_types, desired_size, tainted });
    }
    Ok(out)
}

/// The pods the overlay asks for: (pods, DaemonSet pods per node).
pub fn overlay_pods(objects: &[Value]) -> (u32, u32) {
    let text = |v: &Value, path: &[&str]| k8s::get(v, path).cloned();
    let mut pods = 0;
    let mut per_node = 0;
    for o in objects {
        let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = text(o, &["metadata", "name"]);
        let ns = text(o, &["metadata", "namespace"]);
        match kind {
            "Deployment" | "StatefulSet" => {
                let hpa_min = objects.iter().find_map(|h| {
                    let targets = h.get("kind").and_then(Value::as_str) == Some("HorizontalPodAutoscaler")
                        && text(h, &["metadata", "namespace"]) == ns
                        && text(h, &["spec", "scaleTargetRef", "kind"]).as_ref().and_then(Value::as_str) == Some(kind)
                        && text(h, &["spec", "scaleTargetRef", "name"]) == name;
                    targets.then(|| text(h, &["spec", "minReplicas"]).and_then(|v| v.as_u64()).unwrap_or(1))
                });
                let replicas = text(o, &["spec", "replicas"]).and_then(|v| v.as_u64()).unwrap_or(1);
                pods += hpa_min.unwrap_or(replicas) as u32;
            }
            "DaemonSet" => per_node += 1,
            _ => {}
        }
    }
    (pods, per_node)
}

/// The fit of one environment: a finding naming the environment, the pods asked and the capacity
/// when they don't fit at the node groups' desired size.
pub fn check(env: EnvFiles<'_>, releases: &[Release], objects: &[Value]) -> Vec<Finding> {
    let (root, name, main) = (env.root(), env.name(), env.sizing_file());
    let (groups, (limits, prefix)) = match (node_groups(env), eks_limits(root)) {
        (Ok(g), Ok(l)) => (g, l),
        (Err(f), _) | (_, Err(f)) => return vec![f],
    };
    let mut findings = Vec::new();
    let mut nodes = 0;
    let mut capacity = 0;
    for g in groups.iter().filter(|g| !g.tainted) {
        let per_node = g.instance_types.iter().map(|t| limits.iter().find(|(n, _)| n == t).map(|(_, l)| *l));
        let per_node: Option<Vec<EniLimits>> = per_node.collect();
        let Some(per_node) = per_node.filter(|l| !l.is_empty()) else {
            findings.push(Finding::new(
                &main,
                None,
                format!(
                    "node group `{}`: instance types {:?} are not all in the eks module's eni_limits ({})",
                    g.name,
                    g.instance_types,
                    eks_main(root).strip_prefix(root).unwrap_or(&eks_main(root)).display()
                ),
            ));
            continue;
        };
        // A group of several types holds what its smallest does (the module takes the minimum too).
        let each = per_node.iter().map(|l| max_pods(*l, prefix)).min().unwrap_or(0);
        nodes += g.desired_size;
        capacity += g.desired_size * each;
    }
    if !findings.is_empty() {
        return findings;
    }
    let mine: Vec<&Release> = releases.iter().filter(|r| r.environments.iter().any(|e| e == env.overlay())).collect();
    let release_pods: u32 = mine.iter().map(|r| r.pods.get(env.overlay()).copied().unwrap_or(0)).sum();
    let release_daemonsets: u32 = mine.iter().map(|r| r.daemonsets).sum();
    let (overlay, overlay_daemonsets) = overlay_pods(objects);
    let per_node = release_daemonsets + overlay_daemonsets + ADDON_DAEMONSETS;
    let asked = release_pods + overlay + ADDON_PODS + per_node * nodes;
    if asked > capacity {
        findings.push(Finding::new(
            &main,
            None,
            format!(
                "`{name}` asks for {asked} pods ({release_pods} of releases, {overlay} of the overlay, {ADDON_PODS} of \
                 EKS add-ons, {per_node} DaemonSet pods on each of {nodes} nodes) but its untainted node groups \
                 hold {capacity} at their desired size ({}): raise desired_size or pick larger instance types",
                if prefix { "prefix delegation on" } else { "prefix delegation off" }
            ),
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pods_follows_the_eks_formula() {
        let t3_small = EniLimits { enis: 3, ips: 4, vcpus: 2 };
        assert_eq!(max_pods(t3_small, false), 11, "EKS's eni-max-pods.txt: t3.small 11");
        assert_eq!(max_pods(t3_small, true), 110, "3 × (3 × 16) + 2 = 146, capped at 110");
        let m5_large = EniLimits { enis: 3, ips: 10, vcpus: 2 };
        assert_eq!(max_pods(m5_large, false), 29, "EKS's eni-max-pods.txt: m5.large 29");
        let big = EniLimits { enis: 15, ips: 50, vcpus: 96 };
        assert_eq!(max_pods(big, true), 250);
    }

    #[test]
    fn overlay_pods_count_replicas_hpa_minimums_and_daemonsets() {
        let objects = crate::k8s::parse(
            "kind: Deployment\nmetadata: {name: a, namespace: x}\nspec: {replicas: 2}\n---\n\
             kind: Deployment\nmetadata: {name: b, namespace: x}\nspec: {replicas: 1}\n---\n\
             kind: HorizontalPodAutoscaler\nmetadata: {name: b, namespace: x}\n\
             spec: {scaleTargetRef: {kind: Deployment, name: b}, minReplicas: 3}\n---\n\
             kind: StatefulSet\nmetadata: {name: c, namespace: x}\nspec: {}\n---\n\
             kind: DaemonSet\nmetadata: {name: d, namespace: x}\n",
        )
        .unwrap();
        assert_eq!(overlay_pods(&objects), (6, 1));
    }
}
