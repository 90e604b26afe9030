//! The integration tests, one binary (matklad's "Delete Cargo Integration Tests"): cargo links it once
//! and libtest schedules every case together, so a case that mostly waits on the emulator runs beside
//! the ones that compute, instead of binary after binary. A module per area; what they share is in
//! `common`. `cargo test --test suite -- <module>::` runs one area.

mod common;

mod cli;
mod cluster;
mod contracts;
mod contracts_b;
mod contracts_ci;
mod cost;
mod delivery;
mod e2e;
mod engine;
mod faults;
mod github;
mod gitops;
mod hygiene;
mod images;
mod recovery;
mod renovate;
mod tunnel;
mod upgrade;
mod validate;
mod validate_cache;
