//! Signals: SIGINT and SIGTERM are counted, not fatal, once a pipeline runs; a running tool gets them
//! forwarded to its process group (once as SIGINT, then SIGKILL).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

static SIGNALS: AtomicUsize = AtomicUsize::new(0);
static HANDLERS: Once = Once::new();

/// From now on SIGINT and SIGTERM are counted instead of killing the xtask; running tools get them
/// forwarded by `StepCtx::run`.
pub fn catch_signals() {
    HANDLERS.call_once(|| {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // SAFETY: the action is one atomic add, which is async-signal-safe.
            let registered = unsafe {
                signal_hook::low_level::register(signal, || {
                    SIGNALS.fetch_add(1, Ordering::SeqCst);
                })
            };
            if let Err(e) = registered {
                eprintln!("warning: cannot catch signal {signal}: {e}");
            }
        }
    });
}

pub fn signals_received() -> usize {
    SIGNALS.load(Ordering::SeqCst)
}

pub(super) fn signal_group(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals the process group the tool leads; no memory involved.
    unsafe {
        libc::kill(-(pid as libc::pid_t), signal);
    }
}
