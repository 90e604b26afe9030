//! The EKS API as the upgrade uses it, through the AWS CLI: the commands (`Calls`, one builder per call,
//! so `--dry-run` shows what runs) and the answers, read through serde types. An update EKS runs in the
//! background (UpdateAddon, UpdateNodegroupVersion) is waited on with DescribeUpdate.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::context::Context;
use crate::engine::{Cmd, StepCtx};
use crate::target::Target;

#[derive(Deserialize)]
pub struct DescribeCluster {
    pub cluster: Cluster,
}

#[derive(Deserialize)]
pub struct Cluster {
    pub version: String,
    #[serde(default)]
    pub status: String,
}

#[derive(Deserialize)]
pub struct ListInsights {
    #[serde(default)]
    pub insights: Vec<InsightSummary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InsightSummary {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kubernetes_version: Option<String>,
    pub insight_status: InsightStatus,
}

#[derive(Deserialize)]
pub struct InsightStatus {
    pub status: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize)]
pub struct DescribeInsight {
    pub insight: Insight,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Insight {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub recommendation: String,
    pub insight_status: InsightStatus,
    #[serde(default)]
    pub resources: Vec<InsightResource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InsightResource {
    #[serde(default)]
    pub kubernetes_resource_uri: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
}

#[derive(Deserialize)]
pub struct ListAddons {
    #[serde(default)]
    pub addons: Vec<String>,
}

#[derive(Deserialize)]
pub struct DescribeAddon {
    pub addon: Addon,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Addon {
    pub addon_version: String,
    #[serde(default)]
    pub status: String,
}

#[derive(Deserialize)]
pub struct AddonVersions {
    #[serde(default)]
    pub addons: Vec<AddonInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddonInfo {
    #[serde(default)]
    pub addon_versions: Vec<AddonVersionInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddonVersionInfo {
    pub addon_version: String,
    #[serde(default)]
    pub compatibilities: Vec<Compatibility>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Compatibility {
    pub cluster_version: String,
    #[serde(default)]
    pub default_version: bool,
}

#[derive(Deserialize)]
pub struct ListNodegroups {
    #[serde(default)]
    pub nodegroups: Vec<String>,
}

#[derive(Deserialize)]
pub struct DescribeNodegroup {
    pub nodegroup: Nodegroup,
}

#[derive(Deserialize)]
pub struct Nodegroup {
    pub version: String,
    #[serde(default)]
    pub status: String,
}

#[derive(Deserialize)]
pub struct UpdateAnswer {
    pub update: Update,
}

#[derive(Deserialize)]
pub struct Update {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub errors: Vec<UpdateError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateError {
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub error_message: String,
}

/// Parses a JSON answer of `what`.
pub fn read<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).with_context(|| format!("the answer to `aws eks {what}` is not what EKS answers"))
}

/// The add-on version EKS lists for `version`: its default for that version, else the newest listed.
pub fn version_for(answer: &AddonVersions, version: &str) -> Option<String> {
    let listed: Vec<&AddonVersionInfo> = answer
        .addons
        .iter()
        .flat_map(|a| &a.addon_versions)
        .filter(|v| v.compatibilities.iter().any(|c| c.cluster_version == version))
        .collect();
    let default =
        listed.iter().find(|v| v.compatibilities.iter().any(|c| c.cluster_version == version && c.default_version));
    default
        .or_else(|| listed.iter().max_by(|a, b| compare_addon(&a.addon_version, &b.addon_version)))
        .map(|v| v.addon_version.clone())
}

/// Orders add-on versions like `v1.19.2-eksbuild.1`: the numbers in order, then the build.
pub fn compare_addon(a: &str, b: &str) -> std::cmp::Ordering {
    let numbers = |s: &str| -> Vec<u64> {
        s.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
    };
    numbers(a).cmp(&numbers(b))
}

/// The AWS CLI calls of an upgrade, for one endpoint (the one `--dry-run` shows, or the live one).
pub struct Calls<'a> {
    pub ctx: &'a Context,
    pub target: &'a Target,
    pub endpoint: Option<String>,
}

impl Calls<'_> {
    fn eks(&self, verb: &str) -> Cmd {
        self.target.aws(self.ctx, self.endpoint.as_deref()).args(["eks", verb])
    }
    fn json(cmd: Cmd) -> Cmd {
        cmd.args(["--output", "json"])
    }
    pub fn describe_cluster(&self, cluster: &str) -> Cmd {
        Self::json(self.eks("describe-cluster").args(["--name", cluster]))
    }
    pub fn list_insights(&self, cluster: &str) -> Cmd {
        Self::json(self.eks("list-insights").args([
            "--cluster-name",
            cluster,
            "--filter",
            "categories=UPGRADE_READINESS",
        ]))
    }
    pub fn describe_insight(&self, cluster: &str, id: &str) -> Cmd {
        Self::json(self.eks("describe-insight").args(["--cluster-name", cluster, "--id", id]))
    }
    pub fn list_addons(&self, cluster: &str) -> Cmd {
        Self::json(self.eks("list-addons").args(["--cluster-name", cluster]))
    }
    pub fn describe_addon(&self, cluster: &str, addon: &str) -> Cmd {
        Self::json(self.eks("describe-addon").args(["--cluster-name", cluster, "--addon-name", addon]))
    }
    pub fn addon_versions(&self, version: &str, addon: &str) -> Cmd {
        Self::json(self.eks("describe-addon-versions").args(["--kubernetes-version", version, "--addon-name", addon]))
    }
    /// OVERWRITE, as terraform's `resolve_conflicts_on_update` (modules/eks): the add-on's configuration is
    /// terraform's, and a field someone changed on the cluster is set back to it.
    pub fn update_addon(&self, cluster: &str, addon: &str, version: &str) -> Cmd {
        Self::json(self.eks("update-addon").args([
            "--cluster-name",
            cluster,
            "--addon-name",
            addon,
            "--addon-version",
            version,
            "--resolve-conflicts",
            "OVERWRITE",
        ]))
    }
    pub fn list_nodegroups(&self, cluster: &str) -> Cmd {
        Self::json(self.eks("list-nodegroups").args(["--cluster-name", cluster]))
    }
    pub fn describe_nodegroup(&self, cluster: &str, group: &str) -> Cmd {
        Self::json(self.eks("describe-nodegroup").args(["--cluster-name", cluster, "--nodegroup-name", group]))
    }
    /// No `--force`: EKS drains each node respecting the PodDisruptionBudgets, and fails the update
    /// (PodEvictionFailure) rather than evict a pod a budget protects.
    pub fn update_nodegroup(&self, cluster: &str, group: &str, version: &str) -> Cmd {
        Self::json(self.eks("update-nodegroup-version").args([
            "--cluster-name",
            cluster,
            "--nodegroup-name",
            group,
            "--kubernetes-version",
            version,
        ]))
    }
    /// DescribeUpdate of an add-on's (`--addon-name`) or a node group's (`--nodegroup-name`) update.
    pub fn describe_update(&self, cluster: &str, id: &str, of: (&str, &str)) -> Cmd {
        Self::json(self.eks("describe-update").args(["--name", cluster, "--update-id", id, of.0, of.1]))
    }
}

/// How often and how long an update is waited on.
pub struct Patience {
    pub every: Duration,
    pub at_most: Duration,
}

/// Waits until EKS reports the update `Successful`; an update that `Failed` or was `Cancelled` is an error
/// with EKS's own reasons. The first answer is read at once (an update may be done already).
pub fn wait_update(c: &mut StepCtx, describe: &Cmd, what: &str, patience: Patience) -> Result<()> {
    let started = Instant::now();
    loop {
        let answer: UpdateAnswer = read("describe-update", &c.output(describe)?)?;
        let update = answer.update;
        match update.status.as_str() {
            "Successful" => return Ok(()),
            "Failed" | "Cancelled" => {
                let errors: Vec<String> =
                    update.errors.iter().map(|e| format!("{}: {}", e.error_code, e.error_message)).collect();
                bail!("{what}: EKS update {} {} ({})", update.id, update.status.to_lowercase(), errors.join("; "));
            }
            _ => {}
        }
        if started.elapsed() > patience.at_most {
            bail!(
                "{what}: EKS update {} still {} after {} minutes (`aws eks describe-update` shows where it is)",
                update.id,
                update.status,
                patience.at_most.as_secs() / 60
            );
        }
        c.log(format!("{what}: {} ({}s)", update.status, started.elapsed().as_secs()));
        std::thread::sleep(patience.every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_for_a_cluster_is_its_default_else_the_newest() {
        let answer: AddonVersions = serde_json::from_str(
            r#"{"addons":[{"addonName":"vpc-cni","addonVersions":[
              {"addonVersion":"v1.20.0-eksbuild.1","compatibilities":[{"clusterVersion":"1.36","defaultVersion":false}]},
              {"addonVersion":"v1.19.9-eksbuild.2","compatibilities":[{"clusterVersion":"1.36","defaultVersion":true},{"clusterVersion":"1.35","defaultVersion":false}]},
              {"addonVersion":"v1.19.10-eksbuild.1","compatibilities":[{"clusterVersion":"1.35","defaultVersion":true}]}]}]}"#,
        )
        .unwrap();
        assert_eq!(version_for(&answer, "1.36").as_deref(), Some("v1.19.9-eksbuild.2"));
        assert_eq!(version_for(&answer, "1.37"), None);
        assert_eq!(compare_addon("v1.19.10-eksbuild.1", "v1.19.9-eksbuild.2"), std::cmp::Ordering::Greater);
        let no_default: AddonVersions = serde_json::from_str(
            r#"{"addons":[{"addonVersions":[{"addonVersion":"v1.2.0-eksbuild.1","compatibilities":[{"clusterVersion":"1.36"}]},{"addonVersion":"v1.10.0-eksbuild.1","compatibilities":[{"clusterVersion":"1.36"}]}]}]}"#,
        )
        .unwrap();
        assert_eq!(version_for(&no_default, "1.36").as_deref(), Some("v1.10.0-eksbuild.1"));
    }
}
