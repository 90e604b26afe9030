//! Signals: SIGINT and SIGTERM are counted, not fatal, once a pipeline runs; a running tool gets the
//! first of them forwarded to its process group as one SIGINT, and is killed only by a second SIGINT.
//!
//! GitHub Actions cancels a step with SIGINT, then SIGTERM 7.5 s later, then kills the process tree
//! 2.5 s after that; systemd, Kubernetes and `timeout` send SIGTERM. Neither is a person asking twice:
//! a SIGTERM is the same request to stop, and the tool keeps its graceful shutdown (terraform releases
//! its state lock). Only a second SIGINT — Ctrl-C pressed again at a terminal — forces.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);
static TERMINATES: AtomicUsize = AtomicUsize::new(0);
static HANDLERS: Once = Once::new();

/// From now on SIGINT and SIGTERM are counted instead of killing the xtask; running tools get them
/// forwarded by `StepCtx::run`.
pub fn catch_signals() {
    HANDLERS.call_once(|| {
        for (signal, counter) in
            [(signal_hook::consts::SIGINT, &INTERRUPTS), (signal_hook::consts::SIGTERM, &TERMINATES)]
        {
            // SAFETY: the action is one atomic add, which is async-signal-safe.
            let registered = unsafe {
                signal_hook::low_level::register(signal, move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                })
            };
            if let Err(e) = registered {
                eprintln!("warning: cannot catch signal {signal}: {e}");
            }
        }
    });
}

/// Every SIGINT and SIGTERM so far: any of them asks the run to stop.
pub fn signals_received() -> usize {
    INTERRUPTS.load(Ordering::SeqCst) + TERMINATES.load(Ordering::SeqCst)
}

/// The SIGINTs so far: a second one while a tool shuts down forces it.
pub fn interrupts_received() -> usize {
    INTERRUPTS.load(Ordering::SeqCst)
}

/// Signals the process group `pid` leads (a tool, or the emulator, each started in its own group).
pub fn signal_group(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals the process group the tool leads; no memory involved.
    unsafe {
        libc::kill(-(pid as libc::pid_t), signal);
    }
}

/// Whether `pid` is alive and not a zombie (a process this one started stays its child until reaped).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}
