//! Every flag of `exhound`, defined once with its documentation (the doc comment is the help
//! text), and the conversion of flags into pipeline settings. No other module reads flags.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use exhound::evidence::EvidenceConfig;
use exhound::output::redact::Redactor;
use exhound::output::ship::Target;

use exhound::pipeline::{ChecksumMode, PipelineConfig};
use exhound::sensor::{OutputOptions, SensorConfig};
use exhound::stream::StreamPolicy;
use exhound::tls::decrypt::{KeyLog, ServerKey};
use exhound::tls::DecryptionConfig;

const EXIT_HELP: &str = "\
Exit status:
  0  success
  1  some input was bad (unreadable path, truncated or corrupt capture); everything else was
     processed and written, and each problem was reported on standard error
  2  usage error, rules that do not load, or output that could not be written";

const LIVE_HELP: &str = "\
Signals:
  SIGINT, SIGTERM  stop capturing, inspect what is buffered, write the last records, the
                   final stats and the summary, exit 0
  SIGHUP           reopen the output file (after logrotate has moved it)
  SIGUSR2          reload the rules from disk; a rule file that does not load keeps the old
                   set and reports file:line:col on standard error

Exit status:
  0  stopped by a signal
  1  capture failed on every interface (the interface went away…); what was captured was
     inspected and written
  2  usage error, rules that do not load, an interface that cannot be opened, or output
     that could not be written";

/// A passive network sensor for Microsoft Exchange exploitation (ProxyLogon and relatives).
#[derive(Debug, Parser)]
#[command(name = "exhound", version, about, after_help = EXIT_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// exhound's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay pcap/pcapng files through the sensor and write EVE JSON.
    #[command(after_help = EXIT_HELP)]
    Replay(ReplayArgs),
    /// Inspect traffic on network interfaces (a SPAN port or a tap) until stopped.
    #[command(after_help = LIVE_HELP)]
    Live(LiveArgs),
    /// Check or list signatures.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Measure rule sets on captures: throughput, memory, alerts per sid, rule costs.
    #[command(
        after_help = BENCH_HELP,
        mut_arg("rules", |a| a.help(BENCH_SETS_HELP)),
        mut_arg("output", |a| a.value_name("FILE").help("Write the report (text or JSON) here instead of standard output")),
        mut_arg("drain_timeout", |a| a.hide(true)),
    )]
    Bench(BenchArgs),
    /// Write a synthetic capture of Exchange client traffic with attacks mixed in.
    #[command(after_help = SYNTH_HELP)]
    Synth(SynthArgs),
    /// Build an incident report (HTML, Markdown, JSON, CSV or STIX indicators) from EVE
    /// alerts: exhound's or Suricata's.
    #[command(after_help = REPORT_HELP)]
    Report(ReportArgs),
}

const REPORT_HELP: &str = "\
The report has one chain per attacker → server pair: the attack stages reached, in the
attack's order, with their first and last time, attempts and successes and the answers that
showed success; the web shells written and used and whether they answered; the mailboxes
and SIDs named; the tools fingerprinted. Sources that share a web-shell path or a user agent
(other than a full browser's) are grouped into campaigns. The same EVE gives the same
report, byte for byte. Alerts written with --payload give more evidence (the shell paths written, the
mailboxes and SIDs in request bodies). The JSON schema is docs/report.schema.json.

Formats, by the extension of each -o: .html (one self-contained page), .md, .json,
.csv (indicators), .stix.json (indicators and observed data, a STIX 2.1 bundle).

Exit status:
  0  written
  2  usage error, an EVE file that cannot be read or holds a line that is not an EVE record
     (reported as file:line), or a report that could not be written";

/// `exhound report` flags.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// EVE JSON files (one record per line; other event types than `alert` are skipped), or
    /// `-` for standard input (also read when no file is given). Several files are read as
    /// one set of alerts.
    #[arg(value_name = "EVE")]
    pub paths: Vec<PathBuf>,

    /// Write the report to FILE, in the format its extension names (repeatable: one file per
    /// format). `-` is standard output (with --format). Without it, Markdown goes to
    /// standard output.
    #[arg(short, long, value_name = "FILE", help_heading = "Output")]
    pub output: Vec<PathBuf>,

    /// The format of every -o, whatever its extension: html, md, json, csv or stix.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format, help_heading = "Output")]
    pub format: Option<exhound::report::Format>,
}

/// Parses a report format name.
pub fn parse_format(s: &str) -> Result<exhound::report::Format, String> {
    exhound::report::Format::from_name(s).ok_or_else(|| {
        format!(
            "unknown report format {s:?} (one of: {})",
            exhound::report::Format::NAMES.join(", ")
        )
    })
}

const SYNTH_HELP: &str = "\
The capture: connections from 4,096 clients (browsers on OWA and ECP, Outlook on MAPI over
HTTP, RPC over HTTP, EWS, Autodiscover and OAB, administrators on the Exchange Management
Shell, phones on ActiveSync) to four front ends, decrypted HTTP/1.1 on port 443 (the shell on
80), starting at 2021-03-03T10:00:00Z; MSS 1460, delayed ACKs, keep-alive, 0.2% of answer
segments lost and retransmitted and 0.2% swapped. Attack connections replay the bundled
attack forms (the scenarios of pcaps/exchange/) in turn, from 203.0.113.0/24.

Exit status:
  0  written
  2  usage error, or output that could not be written";

/// `exhound synth` flags.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Capture file to write, or `-` for standard output.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        help_heading = "Output"
    )]
    pub output: PathBuf,

    /// Also write the manifest (counts, and every attack connection with the sids it must
    /// raise) as JSON to this file.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub manifest: Option<PathBuf>,

    /// Size of the capture: bytes, or with a unit (KB, MB, GB; KiB, MiB, GiB). The capture
    /// ends with the connection that reaches it, a little past it.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = crate::cli::synth::parse_size, help_heading = "Traffic")]
    pub size: u64,

    /// Fraction of connections that attack (0 to 1); 1e-4 is one in ten thousand.
    #[arg(long, value_name = "RATE", default_value = "1e-4", value_parser = crate::cli::synth::parse_rate, help_heading = "Traffic")]
    pub attack_rate: u64,

    /// Seed: the same seed and flags write the same bytes.
    #[arg(long, value_name = "N", default_value_t = 1, help_heading = "Traffic")]
    pub seed: u64,
}

/// `exhound rules` commands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load rules and report every invalid one (file:line:col: keyword: what is wrong).
    /// Exit status 1 when any rule is invalid.
    Check(RuleSource),
    /// Print sid, message, CVEs, inspected buffers and chosen fast pattern of each rule.
    List(RuleSource),
}

/// Where rules come from (shared by `replay` and `rules`).
#[derive(Debug, Clone, Args)]
pub struct RuleSource {
    /// Rule file, or directory of `*.rules` files (name order); repeatable. Without it, the
    /// bundled Exchange signature set (embedded in the binary) is used.
    #[arg(
        short = 'S',
        long = "rules",
        value_name = "PATH",
        help_heading = "Rules"
    )]
    pub rules: Vec<PathBuf>,

    /// Set an address or port variable, e.g. `--var HOME_NET=[10.0.0.0/8]` (repeatable).
    /// By default HOME_NET, EXTERNAL_NET, HTTP_SERVERS, SMTP_SERVERS and the other address
    /// groups are `any`, and HTTP_PORTS is `any`, so that a capture from anywhere works; a
    /// SPAN deployment narrows them.
    #[arg(long = "var", value_name = "NAME=VALUE", help_heading = "Rules")]
    pub vars: Vec<String>,

    /// Load the valid rules and list the invalid ones, instead of stopping at the first.
    #[arg(long, help_heading = "Rules")]
    pub skip_invalid: bool,
}

/// Overlap policy names on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// The first bytes seen win.
    First,
    /// The last bytes seen win.
    Last,
    /// New bytes win when the new segment starts first.
    Bsd,
    /// As bsd, and new bytes win when both start together and the new one is longer.
    Linux,
    /// As bsd (Windows servers, the default).
    Windows,
}

impl From<PolicyArg> for StreamPolicy {
    fn from(p: PolicyArg) -> StreamPolicy {
        match p {
            PolicyArg::First => StreamPolicy::First,
            PolicyArg::Last => StreamPolicy::Last,
            PolicyArg::Bsd => StreamPolicy::Bsd,
            PolicyArg::Linux => StreamPolicy::Linux,
            PolicyArg::Windows => StreamPolicy::Windows,
        }
    }
}

/// Checksum modes on the command line (Suricata's `-k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChecksumArg {
    /// Take every segment.
    None,
    /// Drop every segment with a wrong checksum.
    All,
    /// Drop them unless the connection's side looks checksum-offloaded.
    Auto,
}

impl From<ChecksumArg> for ChecksumMode {
    fn from(k: ChecksumArg) -> ChecksumMode {
        match k {
            ChecksumArg::None => ChecksumMode::None,
            ChecksumArg::All => ChecksumMode::All,
            ChecksumArg::Auto => ChecksumMode::Auto,
        }
    }
}

/// `exhound replay` flags.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture files (pcap or pcapng), directories (every capture file under them, in name
    /// order) or `-` for standard input. Several files are one continuous capture.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Only packets matching this libpcap filter expression (applies to files too).
    #[arg(long, value_name = "EXPR", help_heading = "Input")]
    pub bpf: Option<String>,

    /// At the end, also write the incident report of the run's alerts to FILE, in the format
    /// its extension names: .html, .md, .json, .csv or .stix.json (repeatable). The same as
    /// `exhound report` on the EVE written.
    #[arg(long = "report", value_name = "FILE", help_heading = "Report")]
    pub report: Vec<PathBuf>,

    /// Flags shared with `exhound live`.
    #[command(flatten)]
    pub sensor: SensorArgs,
}

/// `exhound live` flags.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture on (repeatable). Several interfaces are one view of the
    /// traffic: a passive tap that delivers each direction on its own port gives both
    /// halves of every flow.
    #[arg(
        short = 'i',
        long = "interface",
        required = true,
        value_name = "IFACE",
        help_heading = "Capture"
    )]
    pub interfaces: Vec<String>,

    /// Only packets matching this libpcap filter expression (compiled into the kernel).
    #[arg(long, value_name = "EXPR", help_heading = "Capture")]
    pub bpf: Option<String>,

    /// Bytes captured of each packet.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = 262_144,
        help_heading = "Capture"
    )]
    pub snaplen: i32,

    /// Put the interfaces in promiscuous mode (the default).
    #[arg(long, overrides_with = "no_promisc", help_heading = "Capture")]
    pub promisc: bool,

    /// Don't put the interfaces in promiscuous mode.
    #[arg(long, help_heading = "Capture")]
    pub no_promisc: bool,

    /// Kernel capture buffer per interface. Suffixes k, m, g.
    #[arg(long, value_name = "BYTES", default_value = "64m", value_parser = parse_size, help_heading = "Capture")]
    pub buffer_size: u64,

    /// Deliver each packet as soon as it arrives instead of in blocks (lower latency,
    /// more CPU).
    #[arg(long, help_heading = "Capture")]
    pub immediate: bool,

    /// Write the process id to this file (removed on exit).
    #[arg(long, value_name = "FILE", help_heading = "Daemon")]
    pub pidfile: Option<PathBuf>,

    /// Switch to this user once the interfaces and output files are open.
    #[arg(long, value_name = "USER", help_heading = "Daemon")]
    pub user: Option<String>,

    /// Switch to this group once the interfaces and output files are open (default: the
    /// user's primary group).
    #[arg(long, value_name = "GROUP", help_heading = "Daemon")]
    pub group: Option<String>,

    /// Flags shared with `exhound replay`.
    #[command(flatten)]
    pub sensor: SensorArgs,
}

const BENCH_SETS_HELP: &str = "\
A rule set to measure: a rule file, or a directory of `*.rules` files (name order). Each \
occurrence is one set, measured on its own and compared with the first. `bundled` (unless a \
file or directory has that name) is the bundled Exchange signature set, which is also what is \
measured without -S";

const BENCH_HELP: &str = "\
Each set goes through the sensor --repeat times, configured by the same flags as `replay`; \
EVE records are formatted as in a replay and discarded. One more run per set, not timed, \
profiles the rules (unless --no-profile).

Exit status:
  0  success
  2  usage error, a capture or rules that do not load, or a report that could not be written";

/// `exhound bench` flags.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Capture files (pcap or pcapng) or directories (every capture file under them, in name
    /// order), read into memory once. Several files are one continuous capture.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Timed runs of each rule set (the report gives their median, least and most). They go
    /// in rounds: the bare read of --baseline-read, then one run of each set, K times over.
    #[arg(long, value_name = "K", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..), help_heading = "Benchmark")]
    pub repeat: u32,

    /// Also time a bare libpcap read loop over the same files (from the page cache): the
    /// speed limit to compare with.
    #[arg(long, help_heading = "Benchmark")]
    pub baseline_read: bool,

    /// Skip the profiling run (per-rule and per-prefilter costs).
    #[arg(long, help_heading = "Benchmark")]
    pub no_profile: bool,

    /// Also run this Suricata binary on the same captures with each rule set and equivalent
    /// settings, and report its time and alerts per sid beside exhound's.
    #[arg(long, value_name = "BIN", help_heading = "Benchmark")]
    pub suricata: Option<PathBuf>,

    /// Print the report as JSON (schema in the README).
    #[arg(long, help_heading = "Report")]
    pub json: bool,

    /// Also write the report as a self-contained HTML page (inline SVG charts) to FILE.
    #[arg(long, value_name = "FILE", help_heading = "Report")]
    pub html: Option<PathBuf>,

    /// Flags shared with `exhound replay`.
    #[command(flatten)]
    pub sensor: SensorArgs,
}

impl LiveArgs {
    /// Whether promiscuous mode was asked for (on unless `--no-promisc`).
    pub fn promiscuous(&self) -> bool {
        !self.no_promisc
    }
}

/// Flags shared by `replay` and `live`: output, rules, threads and the limits of every stage.
#[derive(Debug, Args)]
pub struct SensorArgs {
    /// Where EVE JSON goes; repeat it for several. A path is a file (created with mode
    /// 0640), `-` standard output (the default when no path is given). A URL ships every
    /// record as it is written: `syslog://HOST[:514]` (RFC 5424 over UDP),
    /// `syslog+tcp://HOST[:514]` (octet counting), `syslog+tls://HOST[:6514]?ca=FILE`
    /// (add `&cert=FILE&key=FILE` for a client certificate, `&name=NAME` for the name the
    /// server's certificate must carry), `redis://HOST[:6379]/KEY` (RPUSH to a list; add
    /// `?mode=channel` to PUBLISH, `?mode=lpush` for LPUSH). Syslog URLs take
    /// `facility=NAME` (default local5), every URL `queue=N` (records held while the
    /// receiver is slow or away; default 10000). With only URLs nothing goes to standard
    /// output (add `-o -`).
    #[arg(short, long, value_name = "FILE|URL", value_parser = parse_output, help_heading = "Output")]
    pub output: Vec<OutputArg>,

    /// Seconds to wait at the end for the shipping outputs to send what they still hold;
    /// what is left then is dropped, counted and reported.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10,
        help_heading = "Output"
    )]
    pub drain_timeout: u64,

    /// Write one EVE `http` record per HTTP transaction (alerts are always written).
    #[arg(long, help_heading = "Output")]
    pub log_http: bool,

    /// Write one EVE `tls` record per TLS connection (alerts on TLS connections always
    /// carry the `tls` object).
    #[arg(long, help_heading = "Output")]
    pub log_tls: bool,

    /// Decrypt TLS with the secrets in this key-log file (the NSS format that
    /// `SSLKEYLOGFILE` makes curl, browsers, OpenSSL, Python and rustls write:
    /// `CLIENT_RANDOM` for TLS 1.0-1.2, the `*_TRAFFIC_SECRET*` lines for TLS 1.3); repeat it
    /// for several. Decrypted requests go through the same HTTP parser and rules as clear
    /// ones; their `http` records and alerts carry the connection's `tls` object. `live`
    /// re-reads lines appended to the file, so keys written after the handshake still count.
    #[arg(long, value_name = "FILE", help_heading = "TLS decryption")]
    pub tls_keylog: Vec<PathBuf>,

    /// Decrypt TLS 1.0-1.2 connections that use RSA key exchange with this server private
    /// key (PEM, PKCS#1 or PKCS#8); `@IP:PORT` keeps it to one server. Sessions resumed by
    /// session ID or ticket are decrypted when their first connection was seen. It cannot
    /// work with ECDHE or DHE key exchange, nor with TLS 1.3: use key logs for those.
    #[arg(long, value_name = "FILE[@IP:PORT]", help_heading = "TLS decryption")]
    pub tls_key: Vec<String>,

    /// Add the inspected bytes to each alert (`payload` in base64 and `payload_printable`).
    #[arg(long, help_heading = "Output")]
    pub payload: bool,

    /// Write EVE `stats` records: every `--stats-interval` seconds and at the end. On by
    /// default in `live` (wall-clock time); a replay writes them on packet time.
    #[arg(long, help_heading = "Output")]
    pub log_stats: bool,

    /// Seconds between EVE `stats` records (0: none).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 8,
        help_heading = "Output"
    )]
    pub stats_interval: u64,

    /// Write credentials as they were seen (forensic work on a trusted host). By default
    /// every record masks them: `Authorization` and `Proxy-Authorization` credentials (the
    /// scheme stays), NTLM and Kerberos tokens, cookie values other than the attack markers
    /// (`X-BEResource`, `X-AnonResource*`, `Email`), password, token, session and canary
    /// fields in URLs, form and JSON bodies, and `X-OWA-CANARY`. A masked value reads
    /// `[redacted:lenN:hXXXXXXXX]`: its length in bytes and a keyed hash (see
    /// `--redact-key`).
    #[arg(long, conflicts_with = "redact_key", help_heading = "Redaction")]
    pub no_redact: bool,

    /// Key the hash in masks with this file (at least 16 bytes; make one with
    /// `head -c 32 /dev/urandom`): a secret then has the same hash in every run and on every
    /// sensor given the same file. Without it, `replay` keys the hash with the capture
    /// files themselves (the same value has the same hash throughout one replay of the same
    /// files; standard input gives masks with the length only) and `live` with a random
    /// key for each run.
    #[arg(long, value_name = "FILE", help_heading = "Redaction")]
    pub redact_key: Option<PathBuf>,

    /// Write the packets of every flow that raised an alert to DIR: one pcap per flow (its
    /// packets as captured, with their timestamps and link type, never redacted), named
    /// `<time of the first alert>_<client>-<port>_<server>-<port>_sid<first sid>.pcap`,
    /// and one line per file in DIR/index.json (addresses, sids, packets, times, what was
    /// left out). The file holds the flow's packets before the alert (the most recent
    /// `--evidence-depth` bytes) and after it (until the flow ends or as many bytes again);
    /// it is written when the flow ends. Replaying it raises the same alerts, except those that
    /// need an xbit another flow set.
    #[arg(long, value_name = "DIR", help_heading = "Evidence")]
    pub evidence: Option<PathBuf>,

    /// Bytes of each flow's packets kept before its first alert (the most recent), and
    /// again after it. Suffixes k, m, g.
    #[arg(long, value_name = "BYTES", default_value = "1m", value_parser = parse_size, help_heading = "Evidence")]
    pub evidence_depth: u64,

    /// The budget of every flow's evidence packets together (split evenly over the 64
    /// flow shards). Past it, packets are not kept (counted in
    /// `exhound.evidence.dropped_memcap`; the index says how many a file misses).
    #[arg(long, value_name = "BYTES", default_value = "256m", value_parser = parse_size, help_heading = "Evidence")]
    pub evidence_memcap: u64,

    /// Don't print the summary (or the progress bar) on standard error.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,

    /// Rules to run.
    #[command(flatten)]
    pub rules: RuleSource,

    /// Worker threads (default: the number of CPU cores). The output is the same for any
    /// number.
    #[arg(long, value_name = "N", help_heading = "Performance")]
    pub threads: Option<usize>,

    /// Batches (of up to 1024 packets or 128 KiB) each worker's queue holds: a longer queue
    /// rides out longer bursts in live capture before packets are dropped, at the cost of
    /// memory (default: 8 for `replay` and `bench`, 128 for `live`).
    #[arg(long, value_name = "BATCHES", help_heading = "Performance")]
    pub worker_queue: Option<usize>,

    /// Segments with a wrong IPv4 or TCP checksum: `all` drops them (as the receiver does;
    /// right for a SPAN port or tap), `none` takes them (captures known to carry offloaded
    /// checksums), `auto` drops them except from a side of a connection whose every packet
    /// so far had a wrong checksum (what a capture on a host with checksum offload shows).
    #[arg(short = 'k', long = "checksum-checks", value_enum, default_value_t = ChecksumArg::Auto, value_name = "MODE", help_heading = "Reassembly")]
    pub checksum_checks: ChecksumArg,

    /// How overlapping TCP segments with different bytes are resolved: as the protected
    /// server's TCP stack does.
    #[arg(long, value_enum, default_value_t = PolicyArg::Windows, value_name = "POLICY", help_heading = "Reassembly")]
    pub stream_policy: PolicyArg,

    /// Ignore TCP connections whose handshake was not captured (by default they are picked
    /// up and their transactions flagged `midstream`).
    #[arg(long, help_heading = "Reassembly")]
    pub no_midstream: bool,

    /// Treat a connection captured from one side only (asymmetric routing, a one-way tap) as
    /// established once that side has sent its handshake packet and more (Suricata's
    /// `stream.async-oneside`), so that `flow:established` rules match on it.
    #[arg(long, help_heading = "Reassembly")]
    pub async_oneside: bool,

    /// Bytes of each direction of a TCP connection that are inspected (0: no limit).
    /// Suffixes k, m, g.
    #[arg(long, value_name = "BYTES", default_value = "1m", value_parser = parse_size, help_heading = "Limits")]
    pub stream_depth: u64,

    /// The memory budget: everything flows can make exhound hold — flow entries, out-of-order
    /// TCP data, HTTP heads, bodies and waiting requests, detection state — plus IP fragments
    /// (1/16 of it). Past it the flows idle longest are evicted (counted). Split evenly over
    /// the 64 flow shards. Suffixes k, m, g.
    #[arg(long, value_name = "BYTES", default_value = "512m", value_parser = parse_size, help_heading = "Limits")]
    pub memcap: u64,

    /// Bytes of each request body kept for inspection (after dechunking and decoding).
    #[arg(long, value_name = "BYTES", default_value = "1m", value_parser = parse_size, help_heading = "Limits")]
    pub request_body_limit: u64,

    /// Bytes of each response body kept for inspection (after dechunking and decoding). A body
    /// that no loaded rule may inspect on its flow (rules gated on a flowbit the flow lacks)
    /// keeps its first 4 KiB, for alert payloads; every byte is still counted.
    #[arg(long, value_name = "BYTES", default_value = "1m", value_parser = parse_size, help_heading = "Limits")]
    pub response_body_limit: u64,

    /// Nested Content-Encoding layers (gzip, deflate) decoded at most.
    #[arg(long, value_name = "N", default_value_t = 2, help_heading = "Limits")]
    pub decompress_layers: usize,

    /// Also decode `Content-Encoding: lzma` bodies (up to 1 MiB of dictionary memory per
    /// layer; off by default, as in Suricata).
    #[arg(long, help_heading = "Limits")]
    pub decompress_lzma: bool,

    /// Seconds (of packet time) after which an idle flow is closed.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 600,
        help_heading = "Limits"
    )]
    pub flow_timeout: u64,

    /// Seconds (of packet time) an incomplete fragmented datagram is kept.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60,
        help_heading = "Limits"
    )]
    pub defrag_timeout: u64,
}

/// One `--output`: a file, standard output, or a receiver to ship records to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputArg {
    /// A file.
    File(PathBuf),
    /// Standard output (`-`).
    Stdout,
    /// A syslog or Redis receiver.
    Ship(Target),
}

/// Parses one `--output`: `-`, a URL (`scheme://…`, checked here), or a path.
pub fn parse_output(s: &str) -> Result<OutputArg, String> {
    if s == "-" {
        return Ok(OutputArg::Stdout);
    }
    let scheme = s.split_once("://").map(|(scheme, _)| scheme);
    let looks_like_url = scheme.is_some_and(|sc| {
        !sc.is_empty()
            && sc
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if looks_like_url {
        return Target::parse(s)
            .map(OutputArg::Ship)
            .map_err(|e| e.to_string());
    }
    if s.is_empty() {
        return Err("an empty path".into());
    }
    Ok(OutputArg::File(PathBuf::from(s)))
}

/// Where the EVE lines are written (besides the receivers they are shipped to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EveSink<'a> {
    /// A file.
    File(&'a Path),
    /// Standard output.
    Stdout,
    /// Nowhere: only shipped.
    None,
}

impl SensorArgs {
    /// Where the EVE lines are written: the one path or `-` given; with none, standard
    /// output, unless records are shipped.
    pub fn eve_sink(&self) -> anyhow::Result<EveSink<'_>> {
        let mut sinks = self.output.iter().filter_map(|o| match o {
            OutputArg::File(p) => Some(EveSink::File(p)),
            OutputArg::Stdout => Some(EveSink::Stdout),
            OutputArg::Ship(_) => None,
        });
        let first = sinks.next();
        if sinks.next().is_some() {
            anyhow::bail!(
                "--output: give at most one file (or `-`); repeat --output for syslog:// and redis:// receivers"
            );
        }
        Ok(match first {
            Some(sink) => sink,
            None if self.ship_targets().is_empty() => EveSink::Stdout,
            None => EveSink::None,
        })
    }

    /// The receivers records are shipped to, in the order given.
    pub fn ship_targets(&self) -> Vec<Target> {
        self.output
            .iter()
            .filter_map(|o| match o {
                OutputArg::Ship(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    /// The pipeline settings these flags ask for.
    pub fn pipeline_config(&self) -> PipelineConfig {
        let mut c = PipelineConfig::default();
        c.stream.policy = self.stream_policy.into();
        c.checksums = self.checksum_checks.into();
        c.stream.midstream = !self.no_midstream;
        c.async_oneside = self.async_oneside;
        c.stream.depth = self.stream_depth;
        c.http.request_body_limit = to_usize(self.request_body_limit);
        c.http.response_body_limit = to_usize(self.response_body_limit);
        c.http.decompress_layers = self.decompress_layers;
        c.http.decompress_lzma = self.decompress_lzma;
        c.flow.idle_timeout_secs = self.flow_timeout;
        c.defrag.timeout_secs = self.defrag_timeout;
        let total = to_usize(self.memcap);
        c.defrag.memcap = total / 16;
        c.memcap = total - total / 16;
        c.evidence = self.evidence.as_ref().map(|dir| EvidenceConfig {
            dir: Arc::new(dir.clone()),
            depth: to_usize(self.evidence_depth).max(1),
            memcap: to_usize(self.evidence_memcap),
        });
        c
    }

    /// The TLS keys these flags give, read (a file that cannot be read or does not parse
    /// is an error naming it, and the line for key logs). `live`: key logs are re-read as
    /// they grow.
    pub fn decryption(&self, live: bool) -> anyhow::Result<DecryptionConfig> {
        let keylog = if self.tls_keylog.is_empty() {
            None
        } else {
            let mut log = KeyLog::new();
            for path in &self.tls_keylog {
                log.add_file(path)
                    .with_context(|| format!("reading the TLS key log {}", path.display()))?;
            }
            Some(log)
        };
        let mut server_keys = Vec::new();
        for spec in &self.tls_key {
            server_keys.push(
                ServerKey::load(spec)
                    .with_context(|| format!("reading the TLS server key {spec}"))?,
            );
        }
        Ok(DecryptionConfig {
            keylog,
            server_keys: Arc::new(server_keys),
            live,
        })
    }

    /// The sensor settings these flags ask for: live capture or a replay (which names the
    /// capture file of each record).
    pub fn sensor_config(&self, live: bool) -> SensorConfig {
        SensorConfig {
            threads: self.threads(),
            pipeline: self.pipeline_config(),
            output: OutputOptions {
                log_http: self.log_http,
                log_tls: self.log_tls,
                payload: self.payload,
                pcap_filename: !live,
                redact: (!self.no_redact).then(|| Redactor::new(None)),
            },
            live,
            queue_batches: self
                .worker_queue
                .unwrap_or(if live {
                    exhound::sensor::LIVE_QUEUE_BATCHES
                } else {
                    exhound::sensor::REPLAY_QUEUE_BATCHES
                })
                .max(1),
        }
    }

    /// The redactor for the records (`None` with `--no-redact`): keyed with `--redact-key`,
    /// else with the length and the first 64 KiB of each capture file of a replay
    /// (`inputs`: the file header and the first packets, enough to tell captures apart,
    /// and cheap for a directory of thousands of files), else (live)
    /// with random bytes; with the length only when no key material can be had (standard
    /// input, or a named pipe such as `<(zcat x.pcap.gz)`: what is read from a pipe here is
    /// gone for the replay).
    pub fn redactor(&self, inputs: Option<&[PathBuf]>) -> anyhow::Result<Option<Redactor>> {
        use std::io::Read;
        if self.no_redact {
            return Ok(None);
        }
        if let Some(path) = &self.redact_key {
            let key = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("--redact-key {}: {e}", path.display()))?;
            if key.len() < 16 {
                anyhow::bail!(
                    "--redact-key {}: {} bytes; a key needs at least 16",
                    path.display(),
                    key.len()
                );
            }
            return Ok(Some(Redactor::new(Some(Redactor::derive_key(&key)))));
        }
        let mut material = Vec::new();
        match inputs {
            Some(files) => {
                if files
                    .iter()
                    .any(|f| f.as_os_str() == "-" || !exhound::capture::can_be_read_twice(f))
                {
                    return Ok(Some(Redactor::new(None)));
                }
                material.extend_from_slice(b"replay\0");
                for f in files {
                    let mut head = Vec::new();
                    let mut len = 0u64;
                    if let Ok(file) = std::fs::File::open(f) {
                        len = file.metadata().map(|m| m.len()).unwrap_or(0);
                        let _ = file.take(64 << 10).read_to_end(&mut head);
                    }
                    material.extend_from_slice(&len.to_le_bytes());
                    material.extend_from_slice(&(head.len() as u64).to_le_bytes());
                    material.extend_from_slice(&head);
                }
            }
            None => {
                let mut random = [0u8; 32];
                match std::fs::File::open("/dev/urandom")
                    .and_then(|mut f| f.read_exact(&mut random))
                {
                    Ok(()) => material.extend_from_slice(&random),
                    Err(_) => return Ok(Some(Redactor::new(None))),
                }
            }
        }
        Ok(Some(Redactor::new(Some(Redactor::derive_key(&material)))))
    }

    /// Worker threads: `--threads`, or one per CPU core.
    pub fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .max(1)
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Parses a byte size: a number with an optional `k`, `m` or `g` suffix (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let t = t
        .strip_suffix("ib")
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(&t);
    let (digits, shift) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 10),
        Some('m') => (&t[..t.len() - 1], 20),
        Some('g') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 4096, 64k, 1m, 2g)"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("3MiB"), Ok(3 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999g").is_err());
    }

    #[test]
    fn replay_flags_become_config() {
        let cli = Cli::try_parse_from([
            "exhound",
            "replay",
            "--stream-policy",
            "first",
            "--no-midstream",
            "--stream-depth",
            "0",
            "--request-body-limit",
            "4k",
            "x.pcap",
        ])
        .unwrap();
        let Command::Replay(a) = cli.command else {
            panic!("not replay")
        };
        let c = a.sensor.pipeline_config();
        assert_eq!(c.stream.policy, StreamPolicy::First);
        assert!(!c.stream.midstream);
        assert_eq!(c.stream.depth, 0);
        assert_eq!(c.http.request_body_limit, 4096);
        assert!(!a.sensor.log_http);
    }

    fn replay_args(args: &[&str]) -> Result<ReplayArgs, clap::Error> {
        let cli = Cli::try_parse_from(["exhound", "replay"].iter().chain(args))?;
        match cli.command {
            Command::Replay(a) => Ok(a),
            _ => panic!("not replay"),
        }
    }

    #[test]
    fn redaction_flags() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, key) = (
            dir.path().join("a.pcap"),
            dir.path().join("b.pcap"),
            dir.path().join("k"),
        );
        std::fs::write(&a, b"capture a").unwrap();
        std::fs::write(&b, b"capture b").unwrap();
        std::fs::write(&key, [1u8; 16]).unwrap();
        let (a, b, key) = (
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            key.to_str().unwrap(),
        );
        let on = replay_args(&[a]).unwrap().sensor;
        assert!(on.sensor_config(false).output.redact.is_some());
        let files = |p: &str| vec![PathBuf::from(p)];
        // Keyed with the captures: the same for the same files, another for others.
        let ka = on.redactor(Some(&files(a))).unwrap().unwrap();
        assert_eq!(ka, on.redactor(Some(&files(a))).unwrap().unwrap());
        assert_ne!(ka, on.redactor(Some(&files(b))).unwrap().unwrap());
        assert_ne!(ka.mask(b"x"), Redactor::new(None).mask(b"x"));
        // Standard input: the length only.
        assert_eq!(
            on.redactor(Some(&files("-"))).unwrap(),
            Some(Redactor::new(None))
        );
        // A key file: the same whatever the captures.
        let keyed = replay_args(&["--redact-key", key, a]).unwrap().sensor;
        assert_eq!(
            keyed.redactor(Some(&files(a))).unwrap(),
            keyed.redactor(Some(&files(b))).unwrap()
        );
        let off = replay_args(&["--no-redact", a]).unwrap().sensor;
        assert!(off.sensor_config(false).output.redact.is_none());
        assert!(off.redactor(Some(&files(a))).unwrap().is_none());
        assert!(replay_args(&["--no-redact", "--redact-key", key, a]).is_err());
        let missing = replay_args(&["--redact-key", "/nonexistent/k", a])
            .unwrap()
            .sensor;
        assert!(missing.redactor(None).is_err());
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["exhound", "replay", "a.pcap", "b.pcap"]).unwrap();
        let Command::Replay(a) = cli.command else {
            panic!("not replay")
        };
        let c = a.sensor.pipeline_config();
        assert_eq!(c.stream.policy, StreamPolicy::Windows);
        assert!(c.stream.midstream);
        assert_eq!(c.stream.depth, 1 << 20);
        assert_eq!(a.paths.len(), 2);
    }

    #[test]
    fn rule_flags() {
        let cli = Cli::try_parse_from([
            "exhound",
            "replay",
            "-S",
            "a.rules",
            "--rules",
            "dir",
            "--var",
            "HOME_NET=10.0.0.0/8",
            "--skip-invalid",
            "--payload",
            "--async-oneside",
            "--decompress-lzma",
            "x.pcap",
        ])
        .unwrap();
        let Command::Replay(a) = cli.command else {
            panic!("not replay")
        };
        assert_eq!(
            a.sensor.rules.rules,
            [PathBuf::from("a.rules"), PathBuf::from("dir")]
        );
        assert_eq!(a.sensor.rules.vars, ["HOME_NET=10.0.0.0/8"]);
        assert!(a.sensor.rules.skip_invalid && a.sensor.payload);
        assert!(a.sensor.pipeline_config().async_oneside);
        assert!(a.sensor.pipeline_config().http.decompress_lzma);
        let cli = Cli::try_parse_from(["exhound", "rules", "check", "-S", "x.rules"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Rules(RulesCommand::Check(_))
        ));
    }

    #[test]
    fn threads_and_stats() {
        let cli = Cli::try_parse_from(["exhound", "replay", "--threads", "3", "--log-stats", "x"])
            .unwrap();
        let Command::Replay(a) = cli.command else {
            panic!("not replay")
        };
        assert_eq!(a.sensor.threads(), 3);
        assert!(a.sensor.log_stats);
        assert_eq!(a.sensor.stats_interval, 8);
        let cli = Cli::try_parse_from(["exhound", "replay", "--threads", "0", "x"]).unwrap();
        let Command::Replay(a) = cli.command else {
            panic!("not replay")
        };
        assert_eq!(a.sensor.threads(), 1);
    }

    #[test]
    fn live_flags() {
        let cli = Cli::try_parse_from([
            "exhound",
            "live",
            "-i",
            "eth1",
            "-i",
            "eth2",
            "--no-promisc",
            "--buffer-size",
            "128m",
            "--user",
            "nobody",
            "--immediate",
        ])
        .unwrap();
        let Command::Live(a) = cli.command else {
            panic!("not live")
        };
        assert_eq!(a.interfaces, ["eth1", "eth2"]);
        assert!(!a.promiscuous() && a.immediate);
        assert_eq!(a.buffer_size, 128 << 20);
        assert_eq!(a.user.as_deref(), Some("nobody"));
        assert_eq!(a.snaplen, 262_144);
        let cli = Cli::try_parse_from(["exhound", "live", "-i", "eth1"]).unwrap();
        let Command::Live(a) = cli.command else {
            panic!("not live")
        };
        assert!(a.promiscuous());
        assert!(Cli::try_parse_from(["exhound", "live"]).is_err());
    }

    #[test]
    fn a_path_is_required() {
        assert!(Cli::try_parse_from(["exhound", "replay"]).is_err());
    }

    fn replay(args: &[&str]) -> Result<ReplayArgs, clap::Error> {
        let mut all = vec!["exhound", "replay"];
        all.extend_from_slice(args);
        all.push("x.pcap");
        Cli::try_parse_from(all).map(|cli| match cli.command {
            Command::Replay(a) => a,
            _ => panic!("not replay"),
        })
    }

    #[test]
    fn outputs_files_stdout_and_urls() {
        let a = replay(&[]).unwrap();
        assert_eq!(a.sensor.eve_sink().unwrap(), EveSink::Stdout);
        assert!(a.sensor.ship_targets().is_empty());
        let a = replay(&["-o", "eve.json"]).unwrap();
        assert_eq!(
            a.sensor.eve_sink().unwrap(),
            EveSink::File(Path::new("eve.json"))
        );
        let a = replay(&[
            "-o",
            "syslog+tcp://127.0.0.1:1514",
            "--output",
            "redis://r/eve",
        ])
        .unwrap();
        // Only receivers: nothing on standard output.
        assert_eq!(a.sensor.eve_sink().unwrap(), EveSink::None);
        let t = a.sensor.ship_targets();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].port, 1514);
        let a = replay(&["-o", "-", "-o", "syslog://h"]).unwrap();
        assert_eq!(a.sensor.eve_sink().unwrap(), EveSink::Stdout);
        assert_eq!(a.sensor.drain_timeout, 10);
        // A path that is not a URL stays a path.
        let a = replay(&["-o", "logs/a:b.json"]).unwrap();
        assert_eq!(
            a.sensor.eve_sink().unwrap(),
            EveSink::File(Path::new("logs/a:b.json"))
        );
        let a = replay(&["-o", "a.json", "-o", "b.json"]).unwrap();
        let e = a.sensor.eve_sink().unwrap_err().to_string();
        assert!(e.contains("at most one file"), "{e}");
    }

    #[test]
    fn a_bad_url_names_the_flag_and_the_fault() {
        let e = replay(&["-o", "syslog+tls://siem:6514"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--output"), "{e}");
        assert!(e.contains("needs ca=FILE"), "{e}");
        let e = replay(&["-o", "http://x"]).unwrap_err().to_string();
        assert!(
            e.contains("--output") && e.contains("unknown scheme `http`"),
            "{e}"
        );
    }
}
