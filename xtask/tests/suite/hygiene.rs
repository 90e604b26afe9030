//! Repository hygiene that `cargo test` enforces.

use crate::common::{self, repo_root};

/// `.ci/run` runs exactly the test command the README gives a new engineer.
#[test]
fn ci_runs_the_readme_test_command() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    let command = readme
        .lines()
        .skip_while(|l| !l.starts_with("## Run the tests"))
        .find(|l| l.starts_with("cargo "))
        .expect("README has a `## Run the tests` section with the command");
    assert!(ci.lines().any(|l| l.trim() == command.trim()), ".ci/run must run `{command}`");
}

/// Every command in `cargo xtask --help` appears in the README's command table.
#[test]
fn readme_lists_every_command() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_xtask")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(commands.len() >= 8, "{help}");
    for command in commands {
        assert!(readme.contains(&format!("`cargo xtask {command}")), "README's command table misses `{command}`");
    }
}

/// The repository itself passes every check `cargo xtask validate` makes: terraform fmt and validate of
/// every environment, module conventions and generated README tables, checkov (0 failed) over
/// terraform, the rendered overlays and the workflows, schema and policy checks of every overlay, and
/// the release list. The contracts' emulated plans are the ones made once per test run
/// (`common::repository`: the repository's, so their keys match and `validate` reuses them).
#[test]
fn the_repository_passes_validate() {
    let sb = common::Sandbox::new();
    common::with_the_plans_of(&common::repository().0, &sb, &["dev", "staging", "production", "dr", "local"]);
    let out = sb.run(&["validate"]);
    out.assert_code(0);
    assert!(out.stdout().contains("all checks passed"), "{}", out.stdout());
    assert!(
        out.stdout().contains("checkov terraform") && out.stdout().contains("kubernetes overlay production"),
        "{}",
        out.stdout()
    );
}

// ---------------------------------------------------------------------------------------------------
// The architecture invariants of xtask/README.md, computed from the sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file with its module path (`main.rs` → "", `cost/mod.rs` → "cost", `cost/rules.rs` →
/// "cost::rules"), in path order.
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src_dir(), &mut files);
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(src_dir()).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|l| l == "mod" || l == "main") {
                parts.pop();
            }
            (parts.join("::"), path)
        })
        .collect()
}

/// The code of a file: without comments and without its `#[cfg(test)]` module (which ends the file).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The `use` trees of `code`, expanded into paths: `use crate::{a, b::{c, D}};` → `crate::a`,
/// `crate::b::c`, `crate::b::D`.
fn use_paths(code: &str) -> Vec<String> {
    fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        match tree.find('{') {
            None => {
                let name = tree.split(" as ").next().unwrap().trim();
                let path =
                    if name == "self" { prefix.trim_end_matches("::").to_string() } else { format!("{prefix}{name}") };
                out.push(path);
            }
            Some(open) => {
                let inner = &tree[open + 1..tree.rfind('}').unwrap()];
                let prefix = format!("{prefix}{}", &tree[..open]);
                let (mut depth, mut start) = (0, 0);
                for (i, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            expand(&prefix, &inner[start..i], out);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                if !inner[start..].trim().is_empty() {
                    expand(&prefix, &inner[start..], out);
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = rest.find(';').unwrap_or(rest.len());
        expand("", &rest[..end].split_whitespace().collect::<Vec<_>>().join(" "), &mut out);
        rest = &rest[end..];
    }
    out
}

/// Every path that starts at `crate::` or `super::` anywhere in `code` (uses and inline paths).
fn paths(code: &str) -> Vec<String> {
    let mut out: Vec<String> =
        use_paths(code).into_iter().filter(|p| p.starts_with("crate::") || p.starts_with("super::")).collect();
    for root in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(root) {
            let before = rest[..at].chars().last();
            let tail = &rest[at..];
            let len = tail.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(tail.len());
            // `crate::{…}` names what the braces hold (read by `use_paths`), not the crate root.
            let path = tail[..len].trim_end_matches(':');
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') && path != "crate" {
                out.push(path.to_string());
            }
            rest = &tail[len.max(1)..];
        }
    }
    out
}

/// The module a path names (the longest prefix that is a module), from inside module `from`.
fn resolve(path: &str, from: &str, known: &BTreeMap<String, PathBuf>) -> Option<String> {
    let mut base: Vec<&str> = if from.is_empty() { vec![] } else { from.split("::").collect() };
    let mut segments: Vec<&str> = path.split("::").collect();
    match segments.first() {
        Some(&"crate") => {
            base.clear();
            segments.remove(0);
        }
        Some(&"super") => {
            while segments.first() == Some(&"super") {
                base.pop();
                segments.remove(0);
            }
        }
        _ => return None,
    }
    let mut best = base.join("::");
    let mut current = base.clone();
    for s in segments {
        current.push(s);
        let name = current.join("::");
        if known.contains_key(&name) {
            best = name;
        } else {
            break;
        }
    }
    Some(best)
}

/// Module → the modules it names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let known = modules();
    let mut graph = BTreeMap::new();
    for (module, path) in &known {
        let mut to = BTreeSet::new();
        for p in paths(&code(path)) {
            if let Some(target) = resolve(&p, module, &known) {
                if &target != module {
                    to.insert(target);
                }
            }
        }
        // A module's parent declares it, so a declared child is an edge too.
        for child in known.keys() {
            if child.rsplit_once("::").map(|(p, _)| p).unwrap_or(if child.is_empty() { "-" } else { "" }) == module
                && !child.is_empty()
            {
                to.insert(child.clone());
            }
        }
        graph.insert(module.clone(), to);
    }
    graph
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

/// A cycle in `edges`, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()) {
                Some(1) => {
                    let from = stack.iter().position(|s| s == m).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if !state.contains_key(n.as_str()) {
            if let Some(c) = visit(n, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn is_command(module: &str) -> bool {
    module.starts_with("commands::")
}

/// Architecture invariant: the module graph has no cycle — between the crate root and the top-level
/// modules, nor between the siblings inside a directory module; no module names the crate root — and
/// commands are leaves: a command module is
/// named only by `commands` (which declares it) and the crate root (which dispatches to it).
#[test]
fn the_module_graph_is_acyclic_and_commands_are_leaves() {
    let graph = graph();
    println!("module graph (module -> the modules it uses):");
    for (from, to) in &graph {
        let to: Vec<&str> = to.iter().map(String::as_str).collect();
        println!("  {} -> {}", if from.is_empty() { "(main)" } else { from }, to.join(", "));
    }

    // Nothing points back up at the crate root: main.rs declares the modules and dispatches, and
    // holds nothing a module could use (the `Context` is `context.rs`'s).
    let up: Vec<&String> = graph.iter().filter(|(f, to)| !f.is_empty() && to.contains("")).map(|(f, _)| f).collect();
    assert!(up.is_empty(), "modules naming the crate root (an arrow back up): {up:?}");

    // Top-level modules and the crate root, `(main)`, which names every one of them.
    let name = |m: &str| if m.is_empty() { "(main)".to_string() } else { top(m).to_string() };
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in &graph {
        let from = name(from);
        let entry = tops.entry(from.clone()).or_default();
        entry.extend(to.iter().map(|t| name(t)).filter(|t| *t != from));
    }
    assert_eq!(find_cycle(&tops), None, "a cycle between top-level modules");

    // Siblings in each directory module (a child naming its parent's own items is not a cycle).
    let parents: BTreeSet<String> =
        graph.keys().filter_map(|m| m.rsplit_once("::").map(|(p, _)| p.to_string())).collect();
    for parent in parents {
        let prefix = format!("{parent}::");
        let child = |m: &str| m.strip_prefix(&prefix).map(|rest| format!("{prefix}{}", top(rest)));
        let mut siblings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in &graph {
            let Some(from) = child(from) else { continue };
            let entry = siblings.entry(from.clone()).or_default();
            entry.extend(to.iter().filter_map(|t| child(t)).filter(|t| *t != from));
        }
        assert_eq!(find_cycle(&siblings), None, "a cycle inside `{parent}`");
    }

    let mut leaks = Vec::new();
    for (from, to) in &graph {
        for t in to.iter().filter(|t| is_command(t)) {
            if !(from.is_empty() || from == "commands") {
                leaks.push(format!("{from} -> {t}"));
            }
        }
    }
    assert!(leaks.is_empty(), "command modules are leaves, but: {leaks:?}");
    assert!(graph.keys().filter(|m| is_command(m)).count() >= 10, "the commands live in src/commands/");
}

/// Architecture invariant: the engine imports only `error` and `redact` (and its own submodules): no
/// AWS, no command, no CLI type it doesn't own, not the `Context`.
#[test]
fn the_engine_imports_only_error_and_redact() {
    let known = modules();
    let mut wrong = Vec::new();
    for (module, path) in known.iter().filter(|(m, _)| top(m) == "engine") {
        for p in paths(&code(path)) {
            let target = resolve(&p, module, &known).unwrap_or_default();
            let allowed = ["engine", "error", "redact"].contains(&top(&target)) && !target.is_empty();
            if !allowed {
                wrong.push(format!("{}: {p}", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "the engine names what it must not: {wrong:#?}");
}

/// Architecture invariant: every external process starts through the engine's `Cmd` or through `cmd!`
/// in `shell.rs`: no other file starts one.
#[test]
fn processes_start_only_in_the_engine_and_the_shell_module() {
    let starts = ["process::Command", "Command::new(", "duct::", "xshell::", "os_pipe::", ".spawn()"];
    let mut wrong = Vec::new();
    for (module, path) in modules() {
        if top(&module) == "engine" || module == "shell" {
            continue;
        }
        let code = code(&path);
        for s in starts.iter().filter(|s| code.contains(*s)) {
            wrong.push(format!("{}: {s}", path.display()));
        }
    }
    assert!(wrong.is_empty(), "processes started outside the engine and shell.rs: {wrong:#?}");
}

/// Architecture invariant: what `--dry-run` prints is built by the same code that runs — every
/// command a real `plan dev` runs (recorded by stand-ins) is one `--dry-run` printed, word for word.
#[test]
fn dry_run_prints_the_commands_that_run() {
    let sb = common::happy_standins(common::Sandbox::new().with_root(&common::fixture_files()));
    let dry = sb.run(&["plan", "dev", "--dry-run"]);
    dry.assert_code(0);
    let shown: Vec<Vec<String>> = dry
        .stdout()
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("$ "))
        .map(|l| shlex::split(l).expect("a shell line"))
        .collect();
    sb.run(&["plan", "dev"]).assert_code(0);
    let root = format!("{}/", sb.root.as_ref().unwrap().display());
    let ran = sb.calls();
    assert!(ran.len() >= 5, "{ran:?}");
    for call in ran {
        let words: Vec<String> = call.replace(&root, "").split_whitespace().map(String::from).collect();
        assert!(shown.contains(&words), "`{call}` ran but --dry-run did not show it; it showed {shown:#?}");
    }
}

/// Architecture invariant: every module has a paragraph in the code map (xtask/README.md), and every
/// module the map names exists.
#[test]
fn the_code_map_names_every_module_and_only_modules_that_exist() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let headings: Vec<&str> =
        readme.lines().filter_map(|l| l.strip_prefix("### `")).filter_map(|l| l.strip_suffix('`')).collect();
    for name in &headings {
        assert!(src_dir().join(name).exists(), "the code map names `{name}`, which src/ does not have");
    }
    for (module, path) in modules() {
        let rel = path.strip_prefix(src_dir()).unwrap().to_string_lossy().into_owned();
        let named = match rel.split_once('/') {
            // A submodule is named in its directory's paragraph: `### `cost/``, then `rules.rs`.
            Some((dir, file)) => {
                let heading = format!("### `{dir}/`");
                let section = readme.split(&heading).nth(1).map(|s| s.split("\n### ").next().unwrap_or(""));
                section.is_some_and(|s| s.contains(&format!("`{file}`")))
            }
            None => headings.contains(&rel.as_str()),
        };
        assert!(named, "module `{module}` ({rel}) has no paragraph in the code map");
    }
}

/// Architecture invariant: each invariant of the code map names its test, the test exists, and every
/// test whose documentation states an invariant is named in the map.
#[test]
fn every_invariant_names_the_test_that_enforces_it() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suite");
    let mut tests: BTreeMap<String, bool> = BTreeMap::new(); // test → documented as an invariant
    for entry in std::fs::read_dir(&suite).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let mut doc = String::new();
        let mut is_test = false;
        for line in text.lines().map(str::trim_start) {
            if let Some(d) = line.strip_prefix("///") {
                doc.push_str(d);
            } else if line == "#[test]" {
                is_test = true;
            } else if let Some(rest) = line.strip_prefix("fn ").filter(|_| is_test) {
                let name = rest.split('(').next().unwrap().to_string();
                tests.insert(name, doc.contains("Architecture invariant:"));
                (doc, is_test) = (String::new(), false);
            } else if !line.starts_with("#[") {
                (doc, is_test) = (String::new(), false);
            }
        }
    }
    let mut named = BTreeSet::new();
    let paragraphs: Vec<String> = readme.split("\n\n").map(|p| p.replace('\n', " ")).collect();
    let invariants: Vec<&String> = paragraphs.iter().filter(|p| p.contains("Architecture invariant:")).collect();
    assert!(invariants.len() >= 8, "the code map states its invariants ({} found)", invariants.len());
    for p in invariants {
        let Some(after) = p.split("Test: `").nth(1) else { panic!("an invariant names no test: {p}") };
        let name = after.split('`').next().unwrap();
        assert!(tests.contains_key(name), "the code map names test `{name}`, which tests/suite/ does not have: {p}");
        named.insert(name.to_string());
    }
    let unnamed: Vec<&String> = tests.iter().filter(|(n, inv)| **inv && !named.contains(*n)).map(|(n, _)| n).collect();
    assert!(unnamed.is_empty(), "tests stating an invariant the code map does not name: {unnamed:?}");
}

/// Architecture invariant: commands are thin — a command file builds a pipeline out of what the
/// domain modules offer and runs it (cargo's commands over its `ops`): at most 160 lines of code, and
/// none of what belongs below it (statics, threads, JSON, file or environment I/O).
#[test]
fn commands_are_thin() {
    let below = ["static ", "thread::", "serde_json", "Deserialize", "OpenOptions", "std::env::var"];
    let mut fat = Vec::new();
    for (module, path) in modules().into_iter().filter(|(m, _)| m.starts_with("commands::")) {
        let code = code(&path);
        let lines = code.lines().filter(|l| !l.trim().is_empty()).count();
        if lines > 160 {
            fat.push(format!(
                "{}: {lines} lines of code (at most 160): move the work into a domain module",
                path.display()
            ));
        }
        for b in below.iter().filter(|b| code.contains(*b)) {
            fat.push(format!("{}: `{b}` belongs in a domain module ({module})", path.display()));
        }
    }
    assert!(fat.is_empty(), "commands that are not thin: {fat:#?}");
}

/// Architecture invariant: no source file is over 600 lines: each holds one subsystem a newcomer reads in one sitting.
#[test]
fn no_source_file_is_over_600_lines() {
    for (_, path) in modules() {
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines <= 600, "{} has {lines} lines (at most 600)", path.display());
    }
}

/// Architecture invariant: the integration tests are one binary, `tests/suite/` (xtask/README.md): nothing else under tests/
/// (where cargo would make another binary of it, run after this one), and every file of the suite a
/// module its main.rs declares (a file it doesn't declare is never compiled, so its tests never run).
#[test]
fn the_integration_tests_are_one_binary() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let entries: Vec<String> =
        std::fs::read_dir(&tests).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(entries, ["suite"], "tests/ holds only the suite: one binary");
    let main = std::fs::read_to_string(tests.join("suite/main.rs")).unwrap();
    let mut modules = 0;
    for entry in std::fs::read_dir(tests.join("suite")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(module) = name.strip_suffix(".rs") else {
            panic!("tests/suite/{name}: the suite's modules are files beside main.rs");
        };
        if module == "main" {
            continue;
        }
        assert!(main.lines().any(|l| l == format!("mod {module};")), "tests/suite/main.rs does not declare `{module}`");
        modules += 1;
    }
    assert!(modules >= 10, "{modules} modules");
}

/// Architecture invariant: the `XTASK_*` variables are read in cli.rs, which defines them, and nowhere
/// else: the `Context` carries what they say down to the code that needs it.
#[test]
fn xtask_variables_are_read_only_in_cli_rs() {
    let mut wrong = Vec::new();
    for (module, path) in modules().into_iter().filter(|(m, _)| m != "cli") {
        for (n, line) in code(&path).lines().enumerate() {
            if ["var(\"XTASK_", "var_os(\"XTASK_"].iter().any(|read| line.contains(read)) {
                wrong.push(format!("{}:{}: {module}", path.display(), n + 1));
            }
        }
    }
    assert!(wrong.is_empty(), "XTASK_* variables read outside cli.rs: {wrong:#?}");
}

/// Architecture invariant: an environment's files are found through its `EnvFiles` handle, which knows
/// both of its names (its own, for terraform; its overlay's, for k8s/ and helm-values/). No function
/// takes a repository root beside a bare environment or overlay name but the two path primitives
/// (`terraform::env_dir`, `env_files::overlay_dir`), and only env_files.rs calls `env_dir`.
#[test]
fn environment_files_are_found_through_env_files() {
    let mut wrong = Vec::new();
    for (module, path) in modules() {
        let code = code(&path);
        for (n, line) in code.lines().enumerate() {
            let at = format!("{}:{}", path.display(), n + 1);
            let Some((_, signature)) = line.split_once("fn ") else { continue };
            let name = signature.split(['(', '<']).next().unwrap_or_default();
            let params = signature.split_once('(').map_or("", |(_, p)| p.split(')').next().unwrap_or(""));
            let root = params.contains("root: &Path") || params.contains("root: &std::path::Path");
            let named = ["env: &str", "overlay: &str", "env_name: &str"].iter().any(|p| params.contains(p));
            if root && named && !["env_dir", "overlay_dir"].contains(&name) {
                wrong.push(format!("{at}: fn {name} takes a root and a bare name"));
            }
        }
        if module != "env_files" && module != "terraform" && code.contains("env_dir(") {
            wrong.push(format!("{}: {module} calls env_dir", path.display()));
        }
    }
    assert!(wrong.is_empty(), "environment files found around EnvFiles: {wrong:#?}");
}
