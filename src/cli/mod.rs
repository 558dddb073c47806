//! The command line: flags (defined once, with their docs, in [`args`]) and the commands
//! they run.

pub mod args;
pub mod replay;
pub mod rules;

use std::process::ExitCode;

/// Everything went fine.
pub const EXIT_OK: u8 = 0;
/// Some input was bad (unreadable, truncated or corrupt capture); all the rest was processed
/// and written.
pub const EXIT_BAD_INPUT: u8 = 1;
/// Usage error, rules that do not load, or output that could not be written.
pub const EXIT_FATAL: u8 = 2;

/// Runs the chosen command.
pub fn run(cli: args::Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        args::Command::Replay(a) => replay::run(&a),
        args::Command::Rules(c) => rules::run(&c),
    }
}
