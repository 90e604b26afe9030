//! The commands: one module per `cargo xtask` verb, each a thin wrapper that builds a pipeline from the
//! domain modules' steps and runs it. Commands are leaves: only `main.rs` names them and none imports
//! another; what several share lives in the domain modules below them.

pub mod backup;
pub mod bootstrap;
pub mod cost_report;
pub mod deploy;
pub mod destroy;
pub mod docs;
pub mod doctor;
pub mod drift;
pub mod emulator;
pub mod mesh;
pub mod plan;
pub mod pr_comment;
pub mod promotion;
pub mod restore;
pub mod schedule;
pub mod tools;
pub mod tunnel;
pub mod unlock;
pub mod upgrade;
pub mod validate;
