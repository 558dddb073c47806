//! `exhound live`: network interfaces → sensor → EVE JSON, until a signal stops it.
//!
//! This thread is the capture thread. It polls the interfaces' descriptors (with a timeout,
//! so that a stop is noticed at once even on an idle link), reads what is waiting, and hands
//! packets to the sensor, which never makes it wait: a worker whose queue is full loses the
//! packets (counted per worker). With several interfaces (the two ports of a passive tap)
//! the packets of all of them are merged in timestamp order into one view of the traffic.
//!
//! Around that loop: the interfaces and the output are opened first, then root is dropped
//! (`--user`, `--group`); EVE `stats` records every `--stats-interval` seconds; SIGHUP
//! reopens the output; SIGUSR2 reloads the rules on a thread of its own and swaps them in
//! between two packets, keeping the old ones if the new ones do not load; SIGINT or SIGTERM
//! ends the capture, and what was captured is inspected and written before the summary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use crossbeam_channel::{Receiver, TryRecvError};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use exhound::capture::live::{LiveConfig, LiveInterface};
use exhound::detect::RuleSet;
use exhound::sensor::{KernelCounters, Sensor, StatsMoment};
use exhound::time::Timestamp;

use super::args::{LiveArgs, RuleSource};
use super::output::EveOutput;
use super::signals::Signals;
use super::summary::{self, RunFacts};
use super::{EXIT_BAD_INPUT, EXIT_OK};

/// How long the loop waits for packets before it looks at the clock and the signals.
const POLL: Duration = Duration::from_millis(100);
/// With several interfaces, a packet waits at most this long for an older one to turn up
/// on another interface (packets come off each interface's ring in blocks).
const HOLD: Duration = Duration::from_millis(50);
/// Packets read in a row before looking at the clock and the signals.
const BURST: usize = 4096;

/// Runs the live capture and returns the exit status.
pub fn run(args: &LiveArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let s = &args.sensor;
    let signals = Signals::install().context("installing signal handlers")?;
    let rules = super::rules::for_sensor(&s.rules)?;
    // Read the key file while the process may still read what root can.
    let redact = s.redactor(None)?;
    let mut output = EveOutput::open(s.eve_sink()?, true)?;
    output.ship_to(s.ship_targets())?;
    output.reopen_on(Arc::clone(&signals.reopen));
    output.flush_every(Duration::from_secs(1));
    let config = LiveConfig {
        snaplen: args.snaplen,
        promisc: args.promiscuous(),
        buffer_size: i32::try_from(args.buffer_size).unwrap_or(i32::MAX),
        immediate: args.immediate,
        bpf: args.bpf.clone(),
    };
    let mut interfaces = Vec::new();
    for name in &args.interfaces {
        interfaces.push(LiveInterface::open(name, &config)?);
    }
    let pidfile = args.pidfile.as_deref().map(Pidfile::create).transpose()?;
    // Key files are often readable by root only: read before privileges go.
    let decryption = s.decryption(true)?;
    super::privileges::drop_to(args.user.as_deref(), args.group.as_deref())
        .context("dropping privileges")?;
    let mut config = s.sensor_config(true);
    config.output.redact = redact;
    config.pipeline.tls.decryption = decryption;
    let threads = config.threads;
    let mut sensor = Sensor::start(config, Some(rules), output)?;
    if !s.quiet {
        eprintln!(
            "exhound: capturing on {} with {threads} worker threads",
            args.interfaces.join(", ")
        );
    }
    let stats_every = (s.stats_interval > 0).then(|| Duration::from_secs(s.stats_interval));
    let mut capture = Capture::new(interfaces);
    let mut reload: Option<Receiver<anyhow::Result<RuleSet>>> = None;
    let mut next_stats = stats_every.map(|every| Instant::now() + every);
    while !signals.stopping() && !sensor.stopped() && !capture.is_empty() {
        capture.step(&mut sensor);
        if signals.take_reload() && reload.is_none() {
            reload = Some(load_in_background(s.rules.clone()));
        }
        if let Some(rx) = &reload {
            match rx.try_recv() {
                Ok(Ok(set)) => {
                    eprintln!("exhound: rules reloaded: {} rules", set.len());
                    sensor.reload(Arc::new(set));
                    reload = None;
                }
                Ok(Err(e)) => {
                    eprintln!("exhound: rules not reloaded, the old ones stay: {e:#}");
                    reload = None;
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => reload = None,
            }
        }
        if let (Some(every), Some(at)) = (stats_every, next_stats) {
            if Instant::now() >= at {
                sensor.stats_mark(StatsMoment {
                    time: wall_clock(),
                    uptime_secs: started.elapsed().as_secs(),
                    kernel: Some(capture.kernel_counters()),
                });
                next_stats = Some(at + every);
            }
        }
    }
    let capture_failed = capture.is_empty();
    let moment = StatsMoment {
        time: wall_clock(),
        uptime_secs: started.elapsed().as_secs(),
        kernel: Some(capture.kernel_counters()),
    };
    let report = sensor.finish(stats_every.is_some(), Some(moment))?;
    let (mut out, stats) = EveOutput::closed(report)?;
    // The receivers get a bounded time to take what their queues still hold.
    let shipped = out.close_shipping(Duration::from_secs(s.drain_timeout));
    super::output::report_shipping(&shipped, s.quiet);
    drop(pidfile);
    if !s.quiet {
        let run = RunFacts {
            command: "live",
            files: None,
            threads,
            secs: started.elapsed().as_secs_f64(),
            interrupted: false,
        };
        summary::print_counters(&stats, &run);
        summary::print_alerts(&out.tally);
    }
    Ok(ExitCode::from(if capture_failed {
        EXIT_BAD_INPUT
    } else {
        EXIT_OK
    }))
}

/// Loads the rules on a thread of its own; the result arrives on the returned channel.
fn load_in_background(src: RuleSource) -> Receiver<anyhow::Result<RuleSet>> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = tx.send(super::rules::load_checked(&src));
    });
    rx
}

/// Now, as packet time.
fn wall_clock() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_nanos(),
    )
}

/// A packet copied off an interface, waiting for its turn in timestamp order.
struct Waiting {
    ts: Timestamp,
    link_type: i32,
    wire_len: u32,
    data: Vec<u8>,
    filled: bool,
}

/// The interfaces being read, and the packets waiting to be merged.
struct Capture {
    interfaces: Vec<LiveInterface>,
    waiting: Vec<Waiting>,
    pcap_cnt: u64,
    /// libpcap's counters of interfaces that went away.
    lost: KernelCounters,
}

impl Capture {
    fn new(interfaces: Vec<LiveInterface>) -> Capture {
        let waiting = interfaces
            .iter()
            .map(|_| Waiting {
                ts: Timestamp::default(),
                link_type: 0,
                wire_len: 0,
                data: Vec::new(),
                filled: false,
            })
            .collect();
        Capture {
            interfaces,
            waiting,
            pcap_cnt: 0,
            lost: KernelCounters::default(),
        }
    }

    fn is_empty(&self) -> bool {
        self.interfaces.is_empty()
    }

    /// libpcap's counters, summed over the interfaces.
    fn kernel_counters(&mut self) -> KernelCounters {
        let mut k = self.lost;
        for i in &mut self.interfaces {
            let c = i.counters();
            k.packets += c.received;
            k.drops += c.dropped;
            k.ifdrops += c.if_dropped;
        }
        k
    }

    /// Reads and hands on what is waiting; when nothing is, waits up to [`POLL`] and, if
    /// still nothing came, moves the sensor's time on.
    fn step(&mut self, sensor: &mut Sensor<EveOutput>) {
        let handed = if self.interfaces.len() == 1 {
            self.read_single(sensor)
        } else {
            self.read_merged(sensor)
        };
        if handed > 0 {
            return;
        }
        let pending = self.waiting.iter().any(|w| w.filled);
        let wait = if pending { HOLD / 5 } else { POLL };
        let ready = {
            let mut fds: Vec<PollFd<'_>> = self
                .interfaces
                .iter()
                .map(|i| PollFd::new(i.fd(), PollFlags::POLLIN))
                .collect();
            let timeout =
                PollTimeout::try_from(wait.as_millis() as i32).unwrap_or(PollTimeout::NONE);
            // EINTR (a signal) counts as "nothing yet": the caller looks at the flags.
            poll(&mut fds, timeout).unwrap_or(0)
        };
        if ready == 0 && !pending {
            sensor.idle(wall_clock());
        }
    }

    /// One interface: packets go straight from libpcap's buffer to the sensor.
    fn read_single(&mut self, sensor: &mut Sensor<EveOutput>) -> usize {
        let mut n = 0;
        while n < BURST {
            let Some(iface) = self.interfaces.first_mut() else {
                return n;
            };
            match iface.next_packet() {
                Ok(Some(p)) => {
                    self.pcap_cnt += 1;
                    sensor.packet(&p, self.pcap_cnt);
                    n += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    eprintln!("exhound: {e}");
                    self.remove(0);
                }
            }
        }
        n
    }

    /// Several interfaces: one packet of each waits in a copy; the oldest goes on once every
    /// interface has one waiting, or once it has waited [`HOLD`].
    fn read_merged(&mut self, sensor: &mut Sensor<EveOutput>) -> usize {
        let mut n = 0;
        while n < BURST {
            self.fill();
            let oldest = (0..self.waiting.len())
                .filter(|&i| self.waiting[i].filled)
                .min_by_key(|&i| (self.waiting[i].ts, i));
            let Some(i) = oldest else {
                break;
            };
            let all = self.waiting.iter().all(|w| w.filled);
            let age = wall_clock().nanos_since(self.waiting[i].ts);
            if !all && age < HOLD.as_nanos() as u64 {
                break;
            }
            let w = &mut self.waiting[i];
            w.filled = false;
            self.pcap_cnt += 1;
            let packet = exhound::capture::RawPacket {
                ts: w.ts,
                link_type: w.link_type,
                data: &w.data,
                wire_len: w.wire_len,
                number: self.pcap_cnt,
            };
            sensor.packet(&packet, self.pcap_cnt);
            n += 1;
        }
        n
    }

    /// Copies the next packet of every interface that has none waiting.
    fn fill(&mut self) {
        let mut i = 0;
        while i < self.interfaces.len() {
            if !self.waiting[i].filled {
                match self.interfaces[i].next_packet() {
                    Ok(Some(p)) => {
                        let w = &mut self.waiting[i];
                        w.ts = p.ts;
                        w.link_type = p.link_type;
                        w.wire_len = p.wire_len;
                        w.data.clear();
                        w.data.extend_from_slice(p.data);
                        w.filled = true;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        eprintln!("exhound: {e}");
                        self.remove(i);
                        continue;
                    }
                }
            }
            i += 1;
        }
    }

    fn remove(&mut self, i: usize) {
        let mut gone = self.interfaces.remove(i);
        let c = gone.counters();
        self.lost.packets += c.received;
        self.lost.drops += c.dropped;
        self.lost.ifdrops += c.if_dropped;
        self.waiting.remove(i);
    }
}

/// A pid file, removed when dropped.
struct Pidfile(PathBuf);

impl Pidfile {
    fn create(path: &Path) -> anyhow::Result<Pidfile> {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing the pid file {}", path.display()))?;
        Ok(Pidfile(path.to_path_buf()))
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
