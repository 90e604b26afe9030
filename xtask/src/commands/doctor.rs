//! `cargo xtask doctor`: is this machine ready? One row per tool, then credentials, the provider mirror,
//! the emulator, and each environment's Kubernetes version against the EKS calendar (a warning within 90
//! days of the end of standard support). Exits non-zero when a required tool is missing or too old.

use anyhow::{bail, Result};

use crate::cli::DoctorArgs;
use crate::engine::Cmd;
use crate::tools::{self, Need, Source, Tools};
use crate::{context::Context, emulator};

pub fn run(ctx: &Context, args: DoctorArgs) -> Result<()> {
    let tools = Tools::new(ctx);
    let ui = crate::engine::Ui::detect(false);
    let mut rows = vec![["tool", "status", "version", "minimum", "found at / how to get it"].map(String::from)];
    let mut problems = Vec::new();
    for tool in tools::ALL {
        let found = tools.probe(tool);
        let (status, hint) = match (&found.path, &found.version, tool.need) {
            (None, _, Need::Optional(why)) => ("optional".to_string(), format!("not found — {why}; {}", tool.hint)),
            (None, _, Need::Required) => {
                problems.push(format!("{} is missing: {}", tool.name, tool.hint));
                ("missing".to_string(), tool.hint.to_string())
            }
            (Some(path), Some(v), _) if !tools::at_least(v, tool.min) => {
                problems.push(format!("{} {v} is older than {}: {}", tool.name, tool.min, tool.hint));
                ("too old".to_string(), format!("{} — upgrade: {}", path.display(), tool.hint))
            }
            (Some(path), None, _) => ("ok?".to_string(), format!("{} (version unreadable)", path.display())),
            (Some(path), Some(v), _) => {
                let pinned = tools::pinned_version(tool).filter(|p| tool.source == Source::Project && p != v);
                match pinned {
                    Some(p) => {
                        ("ok".to_string(), format!("{} (project pins {p}: cargo xtask tools install)", path.display()))
                    }
                    None => ("ok".to_string(), path.display().to_string()),
                }
            }
        };
        let status = match status.as_str() {
            "ok" => ui.ok(&status),
            "missing" | "too old" => ui.bad(&status),
            _ => ui.warn(&status),
        };
        rows.push([
            tool.name.to_string(),
            status,
            found.version.unwrap_or_else(|| "-".into()),
            tool.min.to_string(),
            hint,
        ]);
    }
    print_rows(&rows);

    println!();
    match tools::provider_mirror(ctx) {
        Some(dir) => println!(
            "terraform providers: local mirror {} (the xtask points terraform at it: init works offline)",
            dir.display()
        ),
        None => println!("terraform providers: from the registry (no local mirror found)"),
    }
    if args.offline {
        println!("AWS credentials: not checked (--offline)");
    } else {
        println!("AWS credentials: {}", credentials(&tools));
    }
    println!("emulator: {}", emulator::describe(ctx));
    if let Ok(config) = ctx.config() {
        for (_, line) in crate::lifecycle::environment_support(&ctx.root, &config, crate::lifecycle::today()) {
            match line {
                Ok(status) => println!("kubernetes: {status}"),
                Err(warning) => println!("kubernetes: {} {warning}", ui.warn("warning:")),
            }
        }
    }
    let warnings = crate::mesh::cached_expiry_warnings(ctx);
    if warnings.is_empty() {
        println!(
            "mesh certificates: none expire within {} days (of those cached by `cargo xtask mesh`)",
            crate::mesh::certs::WARN_DAYS
        );
    }
    for warning in warnings {
        println!("mesh certificates: {} {warning}", ui.warn("warning:"));
    }

    if !problems.is_empty() {
        bail!("{} required tool(s) not ready — {}", problems.len(), problems.join("; "));
    }
    Ok(())
}

/// The account the caller's credentials belong to (never the keys themselves).
fn credentials(tools: &Tools) -> String {
    let Some(aws) = tools.find(tools::AWS) else { return "not checked (aws CLI missing)".into() };
    let sts = Cmd::new(tools::AWS.bin)
        .exe(Some(aws))
        .args(["sts", "get-caller-identity", "--query", "Account", "--output", "text"])
        .env("AWS_EC2_METADATA_DISABLED", "true");
    match sts.probe(std::time::Duration::from_secs(20), false) {
        Some(o) if o.success => format!("account {} (from `aws sts get-caller-identity`)", o.stdout.trim()),
        Some(_) => "none usable (`local` needs none; real environments do)".into(),
        _ => "no answer from AWS STS within 20s (`local` needs none)".into(),
    }
}

fn print_rows(rows: &[[String; 5]]) {
    let width = |i: usize| rows.iter().map(|r| visible_len(&r[i])).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2), width(3)];
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate().take(4) {
            line.push_str(cell);
            line.push_str(&" ".repeat(widths[i] - visible_len(cell) + 2));
        }
        line.push_str(&row[4]);
        println!("{}", line.trim_end());
    }
}

/// Length without ANSI colour codes.
fn visible_len(s: &str) -> usize {
    let mut len = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => len += 1,
        }
    }
    len
}
