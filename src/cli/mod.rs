//! The command line: flags (defined once, with their docs, in [`args`]) and the commands
//! they run.

pub mod args;
pub mod bench;
pub mod live;
pub mod output;
pub mod privileges;
pub mod replay;
pub mod report;
pub mod rules;
pub mod signals;
pub mod summary;
pub mod synth;

use std::process::ExitCode;

/// Everything went fine.
pub const EXIT_OK: u8 = 0;
/// Some input was bad (unreadable, truncated or corrupt capture); all the rest was processed
/// and written.
pub const EXIT_BAD_INPUT: u8 = 1;
/// Usage error, rules that do not load, or output that could not be written.
pub const EXIT_FATAL: u8 = 2;

/// `items` joined by `sep`, or `-` when there are none (for the columns of the summaries and
/// listings).
fn join_or_dash<S: AsRef<str>>(items: &[S], sep: &str) -> String {
    if items.is_empty() {
        return "-".to_string();
    }
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(sep)
}

/// Runs the chosen command.
pub fn run(cli: args::Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        args::Command::Replay(a) => replay::run(&a),
        args::Command::Live(a) => live::run(&a),
        args::Command::Rules(c) => rules::run(&c),
        args::Command::Bench(a) => bench::run(&a),
        args::Command::Synth(a) => synth::run(&a),
        args::Command::Report(a) => report::run(&a),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn join_or_dash_marks_an_empty_list() {
        assert_eq!(super::join_or_dash::<&str>(&[], ","), "-");
        assert_eq!(super::join_or_dash(&["a", "b"], ", "), "a, b");
        assert_eq!(super::join_or_dash(&["x".to_string()], ","), "x");
    }
}
