//! `exhound report`: EVE files → the incident report in the formats asked for; and the
//! report `exhound replay --report` writes from the EVE lines of its run.

use std::fs::OpenOptions;
use std::io::{self, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use exhound::report::{Builder, Format, Report};

use super::args::ReportArgs;
use super::EXIT_OK;

/// Reads the EVE files and writes the report.
pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let targets = targets(&args.output, args.format)?;
    let mut builder = Builder::new();
    let stdin = [PathBuf::from("-")];
    let paths = if args.paths.is_empty() {
        &stdin[..]
    } else {
        &args.paths[..]
    };
    for path in paths {
        if path.as_os_str() == "-" {
            builder.read("standard input", io::stdin().lock())?;
        } else {
            let name = path.display().to_string();
            let file = std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?;
            builder.read(&name, BufReader::with_capacity(1 << 16, file))?;
        }
    }
    write_all(&builder.finish(), &targets)?;
    Ok(ExitCode::from(EXIT_OK))
}

/// Where each report goes and in which format: `-o` paths by their extension or
/// `--format`; with none, Markdown on standard output.
pub fn targets(
    outputs: &[PathBuf],
    format: Option<Format>,
) -> anyhow::Result<Vec<(PathBuf, Format)>> {
    if outputs.is_empty() {
        return Ok(vec![(
            PathBuf::from("-"),
            format.unwrap_or(Format::Markdown),
        )]);
    }
    outputs
        .iter()
        .map(|p| {
            let f = format.or_else(|| Format::from_path(p)).with_context(|| {
                format!(
                    "{}: say the report's format with the extension (.html, .md, .json, .csv, .stix.json) or --format",
                    p.display()
                )
            })?;
            Ok((p.clone(), f))
        })
        .collect()
}

/// Writes `report` to every target (files created with mode 0640, as the EVE they come
/// from).
pub fn write_all(report: &Report, targets: &[(PathBuf, Format)]) -> anyhow::Result<()> {
    for (path, format) in targets {
        let text = format.render(report);
        write_one(path, text.as_bytes())
            .with_context(|| format!("writing the report to {}", path.display()))?;
    }
    Ok(())
}

fn write_one(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if path.as_os_str() == "-" {
        let mut out = io::stdout().lock();
        out.write_all(bytes)?;
        return out.flush();
    }
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o640)
        .open(path)?;
    f.write_all(bytes)?;
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_extensions_or_the_flag() {
        let t = targets(
            &[
                PathBuf::from("r.html"),
                PathBuf::from("r.md"),
                PathBuf::from("r.json"),
                PathBuf::from("i.csv"),
                PathBuf::from("i.stix.json"),
            ],
            None,
        )
        .unwrap();
        let formats: Vec<Format> = t.iter().map(|(_, f)| *f).collect();
        assert_eq!(
            formats,
            [
                Format::Html,
                Format::Markdown,
                Format::Json,
                Format::Csv,
                Format::Stix
            ]
        );
        assert!(targets(&[PathBuf::from("report.txt")], None).is_err());
        assert!(targets(&[PathBuf::from("-")], None).is_err());
        let t = targets(&[PathBuf::from("-")], Some(Format::Json)).unwrap();
        assert_eq!(t[0].1, Format::Json);
        assert_eq!(targets(&[], None).unwrap()[0].1, Format::Markdown);
    }
}
