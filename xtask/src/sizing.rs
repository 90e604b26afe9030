//! An environment's sizing: how big it is (its network, node groups, database and cache), the stack's
//! `sizing`, written once per shape in `terraform/environments/<env>/sizing` (output `values`). Two
//! environments run another's overlay, and each is that one's shape: `dr` is production rebuilt in
//! another region, `local` is dev's shape on the AWS emulator. Each root calls the owner's sizing module
//! instead of keeping a copy, so a production that grows its database or node groups is a dr that grows
//! with it; this is the check that the borrower calls the owner's and nothing else. A dr sized apart
//! would fail over onto less than production runs on (a cluster fit only notices what the overlay asks
//! for); a local sized apart would stop rehearsing dev's shape. `kubernetes_version` is not sizing: dr's
//! is held to production's with the upgrade's advice (`lifecycle::borrowed_version_finding`), and
//! local's is its own (`upgrade local` rehearses an upgrade against the emulator without touching dev).

use crate::env_files::EnvFiles;
use crate::finding::Finding;

/// A finding when `env`, running another environment's overlay, does not take its sizing from the module
/// that environment's root takes it from. None for an environment running its own overlay, or when the
/// owner has no terraform root (the overlay's own check says that). `emulator`: `env` is applied to the
/// AWS emulator (local), not rebuilt from the owner in AWS (dr).
pub fn shared_findings(env: EnvFiles<'_>, emulator: bool) -> Vec<Finding> {
    let Some(owner) = env.overlay_owner() else { return Vec::new() };
    let (own, theirs) = match (env.sizing_module(), owner.sizing_module()) {
        (Ok(own), Ok(theirs)) => (own, theirs),
        (Err(e), _) | (_, Err(e)) => return vec![Finding::new(&env.main_tf(), None, format!("{e:#}"))],
    };
    let (name, overlay) = (env.name(), env.overlay());
    let Some(theirs) = theirs else {
        return vec![Finding::new(
            &owner.main_tf(),
            None,
            format!(
                "`{overlay}` writes its sizing in its root, where `{name}`, which runs `{overlay}`'s overlay, can't read it: \
                 move it into {}/sizing (output `values`) and call that module from both roots",
                owner.shown_terraform_dir()
            ),
        )];
    };
    if own.as_ref().is_some_and(|own| own.dir == theirs.dir) {
        return Vec::new();
    }
    let shown = |dir: &std::path::Path| dir.strip_prefix(env.root()).unwrap_or(dir).display().to_string();
    let (is, consequence) = if emulator {
        (
            format!("is `{overlay}`'s shape on the emulator"),
            format!("the emulator would apply another shape than `{overlay}`'s, and `{name}` would stop rehearsing it"),
        )
    } else {
        (
            format!("runs `{overlay}`'s overlay as `{overlay}` rebuilt"),
            format!("a failover would put `{overlay}`'s load on other resources than it runs on"),
        )
    };
    let takes = match &own {
        Some(own) => format!("takes its sizing from {}", shown(&own.dir)),
        None => "writes a sizing of its own".to_string(),
    };
    vec![Finding::new(
        &env.main_tf(),
        own.as_ref().map(|own| own.line),
        format!(
            "`{name}` {is} but {takes}, not from {} as `{overlay}` does: {consequence}; \
             set `sizing = module.sizing.values` with module \"sizing\" calling {}",
            shown(&theirs.dir),
            shown(&theirs.dir),
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Environment;

    const SIZING: &str = "output \"values\" {\n  value = {\n    vpc_cidr = \"10.0.0.0/16\"\n  }\n}\n";

    fn root_calling(source: &str) -> String {
        format!("module \"sizing\" {{\n  source = \"{source}\"\n}}\n\nmodule \"stack\" {{\n  source = \"../../stack\"\n  sizing = module.sizing.values\n}}\n")
    }

    fn findings(production: &str, dr: &str, overlay: &str, emulator: bool) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let envs = dir.path().join("terraform/environments");
        for (path, text) in [
            ("production/main.tf", production),
            ("production/sizing/main.tf", SIZING),
            ("staging/sizing/main.tf", SIZING),
            ("dr/main.tf", dr),
        ] {
            std::fs::create_dir_all(envs.join(path).parent().unwrap()).unwrap();
            std::fs::write(envs.join(path), text).unwrap();
        }
        let env = Environment {
            name: "dr".into(),
            account_id: "432109876543".into(),
            region: "us-west-2".into(),
            dr_region: None,
            protected: true,
            emulator,
            overlay: overlay.into(),
            promote_from: None,
        };
        shared_findings(EnvFiles::of(dir.path(), &env), emulator)
            .iter()
            .map(|f| f.to_string().replace(&format!("{}/", dir.path().display()), ""))
            .collect()
    }

    #[test]
    fn a_borrower_calling_the_owner_s_sizing_is_sized_as_the_owner() {
        assert_eq!(
            findings(&root_calling("./sizing"), &root_calling("../production/sizing"), "production", false),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_borrower_calling_another_sizing_is_named_at_its_call() {
        assert_eq!(
            findings(&root_calling("./sizing"), &root_calling("../staging/sizing"), "production", false),
            ["terraform/environments/dr/main.tf:1: `dr` runs `production`'s overlay as `production` rebuilt but takes its sizing from terraform/environments/staging/sizing, not from terraform/environments/production/sizing as `production` does: a failover would put `production`'s load on other resources than it runs on; set `sizing = module.sizing.values` with module \"sizing\" calling terraform/environments/production/sizing"]
        );
    }

    #[test]
    fn a_borrower_sized_in_its_own_root_is_named_as_such_on_the_emulator() {
        let own = "module \"stack\" {\n  sizing = {\n    vpc_cidr = \"10.0.0.0/16\"\n  }\n}\n";
        assert_eq!(
            findings(&root_calling("./sizing"), own, "production", true),
            ["terraform/environments/dr/main.tf: `dr` is `production`'s shape on the emulator but writes a sizing of its own, not from terraform/environments/production/sizing as `production` does: the emulator would apply another shape than `production`'s, and `dr` would stop rehearsing it; set `sizing = module.sizing.values` with module \"sizing\" calling terraform/environments/production/sizing"]
        );
    }

    #[test]
    fn an_owner_sized_in_its_root_can_t_be_shared() {
        let own = "module \"stack\" {\n  sizing = {\n    vpc_cidr = \"10.0.0.0/16\"\n  }\n}\n";
        assert_eq!(
            findings(own, &root_calling("../production/sizing"), "production", false),
            ["terraform/environments/production/main.tf: `production` writes its sizing in its root, where `dr`, which runs `production`'s overlay, can't read it: move it into terraform/environments/production/sizing (output `values`) and call that module from both roots"]
        );
    }

    #[test]
    fn an_environment_running_its_own_overlay_is_sized_as_it_says() {
        assert_eq!(
            findings(&root_calling("./sizing"), &root_calling("../staging/sizing"), "dr", false),
            Vec::<String>::new()
        );
    }
}
