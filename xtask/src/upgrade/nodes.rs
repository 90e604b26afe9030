//! After the control plane: the managed add-ons to the version EKS lists for the new minor
//! (DescribeAddonVersions, then UpdateAddon), then the node groups (UpdateNodegroupVersion: EKS replaces
//! the nodes one at a time, draining each with the eviction API so PodDisruptionBudgets hold), each
//! update waited on (DescribeUpdate); and the verify at the end.

use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

use super::eks::{self, read, Calls, Patience};
use super::Upgrade;
use crate::context::Context;
use crate::engine::Step;
use crate::lifecycle::Minor;
use crate::target::{output_placeholder, Target};
use crate::tools::{self, Tools};

/// An add-on update "should finish within minutes"; the networking add-ons roll a DaemonSet over every node.
const ADDON_PATIENCE: Patience = Patience { every: Duration::from_secs(15), at_most: Duration::from_secs(30 * 60) };
/// A node group replaces every node; EKS gives each drain 15 minutes before PodEvictionFailure.
const NODEGROUP_PATIENCE: Patience =
    Patience { every: Duration::from_secs(30), at_most: Duration::from_secs(3 * 3600) };

/// vpc-cni, kube-proxy and coredns first, in the order the EKS User Guide updates them; the rest by name.
fn ordered(mut names: Vec<String>) -> Vec<String> {
    let rank = |n: &str| ["vpc-cni", "kube-proxy", "coredns"].iter().position(|x| *x == n).unwrap_or(3);
    names.sort_by(|a, b| (rank(a), a).cmp(&(rank(b), b)));
    names
}

pub fn addons_step<'a>(ctx: &'a Context, target: &'a Target, up: &'a Upgrade) -> Step<'a> {
    let shown = Calls { ctx, target, endpoint: target.shown_endpoint(ctx) };
    let (cluster, to) = (output_placeholder("cluster_name"), up.to.to_string());
    let each = "<each add-on>";
    let cmds = vec![
        shown.list_addons(&cluster),
        shown.describe_addon(&cluster, each),
        shown.addon_versions(&to, each),
        shown.update_addon(&cluster, each, &format!("<the version EKS lists for {to}>")),
        shown.describe_update(&cluster, "<its update id>", ("--addon-name", each)),
    ];
    let about = format!("Managed add-ons to the versions EKS lists for Kubernetes {to}, one at a time, each waited on");
    Step::new("add-ons", about, cmds, move |c| {
        let calls = Calls { ctx, target, endpoint: target.endpoint(ctx)? };
        let cluster = target.output("cluster_name")?;
        let to = up.to.to_string();
        let list: eks::ListAddons = read("list-addons", &c.output(&calls.list_addons(&cluster))?)?;
        let (mut updated, mut kept) = (Vec::new(), Vec::new());
        for name in ordered(list.addons) {
            let current: eks::DescribeAddon = read("describe-addon", &c.output(&calls.describe_addon(&cluster, &name))?)?;
            let versions: eks::AddonVersions = read("describe-addon-versions", &c.output(&calls.addon_versions(&to, &name))?)?;
            let Some(want) = eks::version_for(&versions, &to) else {
                bail!("add-on {name}: EKS lists no version of it for Kubernetes {to}; it stays at {}", current.addon.addon_version);
            };
            let have = current.addon.addon_version;
            let listed = versions.addons.iter().flat_map(|a| &a.addon_versions).any(|v| {
                v.addon_version == have && v.compatibilities.iter().any(|x| x.cluster_version == to)
            });
            if have == want || (listed && eks::compare_addon(&have, &want).is_ge()) {
                kept.push(format!("{name} {have}"));
                continue;
            }
            let answer: eks::UpdateAnswer = read("update-addon", &c.output(&calls.update_addon(&cluster, &name, &want))?)?;
            let describe = calls.describe_update(&cluster, &answer.update.id, ("--addon-name", &name));
            eks::wait_update(c, &describe, &format!("add-on {name} {have} → {want}"), ADDON_PATIENCE).map_err(|e| {
                e.context(format!(
                    "add-on {name} did not reach {want}; it was at {have}. `aws eks describe-addon --cluster-name {cluster} --addon-name {name}` shows its health issues; fix the cause and resume (the control plane stays at {to})"
                ))
            })?;
            updated.push(format!("{name} {have} → {want}"));
        }
        for line in updated.iter().chain(&kept) {
            c.log(line);
        }
        c.note(format!("{} updated, {} already at a version for {to}", updated.len(), kept.len()));
        Ok(())
    })
    .note("a version already listed for the new minor and not older than EKS's default is kept")
}

pub fn nodegroups_step<'a>(ctx: &'a Context, target: &'a Target, up: &'a Upgrade) -> Step<'a> {
    let shown = Calls { ctx, target, endpoint: target.shown_endpoint(ctx) };
    let (cluster, to) = (output_placeholder("cluster_name"), up.to.to_string());
    let each = "<each node group>";
    let cmds = vec![
        shown.list_nodegroups(&cluster),
        shown.describe_nodegroup(&cluster, each),
        shown.update_nodegroup(&cluster, each, &to),
        shown.describe_update(&cluster, "<its update id>", ("--nodegroup-name", each)),
    ];
    let about =
        format!("Node groups to Kubernetes {to}: EKS replaces the nodes, draining each within its disruption budgets");
    Step::new("node-groups", about, cmds, move |c| {
        let calls = Calls { ctx, target, endpoint: target.endpoint(ctx)? };
        let cluster = target.output("cluster_name")?;
        let to = up.to.to_string();
        let list: eks::ListNodegroups = read("list-nodegroups", &c.output(&calls.list_nodegroups(&cluster))?)?;
        let (mut updated, mut kept) = (0, 0);
        for group in &list.nodegroups {
            let answer: eks::DescribeNodegroup = read("describe-nodegroup", &c.output(&calls.describe_nodegroup(&cluster, group))?)?;
            let have = answer.nodegroup.version;
            if Minor::parse(&have) == Some(up.to) {
                kept += 1;
                continue;
            }
            let started: eks::UpdateAnswer = read("update-nodegroup-version", &c.output(&calls.update_nodegroup(&cluster, group, &to))?)?;
            let describe = calls.describe_update(&cluster, &started.update.id, ("--nodegroup-name", group));
            eks::wait_update(c, &describe, &format!("node group {group} {have} → {to}"), NODEGROUP_PATIENCE).map_err(|e| {
                e.context(format!(
                    "node group {group} did not reach {to}. A PodEvictionFailure means a pod's disruption budget kept it on a node for 15 minutes: let it move (more replicas, a looser budget), then resume; nodes already replaced stay at {to}, the others at {have}, both within the skew policy"
                ))
            })?;
            updated += 1;
        }
        c.note(format!("{updated} node group(s) updated, {kept} already at {to}"));
        Ok(())
    })
    .note("no --force: a node whose pods a PodDisruptionBudget keeps fails the update instead of being drained by force")
}

#[derive(Deserialize)]
struct NodeList {
    #[serde(default)]
    items: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    metadata: NodeMeta,
    status: NodeStatus,
}

#[derive(Deserialize)]
struct NodeMeta {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NodeStatus {
    node_info: NodeInfo,
    #[serde(default)]
    conditions: Vec<Condition>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NodeInfo {
    kubelet_version: String,
}

#[derive(Deserialize)]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
}

/// The end state: the control plane, every add-on and node group at the new minor and ACTIVE, and every
/// node's kubelet at it and Ready.
pub fn verify_step<'a>(ctx: &'a Context, target: &'a Target, up: &'a Upgrade) -> Step<'a> {
    let shown = Calls { ctx, target, endpoint: target.shown_endpoint(ctx) };
    let cluster = output_placeholder("cluster_name");
    let nodes = move || {
        Tools::new(ctx)
            .cmd(tools::KUBECTL)
            .args(["get", "nodes", "--output", "json"])
            .arg(format!("--kubeconfig={}", target.kubeconfig().display()))
    };
    let cmds = vec![
        shown.describe_cluster(&cluster),
        shown.list_addons(&cluster),
        shown.describe_addon(&cluster, "<each add-on>"),
        shown.list_nodegroups(&cluster),
        shown.describe_nodegroup(&cluster, "<each node group>"),
        nodes(),
    ];
    let about = format!("Control plane, add-ons, node groups and every node's kubelet at {} and healthy", up.to);
    Step::new("verify", about, cmds, move |c| {
        let calls = Calls { ctx, target, endpoint: target.endpoint(ctx)? };
        let cluster = target.output("cluster_name")?;
        let mut wrong = Vec::new();
        let answer: eks::DescribeCluster = read("describe-cluster", &c.output(&calls.describe_cluster(&cluster))?)?;
        if Minor::parse(&answer.cluster.version) != Some(up.to) || answer.cluster.status != "ACTIVE" {
            wrong.push(format!("control plane {} {}", answer.cluster.version, answer.cluster.status));
        }
        let addons: eks::ListAddons = read("list-addons", &c.output(&calls.list_addons(&cluster))?)?;
        for name in &addons.addons {
            let a: eks::DescribeAddon = read("describe-addon", &c.output(&calls.describe_addon(&cluster, name))?)?;
            if a.addon.status != "ACTIVE" {
                wrong.push(format!("add-on {name} {} {}", a.addon.addon_version, a.addon.status));
            }
        }
        let groups: eks::ListNodegroups = read("list-nodegroups", &c.output(&calls.list_nodegroups(&cluster))?)?;
        for g in &groups.nodegroups {
            let n: eks::DescribeNodegroup =
                read("describe-nodegroup", &c.output(&calls.describe_nodegroup(&cluster, g))?)?;
            if Minor::parse(&n.nodegroup.version) != Some(up.to) || n.nodegroup.status != "ACTIVE" {
                wrong.push(format!("node group {g} {} {}", n.nodegroup.version, n.nodegroup.status));
            }
        }
        let list: NodeList = serde_json::from_str(&c.output(&nodes())?)
            .map_err(|e| anyhow::anyhow!("`kubectl get nodes --output json` answered something else: {e}"))?;
        for node in &list.items {
            let ready = node.status.conditions.iter().any(|x| x.kind == "Ready" && x.status == "True");
            let kubelet = &node.status.node_info.kubelet_version;
            if Minor::parse(kubelet) != Some(up.to) || !ready {
                wrong.push(format!(
                    "node {} kubelet {kubelet}{}",
                    node.metadata.name,
                    if ready { "" } else { " not Ready" }
                ));
            }
        }
        if !wrong.is_empty() {
            bail!("not everything is at {} and healthy: {}", up.to, wrong.join("; "));
        }
        c.note(format!(
            "{cluster} at {}: {} add-on(s), {} node group(s), {} node(s)",
            up.to,
            addons.addons.len(),
            groups.nodegroups.len(),
            list.items.len()
        ));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn networking_add_ons_go_first() {
        let names = ["aws-ebs-csi-driver", "coredns", "kube-proxy", "vpc-cni", "amazon-cloudwatch"].map(String::from);
        assert_eq!(
            super::ordered(names.to_vec()),
            ["vpc-cni", "kube-proxy", "coredns", "amazon-cloudwatch", "aws-ebs-csi-driver"]
        );
    }
}
