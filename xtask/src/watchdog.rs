//! The emulator's watchdog: while a step's tool runs against the local AWS emulator, the engine asks
//! [`tripped`] every few dozen milliseconds whether the emulator process is still alive. When it died
//! (killed, crashed, out of memory), the running tool is ended at once — terraform would otherwise
//! retry a dead endpoint for minutes — and the run fails naming the emulator and saying what a rerun
//! does. The emulator keeps everything in memory, so what was applied went with it.

use std::sync::Mutex;

use crate::error::RunAgain;

#[derive(Clone, Copy)]
struct Watched {
    pid: u32,
    port: u16,
}

static WATCHED: Mutex<Option<Watched>> = Mutex::new(None);

/// From now on the steps of this process depend on the emulator at `pid`/`port`.
pub fn watch(pid: u32, port: u16) {
    *WATCHED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Watched { pid, port });
}

/// The emulator was stopped on purpose: stop watching it.
pub fn unwatch() {
    *WATCHED.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// `Some(error)` once the watched emulator is gone (reported once; later calls see nothing watched).
pub fn tripped() -> Option<RunAgain> {
    let mut watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
    let w = (*watched)?;
    if crate::engine::alive(w.pid) {
        return None;
    }
    *watched = None;
    Some(RunAgain(format!(
        "the AWS emulator (moto_server, pid {}, port {}) died while the step ran; the running tool was stopped. \
         The emulator keeps its state in memory, so everything applied to it is gone: a rerun starts a fresh \
         emulator and deploys from nothing",
        w.pid, w.port
    )))
}
