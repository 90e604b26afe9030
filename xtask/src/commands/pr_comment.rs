//! `cargo xtask pr-comment`: the environment's plan summary and cost change as one
//! pull-request comment, created the first time and replaced in place after (found by its marker and
//! its bot author). A section whose file is missing says it was not made, so a failed plan still
//! shows on the pull request. The body is also appended to the GitHub step summary.

use std::cell::Cell;
use std::path::PathBuf;

use anyhow::{Context as _, Result};

use crate::cli::PrCommentArgs;
use crate::context::Context;
use crate::engine::{Pipeline, Step};
use crate::github::{self, Section};

pub fn run(ctx: &Context, args: PrCommentArgs) -> Result<()> {
    let env = ctx.config()?.env(&args.env)?.name.clone();
    let repo = github::repository(args.repo.as_deref())?;
    let commit = args.commit.as_deref().map(github::commit).transpose()?;
    let plans = ctx.work.join("plans");
    let files: Vec<(String, PathBuf)> = if args.file.is_empty() {
        vec![
            ("The plan".to_string(), plans.join(format!("{env}.summary.md"))),
            ("The cost change".to_string(), plans.join(format!("{env}.cost.md"))),
        ]
    } else {
        args.file.iter().map(|f| (format!("`{}`", f.display()), f.clone())).collect()
    };
    let body_file = ctx.work.join("pr").join(format!("{env}.comment.json"));
    let earlier: Cell<Option<u64>> = Cell::new(None);
    let mut pipeline = Pipeline::new(ctx, format!("pr-comment {env}"), env.as_str());
    let (repo, pr, earlier, env) = (&repo, args.pr, &earlier, &env);
    pipeline.step(
        Step::new(
            "find",
            format!("the {env} comment of an earlier run on pull request #{pr}"),
            vec![github::comments_cmd(repo, pr)],
            move |c| {
                let comments = github::parse_comments(&c.output(&github::comments_cmd(repo, pr))?)?;
                earlier.set(github::earlier_comment(&comments, env));
                c.note(match earlier.get() {
                    Some(id) => format!("comment {id} is replaced"),
                    None => "none yet: a new comment".to_string(),
                });
                Ok(())
            },
        )
        .note("read-only; only a comment by a bot with this environment's marker is ever replaced"),
    );
    let (files, commit, run_url, body_file) = (&files, &commit, &args.run_url, &body_file);
    pipeline.step(
        Step::new(
            "write",
            format!("the plan and cost change of {env}, posted or updated in place"),
            vec![github::write_cmd(repo, pr, None, &body_file.to_string_lossy())],
            move |c| {
                let sections: Vec<Section> = files
                    .iter()
                    .map(|(what, path)| Section { what: what.clone(), text: std::fs::read_to_string(path).ok() })
                    .collect();
                for s in sections.iter().filter(|s| s.text.is_none()) {
                    c.log(format!("{} is missing: the comment says it was not made", s.what));
                }
                let body = github::body(env, &sections, commit.as_deref(), run_url.as_deref());
                std::fs::create_dir_all(body_file.parent().expect("a file in a directory"))
                    .with_context(|| format!("creating {}", body_file.display()))?;
                std::fs::write(body_file, github::body_json(&body)?)
                    .with_context(|| format!("writing {}", body_file.display()))?;
                c.output(&github::write_cmd(repo, pr, earlier.get(), &body_file.to_string_lossy()))?;
                c.fact(body);
                c.note(match earlier.get() {
                    Some(id) => format!("comment {id} updated"),
                    None => "comment posted".to_string(),
                });
                Ok(())
            },
        )
        .note("PATCH of the earlier comment when there is one, else POST of a new one"),
    );
    pipeline.run(&args.run)
}
