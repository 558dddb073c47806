//! The `exhound` command: argument parsing in [`cli::args`], the replay driver in
//! [`cli::replay`].

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("exhound: error: {err:#}");
            ExitCode::from(cli::EXIT_FATAL)
        }
    }
}
