//! The root configuration file, `xtask.toml`: the operational facts terraform does not need (which AWS
//! account an environment must run in, whether it is protected, …), loaded into typed, validated
//! settings. Every problem is reported as one line with `file:line` and exits 2.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;
use toml::Spanned;

use crate::error::{line_of, usage};

pub const FILE_NAME: &str = "xtask.toml";

#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub project: String,
    pub emulator_port: Option<u16>,
    pub mesh: MeshSettings,
    environments: BTreeMap<String, Environment>,
}

/// How long the Linkerd trust anchor the xtask generates is valid (the issuer is cert-manager's, renewed
/// in the cluster: k8s/mesh/identity-issuer.yaml).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshSettings {
    #[serde(default = "default_anchor_days")]
    pub trust_anchor_days: u32,
}

impl Default for MeshSettings {
    fn default() -> Self {
        MeshSettings { trust_anchor_days: default_anchor_days() }
    }
}

fn default_anchor_days() -> u32 {
    3650
}

/// One environment's settings.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    /// The account the caller's credentials must belong to (the guard run before anything else).
    pub account_id: String,
    pub region: String,
    /// Where backups are copied and state is replicated, if anywhere.
    pub dr_region: Option<String>,
    /// Destructive actions need explicit confirmation.
    pub protected: bool,
    /// Applied to the local AWS emulator instead of a real account.
    pub emulator: bool,
    /// The Kubernetes overlay and the helm-values environment it uses (default: its own name).
    pub overlay: String,
    /// The environment whose successful deployment of a commit lets this one deploy it (`cargo xtask
    /// promotion`): staging takes what dev ran, production what staging ran.
    pub promote_from: Option<String>,
}

impl Environment {
    /// The environment whose overlay this one runs on a cluster of its own (dr runs production's):
    /// `None` for an environment with its own overlay, and for the emulator's, which has no cluster.
    pub fn borrowed_overlay(&self) -> Option<&str> {
        (!self.emulator && self.overlay != self.name).then_some(self.overlay.as_str())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    project: Spanned<String>,
    #[serde(default)]
    emulator: RawEmulator,
    #[serde(default)]
    mesh: Option<Spanned<MeshSettings>>,
    environments: BTreeMap<Spanned<String>, RawEnvironment>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEmulator {
    port: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    account_id: Spanned<String>,
    region: Spanned<String>,
    dr_region: Option<Spanned<String>>,
    #[serde(default)]
    protected: bool,
    #[serde(default)]
    emulator: bool,
    overlay: Option<Spanned<String>>,
    promote_from: Option<Spanned<String>>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            usage(format!("cannot read the configuration {}: {e} (create it, or pass --config FILE)", path.display()))
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let at = |span: Option<Range<usize>>| match span {
            Some(span) => format!("{}:{}", path.display(), line_of(text, span.start)),
            None => path.display().to_string(),
        };
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| usage(format!("{}: {}", at(e.span()), e.message().trim().replace('\n', "; "))))?;

        let project = raw.project.get_ref();
        if !is_name(project, 20) {
            return Err(usage(format!(
                "{}: project `{project}` must be 2-20 characters of a-z, 0-9 and -, starting with a letter",
                at(Some(raw.project.span()))
            )));
        }
        let emulator_port = match raw.emulator.port {
            None => None,
            Some(p) => Some(u16::try_from(*p.get_ref()).ok().filter(|p| *p >= 1024).ok_or_else(|| {
                usage(format!("{}: emulator.port must be between 1024 and 65535", at(Some(p.span()))))
            })?),
        };

        let mesh = match raw.mesh {
            None => MeshSettings::default(),
            Some(m) => {
                let (span, mesh) = (m.span(), m.into_inner());
                // Replacing an anchor is a manual, two-step change (docs/SECURITY.md): not every month.
                if mesh.trust_anchor_days < 365 {
                    return Err(usage(format!(
                        "{}: mesh.trust_anchor_days must be at least 365 (replacing the trust anchor is done by hand)",
                        at(Some(span))
                    )));
                }
                mesh
            }
        };

        let mut environments = BTreeMap::new();
        let mut promotions = Vec::new();
        for (name, env) in raw.environments {
            let at_name = at(Some(name.span()));
            let name = name.into_inner();
            if !is_name(&name, 20) {
                return Err(usage(format!("{at_name}: environment name `{name}` must be a-z, 0-9 and -")));
            }
            let account_id = env.account_id.get_ref();
            if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(usage(format!(
                    "{}: environments.{name}.account_id `{account_id}` must be the 12-digit AWS account id",
                    at(Some(env.account_id.span()))
                )));
            }
            for (key, region) in [("region", Some(&env.region)), ("dr_region", env.dr_region.as_ref())] {
                if let Some(region) = region {
                    if !is_region(region.get_ref()) {
                        return Err(usage(format!(
                            "{}: environments.{name}.{key} `{}` is not an AWS region (like us-east-1)",
                            at(Some(region.span())),
                            region.get_ref()
                        )));
                    }
                }
            }
            if env.dr_region.as_ref().map(|r| r.get_ref()) == Some(env.region.get_ref()) {
                return Err(usage(format!("{at_name}: environments.{name}.dr_region must differ from its region")));
            }
            let overlay = match env.overlay {
                Some(o) if !is_name(o.get_ref(), 20) => {
                    return Err(usage(format!(
                        "{}: environments.{name}.overlay must be an environment name",
                        at(Some(o.span()))
                    )));
                }
                Some(o) => o.into_inner(),
                None => name.clone(),
            };
            if let Some(from) = &env.promote_from {
                promotions.push((name.clone(), from.get_ref().clone(), at(Some(from.span()))));
            }
            environments.insert(
                name.clone(),
                Environment {
                    overlay,
                    name,
                    account_id: account_id.clone(),
                    region: env.region.into_inner(),
                    dr_region: env.dr_region.map(Spanned::into_inner),
                    protected: env.protected,
                    emulator: env.emulator,
                    promote_from: env.promote_from.map(Spanned::into_inner),
                },
            );
        }
        if environments.is_empty() {
            return Err(usage(format!("{}: no [environments.<name>] defined", path.display())));
        }
        check_promotions(&environments, &promotions)?;
        Ok(Config { path: path.to_path_buf(), project: project.clone(), emulator_port, mesh, environments })
    }

    /// The named environment, or a usage error listing the valid names.
    pub fn env(&self, name: &str) -> Result<&Environment> {
        self.environments.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.environments.keys().map(String::as_str).collect();
            usage(format!("unknown environment `{name}`: {} defines {}", self.path.display(), known.join(", ")))
        })
    }

    pub fn environments(&self) -> impl Iterator<Item = &Environment> {
        self.environments.values()
    }
}

/// Each `promote_from` names another real environment, and following them never comes back.
fn check_promotions(envs: &BTreeMap<String, Environment>, promotions: &[(String, String, String)]) -> Result<()> {
    for (name, from, at) in promotions {
        match envs.get(from) {
            None => {
                let known: Vec<&str> = envs.keys().map(String::as_str).collect();
                return Err(usage(format!(
                    "{at}: environments.{name}.promote_from `{from}` is no environment here ({})",
                    known.join(", ")
                )));
            }
            Some(e) if e.emulator || envs[name].emulator => {
                return Err(usage(format!(
                    "{at}: environments.{name}.promote_from: promotion is between real environments, and `{}` runs on the emulator",
                    if e.emulator { from } else { name }
                )));
            }
            Some(_) => {}
        }
        let mut seen = vec![name.as_str()];
        let mut next = Some(from.as_str());
        while let Some(n) = next {
            if seen.contains(&n) {
                return Err(usage(format!(
                    "{at}: environments.{name}.promote_from goes round in a circle ({} → {n})",
                    seen.join(" → ")
                )));
            }
            seen.push(n);
            next = envs.get(n).and_then(|e| e.promote_from.as_deref());
        }
    }
    Ok(())
}

fn is_name(s: &str, max: usize) -> bool {
    (2..=max).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-4`, …
pub fn is_region(s: &str) -> bool {
    const DIRECTIONS: &[&str] =
        &["north", "south", "east", "west", "central", "northeast", "northwest", "southeast", "southwest"];
    let parts: Vec<&str> = s.split('-').collect();
    let (geo, middle, number) = match parts.as_slice() {
        [geo, dir, n] => (*geo, vec![*dir], *n),
        [geo, partition, dir, n] if matches!(*partition, "gov" | "iso" | "isob") => (*geo, vec![*dir], *n),
        _ => return false,
    };
    geo.len() == 2
        && geo.bytes().all(|b| b.is_ascii_lowercase())
        && middle.iter().all(|d| DIRECTIONS.contains(d))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
project = "authorworks"

[environments.dev]
account_id = "111122223333"
region = "us-east-1"

[environments.production]
account_id = "444455556666"
region = "us-east-1"
dr_region = "us-west-2"
protected = true
"#;

    fn err(text: &str) -> String {
        format!("{:#}", Config::parse(Path::new("xtask.toml"), text).unwrap_err())
    }

    #[test]
    fn promotion_names_a_real_environment_and_never_circles() {
        let with = |extra: &str| GOOD.replace("protected = true\n", &format!("protected = true\n{extra}\n"));
        let config = Config::parse(Path::new("xtask.toml"), &with("promote_from = \"dev\"")).unwrap();
        assert_eq!(config.env("production").unwrap().promote_from.as_deref(), Some("dev"));
        assert_eq!(
            err(&with("promote_from = \"stagin\"")),
            "xtask.toml:13: environments.production.promote_from `stagin` is no environment here (dev, production)"
        );
        let circle = with("promote_from = \"dev\"")
            .replace("region = \"us-east-1\"\n\n", "region = \"us-east-1\"\npromote_from = \"production\"\n\n");
        assert!(err(&circle).contains("goes round in a circle"), "{}", err(&circle));
    }

    #[test]
    fn loads_a_good_file() {
        let config = Config::parse(Path::new("xtask.toml"), GOOD).unwrap();
        let prod = config.env("production").unwrap();
        assert!(prod.protected);
        assert_eq!(prod.dr_region.as_deref(), Some("us-west-2"));
        assert!(!config.env("dev").unwrap().protected);
    }

    #[test]
    fn unknown_environment_lists_the_valid_ones() {
        let config = Config::parse(Path::new("xtask.toml"), GOOD).unwrap();
        let e = format!("{:#}", config.env("qa").unwrap_err());
        assert!(e.contains("unknown environment `qa`") && e.contains("dev, production"), "{e}");
    }

    #[test]
    fn each_bad_value_names_file_line_and_key() {
        let e = err(&GOOD.replace("account_id = \"111122223333\"", "account_id = \"1111\""));
        assert!(e.starts_with("xtask.toml:5:") && e.contains("environments.dev.account_id"), "{e}");
        let e = err(&GOOD.replace("dr_region = \"us-west-2\"", "dr_region = \"mars-1\""));
        assert!(e.starts_with("xtask.toml:11:") && e.contains("dr_region `mars-1`"), "{e}");
        let e = err(&GOOD.replace("protected = true", "protected = true\nprotect = 1"));
        assert!(e.starts_with("xtask.toml:13:") && e.contains("unknown field `protect`"), "{e}");
        let e = err(&GOOD.replace("protected = true", "protected = \"yes\""));
        assert!(e.starts_with("xtask.toml:12:") && e.contains("invalid type"), "{e}");
        let e = err("project = \"authorworks\"\n[environments.dev\n");
        assert!(e.starts_with("xtask.toml:2:"), "{e}");
    }

    #[test]
    fn regions() {
        for good in ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-4"] {
            assert!(is_region(good), "{good}");
        }
        for bad in ["us-east", "useast-1", "us-easst-1", "US-EAST-1", "mars-1", "us-east-1a"] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
