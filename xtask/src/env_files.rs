//! One environment's files in the repository, under the two names it goes by: its own, which names its
//! terraform root (`terraform/environments/<name>`), and its overlay's, which names what it runs
//! (`k8s/overlays/<overlay>` and each release's `values-<overlay>.yaml`): `local` runs dev's overlay,
//! `dr` production's. What reads an environment's files takes this handle, so neither name can be
//! passed where the other belongs and no caller rebuilds a path from a root and a bare name.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::config::Environment;
use crate::terraform::{object_key, TfFile};

/// k8s/overlays/<overlay>: the path primitive under [`EnvFiles::overlay_dir`], for the checks that go
/// through every overlay.
pub fn overlay_dir(root: &Path, overlay: &str) -> PathBuf {
    root.join("k8s").join("overlays").join(overlay)
}

/// An environment root's main.tf as messages show it, relative to the repository
/// (`terraform/environments/<name>/main.tf`), for the messages that know only the environment's name.
pub fn shown_main_tf(name: &str) -> String {
    shown_terraform_dir(name).join("main.tf").to_string_lossy().into_owned()
}

/// An environment's terraform root relative to the repository (`terraform/environments/<name>`).
fn shown_terraform_dir(name: &str) -> PathBuf {
    crate::terraform::env_dir(Path::new(""), name)
}

#[derive(Clone, Copy, Debug)]
pub struct EnvFiles<'a> {
    root: &'a Path,
    name: &'a str,
    overlay: &'a str,
}

impl<'a> EnvFiles<'a> {
    /// A configured environment's files.
    pub fn of(root: &'a Path, env: &'a Environment) -> EnvFiles<'a> {
        EnvFiles { root, name: &env.name, overlay: &env.overlay }
    }

    /// The files of the environment an overlay is named after (validate's per-overlay checks, which
    /// run without the configuration: overlay `dev` runs on terraform's `dev`).
    pub fn of_overlay(root: &'a Path, overlay: &'a str) -> EnvFiles<'a> {
        EnvFiles { root, name: overlay, overlay }
    }

    pub fn root(&self) -> &'a Path {
        self.root
    }

    /// The environment's own name (its terraform root, its work files, its state).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The overlay it runs, and the helm-values environment its releases take.
    pub fn overlay(&self) -> &'a str {
        self.overlay
    }

    /// terraform/environments/<name>
    pub fn terraform_dir(&self) -> PathBuf {
        crate::terraform::env_dir(self.root, self.name)
    }

    /// The root's main.tf, where its `module "stack"` call sets the environment's sizing.
    pub fn main_tf(&self) -> PathBuf {
        self.terraform_dir().join("main.tf")
    }

    /// [`shown_main_tf`] of this environment.
    pub fn shown_main_tf(&self) -> String {
        shown_main_tf(self.name)
    }

    /// Its terraform root as messages show it, relative to the repository.
    pub fn shown_terraform_dir(&self) -> String {
        shown_terraform_dir(self.name).to_string_lossy().into_owned()
    }

    pub fn has_terraform(&self) -> bool {
        self.main_tf().is_file()
    }

    /// k8s/overlays/<overlay>
    pub fn overlay_dir(&self) -> PathBuf {
        overlay_dir(self.root, self.overlay)
    }

    /// The files of the environment whose overlay this one runs (dr's: production's), where it runs
    /// another's and that one has a terraform root (else the overlay's own check says so).
    pub fn overlay_owner(&self) -> Option<EnvFiles<'a>> {
        let owner = EnvFiles::of_overlay(self.root, self.overlay);
        (self.name != self.overlay && owner.has_terraform()).then_some(owner)
    }

    /// A literal argument of the root's `module "stack"` call, e.g. the monthly budget, or a field of its
    /// `sizing` (as [`Self::stack_arguments`] reads it). `None` when the environment does not set it.
    pub fn stack_argument(&self, name: &str) -> Result<Option<hcl_edit::expr::Expression>> {
        Ok(self.stack_arguments()?.remove(name))
    }

    /// Every argument of the root's `module "stack"` call, by name, with the fields of its `sizing`
    /// among them as if each were an argument: read from the object written there, or from the `values`
    /// output of the module it names ([`Self::sizing_module`]), which another root may call too.
    pub fn stack_arguments(&self) -> Result<std::collections::BTreeMap<String, hcl_edit::expr::Expression>> {
        let file = self.main()?;
        let mut found = std::collections::BTreeMap::new();
        for (_, block, _) in file.blocks("module").filter(|(label, ..)| label == "stack") {
            for attr in block.body.attributes() {
                found.entry(attr.key.as_str().to_string()).or_insert_with(|| attr.value.clone());
            }
        }
        let Some(written) = found.remove("sizing") else { return Ok(found) };
        let (sizing, written_in) = match self.module_of(&file, &written)? {
            None => (written, self.main_tf()),
            Some(module) => {
                let path = module.dir.join("main.tf");
                let file = TfFile::read(&path).map_err(|f| anyhow::anyhow!("{f}"))?;
                let value = file
                    .blocks("output")
                    .find(|(label, ..)| label == "values")
                    .and_then(|(_, block, _)| block.body.get_attribute("value").map(|a| a.value.clone()));
                let value = value
                    .ok_or_else(|| anyhow::anyhow!("{}: no `output \"values\"` with a `value`", path.display()))?;
                (value, path)
            }
        };
        let Some(object) = sizing.as_object() else {
            anyhow::bail!("{}: `sizing` must be an object literal or `module.<name>.values`", written_in.display());
        };
        for (key, value) in object.iter() {
            found.entry(object_key(key)).or_insert_with(|| value.expr().clone());
        }
        Ok(found)
    }

    /// The module whose `values` the root's stack call takes as its `sizing` (`sizing = module.<name>.values`),
    /// where it takes one: that module's directory and the line of its call in main.tf.
    pub fn sizing_module(&self) -> Result<Option<SizingModule>> {
        let file = self.main()?;
        let sizing = file
            .blocks("module")
            .filter(|(label, ..)| label == "stack")
            .find_map(|(_, block, _)| block.body.get_attribute("sizing").map(|a| a.value.clone()));
        match sizing {
            Some(sizing) => self.module_of(&file, &sizing),
            None => Ok(None),
        }
    }

    /// The module call in main.tf (`file`) that a `sizing` expression names, if it is `module.<name>.values`.
    fn module_of(&self, file: &TfFile, sizing: &hcl_edit::expr::Expression) -> Result<Option<SizingModule>> {
        let mut bare = sizing.clone();
        hcl_edit::Decorate::decor_mut(&mut bare).clear();
        let text = bare.to_string();
        let Some(name) = text.trim().strip_prefix("module.").and_then(|r| r.strip_suffix(".values")) else {
            return Ok(None);
        };
        let main = self.main_tf();
        let Some((_, block, line)) = file.blocks("module").find(|(label, ..)| label == name) else {
            anyhow::bail!("{}: `sizing = module.{name}.values` but there is no module \"{name}\"", main.display());
        };
        let Some(source) = block.body.get_attribute("source").and_then(|a| a.value.as_str().map(str::to_string)) else {
            anyhow::bail!("{}:{line}: module \"{name}\" needs a literal `source`", main.display());
        };
        Ok(Some(SizingModule { dir: crate::terraform::normalize(&self.terraform_dir().join(source)), line }))
    }

    /// The file the environment's sizing is written in, for messages: its sizing module's main.tf (which
    /// may be another root's: dr's is production's), else its own main.tf.
    pub fn sizing_file(&self) -> PathBuf {
        match self.sizing_module() {
            Ok(Some(module)) => module.dir.join("main.tf"),
            _ => self.main_tf(),
        }
    }

    /// The sizing file as messages show it, relative to the repository.
    pub fn shown_sizing_file(&self) -> String {
        let file = self.sizing_file();
        file.strip_prefix(self.root).unwrap_or(&file).to_string_lossy().into_owned()
    }

    fn main(&self) -> Result<TfFile> {
        TfFile::read(&self.main_tf()).map_err(|f| anyhow::anyhow!("{f}"))
    }

    /// The Kubernetes version its `module "stack"` call sets (`kubernetes_version`), where it sets one
    /// as a string: what the schemas are checked against, and what `upgrade` starts from.
    pub fn kubernetes_version(&self) -> Result<Option<String>> {
        Ok(self.stack_argument("kubernetes_version")?.and_then(|e| e.as_str().map(str::to_string)))
    }

    /// What an emulator environment leaves out: the `emulator_omissions` map in its `module "stack"`
    /// call (feature → why the emulator can't do it), the one place that list lives.
    pub fn emulator_omissions(&self) -> Result<Vec<(String, String)>> {
        let path = self.main_tf();
        let Some(expr) = self.stack_argument("emulator_omissions")? else { return Ok(Vec::new()) };
        let Some(object) = expr.as_object() else {
            anyhow::bail!("{}: emulator_omissions must be a map literal", path.display());
        };
        Ok(object.iter().map(|(k, v)| (object_key(k), v.expr().as_str().unwrap_or_default().to_string())).collect())
    }
}

/// Where an environment's sizing is written: see [`EnvFiles::sizing_module`].
#[derive(Debug, PartialEq)]
pub struct SizingModule {
    /// The module's directory, normalized (`<root>/terraform/environments/production/sizing`).
    pub dir: PathBuf,
    /// The line of the module's call in the environment's main.tf.
    pub line: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_reads_its_own_root_and_its_overlays_files() {
        let dir = tempfile::tempdir().unwrap();
        let tf = dir.path().join("terraform/environments/local");
        std::fs::create_dir_all(&tf).unwrap();
        std::fs::write(
            tf.join("main.tf"),
            "module \"stack\" {\n  source = \"../../stack\"\n  az_count = 2\n  emulator_omissions = {\n    cdn = \"no CloudFront\"\n    \"eks_addons\" = \"no add-ons\"\n  }\n}\n",
        )
        .unwrap();
        let files = EnvFiles { root: dir.path(), name: "local", overlay: "dev" };
        assert!(files.has_terraform());
        assert!(files.overlay_dir().ends_with("k8s/overlays/dev"));
        assert_eq!(files.shown_main_tf(), "terraform/environments/local/main.tf");
        assert_eq!(files.shown_terraform_dir(), "terraform/environments/local");
        assert_eq!(
            files.stack_argument("az_count").unwrap().and_then(|e| e.as_number().and_then(|n| n.as_u64())),
            Some(2)
        );
        assert!(files.stack_argument("vpc_cidr").unwrap().is_none());
        assert_eq!(
            files.emulator_omissions().unwrap(),
            vec![
                ("cdn".to_string(), "no CloudFront".to_string()),
                ("eks_addons".to_string(), "no add-ons".to_string())
            ]
        );
        assert_eq!(files.sizing_module().unwrap(), None);
        assert_eq!(files.sizing_file(), tf.join("main.tf"));
        // dev's own root is not there: nothing to read, and the error names the file.
        let dev = EnvFiles::of_overlay(dir.path(), "dev");
        assert!(!dev.has_terraform());
        assert!(format!("{:#}", dev.stack_argument("az_count").unwrap_err()).contains("environments/dev/main.tf"));
    }

    /// A root that takes its sizing from a module (its own, or another root's) reads the module's
    /// `values` as its arguments; one that writes it inline reads those.
    #[test]
    fn the_sizing_is_read_from_the_module_the_stack_takes_it_from() {
        let dir = tempfile::tempdir().unwrap();
        let envs = dir.path().join("terraform/environments");
        for (path, text) in [
            ("production/sizing/main.tf", "output \"values\" {\n  value = {\n    az_count = 3\n    vpc_cidr = \"10.0.0.0/16\"\n  }\n}\n"),
            ("dr/main.tf", "# dr\nmodule \"shape\" {\n  source = \"../production/sizing\"\n}\nmodule \"stack\" {\n  sizing = module.shape.values\n  az_count = 2\n  monthly_budget_usd = 5\n}\n"),
            ("staging/main.tf", "module \"stack\" {\n  sizing = {\n    az_count = 2\n  }\n}\n"),
            ("lost/main.tf", "module \"stack\" {\n  sizing = module.gone.values\n}\n"),
        ] {
            std::fs::create_dir_all(envs.join(path).parent().unwrap()).unwrap();
            std::fs::write(envs.join(path), text).unwrap();
        }
        let number = |files: EnvFiles, name| {
            files.stack_argument(name).unwrap().and_then(|e| e.as_number().and_then(|n| n.as_u64()))
        };
        let dr = EnvFiles::of_overlay(dir.path(), "dr");
        let module = dr.sizing_module().unwrap().unwrap();
        assert_eq!((module.dir, module.line), (envs.join("production/sizing"), 2));
        assert_eq!(dr.sizing_file(), envs.join("production/sizing/main.tf"));
        assert_eq!(dr.shown_sizing_file(), "terraform/environments/production/sizing/main.tf");
        assert_eq!(number(dr, "monthly_budget_usd"), Some(5), "the call's own arguments stay");
        assert_eq!(number(dr, "az_count"), Some(2), "an argument of the call is read before the sizing's");
        assert_eq!(
            dr.stack_argument("vpc_cidr").unwrap().and_then(|e| e.as_str().map(str::to_string)).as_deref(),
            Some("10.0.0.0/16")
        );
        let staging = EnvFiles::of_overlay(dir.path(), "staging");
        assert_eq!(number(staging, "az_count"), Some(2));
        let lost = EnvFiles::of_overlay(dir.path(), "lost");
        assert!(format!("{:#}", lost.stack_arguments().unwrap_err())
            .contains("`sizing = module.gone.values` but there is no module \"gone\""));
    }
}
