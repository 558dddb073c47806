//! The progress bar of a benchmark on a terminal: bytes fed over every run of every set,
//! the set and run under way. Hidden when standard error is not a terminal, or with
//! `--quiet`.

use std::io::IsTerminal;

use indicatif::ProgressBar;

use super::super::replay::byte_bar;

/// Progress over all runs.
pub struct Progress {
    bar: Option<ProgressBar>,
    bytes: u64,
    packets: u64,
}

impl Progress {
    /// A bar for `total` captured bytes, shown only on a terminal and without `quiet`.
    pub fn new(total: u64, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| byte_bar(total));
        Progress {
            bar,
            bytes: 0,
            packets: 0,
        }
    }

    /// A new run starts.
    pub fn stage(&self, what: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(what);
        }
    }

    /// A packet of `captured` bytes was fed.
    pub fn packet(&mut self, captured: usize) {
        let Some(bar) = &self.bar else {
            return;
        };
        self.packets += 1;
        self.bytes += captured as u64;
        if self.packets % 4096 == 0 {
            bar.set_position(self.bytes);
        }
    }

    /// Every run is over.
    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
