//! Signals, turned into flags that the capture loop and the output look at.
//!
//! SIGINT and SIGTERM ask for a clean stop (a second one ends the process at once, exit
//! status 130); SIGHUP asks the output to reopen its file; SIGUSR2 asks for the rules to be
//! reloaded. The handlers only set flags (signal-hook), so nothing runs inside a handler.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR2};
use signal_hook::flag;

/// The flags the signals set.
#[derive(Clone, Default)]
pub struct Signals {
    /// SIGINT / SIGTERM: stop.
    pub stop: Arc<AtomicBool>,
    /// SIGHUP: reopen the output file.
    pub reopen: Arc<AtomicBool>,
    /// SIGUSR2: reload the rules.
    pub reload: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers. Call before starting threads.
    pub fn install() -> io::Result<Signals> {
        let s = Signals::default();
        for sig in [SIGINT, SIGTERM] {
            // A second signal while the first is being handled ends the process.
            flag::register_conditional_shutdown(sig, 130, Arc::clone(&s.stop))?;
            flag::register(sig, Arc::clone(&s.stop))?;
        }
        flag::register(SIGHUP, Arc::clone(&s.reopen))?;
        flag::register(SIGUSR2, Arc::clone(&s.reload))?;
        Ok(s)
    }

    /// True once a stop was asked for.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// True (once) when a reload was asked for.
    pub fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::Relaxed)
    }
}
