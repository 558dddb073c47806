//! The capture `exhound synth` writes: benign connections from a pool of clients (see
//! [`mix`](super::mix)) to four Exchange front ends, with attack connections (every attack
//! form of [`scenarios`](super::scenarios), in turn) at the asked rate, until the file reaches
//! the asked size; and the manifest of what was written, so that a test or a benchmark knows
//! exactly which alerts to expect.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::answer::write_answer;
use super::body::Corpora;
use super::merge::Merge;
use super::mix::{
    client_pool, connection, server_mac, ConnKind, GATEWAY_MAC, SERVERS, SERVER_NAMES,
};
use super::pcap::PcapWriter;
use super::rng::{derive, Rng};
use super::scenarios::{scenarios, Kind, Scenario, Transport};
use super::tcp::{build_flow, Endpoints, Impairments, Request};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Target file size in bytes; the capture ends with the first connection that reaches
    /// it, so it is a little larger.
    pub size: u64,
    /// Attack connections per billion connections (0 to 1,000,000,000).
    pub attacks_per_billion: u64,
    /// Seed of everything random.
    pub seed: u64,
}

impl Config {
    /// Refuses a size too small for one connection and a rate above one.
    pub fn check(&self) -> Result<(), SynthError> {
        if self.size < MIN_SIZE {
            return Err(SynthError::TooSmall(self.size));
        }
        if self.attacks_per_billion > 1_000_000_000 {
            return Err(SynthError::RateAboveOne(self.attacks_per_billion));
        }
        Ok(())
    }
}

/// One attack connection of the capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackFlow {
    /// The scenario's name (`pl-...`, `ps-...`, `ws-...`).
    pub form: &'static str,
    /// Attacker address and port.
    pub client: ([u8; 4], u16),
    /// Front end address and port.
    pub server: ([u8; 4], u16),
    /// Every sid the bundled signatures must raise on it.
    pub expect_sids: Vec<u32>,
    /// Its HTTP requests.
    pub transactions: u32,
}

/// What a capture holds.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// TCP connections.
    pub flows: u64,
    /// HTTP requests.
    pub transactions: u64,
    /// Packets.
    pub packets: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// Packet time from the first packet to the last, µs.
    pub span_us: u64,
    /// Most connections open at once.
    pub max_open: u64,
    /// Benign connections by kind.
    pub benign: BTreeMap<ConnKind, u64>,
    /// Capture bytes of the benign connections by kind (record headers and frames).
    pub benign_bytes: BTreeMap<ConnKind, u64>,
    /// The attack connections, in start order.
    pub attacks: Vec<AttackFlow>,
}

impl Manifest {
    /// Attack connections by form.
    pub fn attacks_by_form(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for a in &self.attacks {
            *out.entry(a.form).or_insert(0) += 1;
        }
        out
    }
}

/// Why a capture could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The output failed.
    #[error("writing the capture: {0}")]
    Write(#[from] io::Error),
    /// The size is below what one connection needs.
    #[error("size {0} bytes is too small (at least {MIN_SIZE})")]
    TooSmall(u64),
    /// The rate is above one.
    #[error("attack rate {0} per billion is above one")]
    RateAboveOne(u64),
}

/// Smallest size accepted.
pub const MIN_SIZE: u64 = 4_096;
/// Mean gap between two connection starts, µs.
const MEAN_ARRIVAL_US: u64 = 1_500;
const CLIENT_POOL: usize = 4_096;
/// Answer segments lost (then retransmitted) and swapped, per million.
const IMPAIRMENTS: Impairments = Impairments {
    loss_per_million: 2_000,
    swap_per_million: 2_000,
    windows: true,
};

/// The attack forms mixed in: every attack scenario, as sent without TCP/IP evasion (the
/// evasion variants carry the same HTTP).
pub fn attack_forms() -> Vec<Scenario> {
    scenarios()
        .into_iter()
        .filter(|s| s.kind == Kind::Attack && s.transport == Transport::Plain)
        .collect()
}

/// Writes a capture to `out`; returns what it holds, and `out` (to flush or sync).
pub fn generate<W: Write>(config: &Config, out: W) -> Result<(Manifest, W), SynthError> {
    config.check()?;
    let mut w = PcapWriter::new(out)?;
    let corpora = Corpora::new(config.seed);
    let forms = attack_forms();
    let mut sched = Rng::new(derive(config.seed, 2));
    let mut clients = client_pool(&mut sched, CLIENT_POOL);
    let mut attack_phase = Rng::new(derive(config.seed, 3)).below(1_000_000_000);
    let first_form = Rng::new(derive(config.seed, 4)).below(forms.len() as u64) as usize;
    let mut attacker_port: u16 = 40_000;

    let mut manifest = Manifest::default();
    let mut merge = Merge::new();
    let mut projected = w.bytes;
    let mut next_start = 0u64;
    let mut index = 0u64;
    let mut scratch = Vec::new();
    loop {
        let start_due = projected < config.size;
        if merge
            .next_ts()
            .is_some_and(|ts| !start_due || ts <= next_start)
        {
            merge.write_next(&mut w)?;
            continue;
        }
        if !start_due {
            break;
        }

        // Open connection `index` at `next_start`.
        let mut rng = Rng::new(derive(config.seed, 1_000 + index));
        let server = sched.below(SERVERS.len() as u64) as usize;
        attack_phase += config.attacks_per_billion;
        let is_attack = attack_phase >= 1_000_000_000;
        let flow = if is_attack {
            attack_phase -= 1_000_000_000;
            let n = manifest.attacks.len();
            let form = &forms[(first_form + n) % forms.len()];
            attacker_port = if attacker_port >= 60_000 {
                40_000
            } else {
                attacker_port + 7
            };
            let client = [203, 0, 113, 10 + (n % 40) as u8];
            let ends = endpoints(client, attacker_port, server, form.server_port);
            let requests: Vec<Request> = form
                .exchanges
                .iter()
                .map(|e| Request {
                    bytes: e.request.clone(),
                    split: 0,
                    server_us: rng.range(2_000, 40_000),
                })
                .collect();
            let flow = build_flow(
                &mut rng,
                next_start,
                ends,
                &requests,
                IMPAIRMENTS,
                |_, i, _, down| {
                    if let Some(r) = &form.exchanges[i].response {
                        down.extend_from_slice(r);
                    }
                },
            );
            manifest.attacks.push(AttackFlow {
                form: form.name,
                client: (client, attacker_port),
                server: (SERVERS[server], form.server_port),
                expect_sids: form.expect_sids.clone(),
                transactions: flow.requests,
            });
            flow
        } else {
            let c = &mut clients[sched.below(CLIENT_POOL as u64) as usize];
            let port = c.open_port(&mut sched);
            let budget = config.size.saturating_sub(projected);
            let max_body = usize::try_from(budget * 9 / 10).unwrap_or(usize::MAX);
            let mut conn = connection(&mut rng, c, max_body);
            // Near the end, drop the requests that would carry the capture past its size.
            let mut total = 0u64;
            let keep = conn
                .requests
                .iter()
                .zip(&conn.answers)
                .take_while(|(req, answer)| {
                    total += (req.bytes.len() + answer.body_len + answer.prefix.len()) as u64;
                    total <= budget
                })
                .count()
                .max(1);
            conn.requests.truncate(keep);
            conn.answers.truncate(keep);
            *manifest.benign.entry(conn.kind).or_insert(0) += 1;
            let ends = endpoints(c.addr, port, server, conn.server_port);
            let flow = build_flow(
                &mut rng,
                next_start,
                ends,
                &conn.requests,
                IMPAIRMENTS,
                |rng, i, at, down| {
                    let name = SERVER_NAMES[server];
                    write_answer(
                        down,
                        rng,
                        &corpora,
                        &conn.answers[i],
                        name,
                        at,
                        &mut scratch,
                    );
                },
            );
            *manifest.benign_bytes.entry(conn.kind).or_insert(0) += flow.capture_bytes();
            flow
        };
        manifest.flows += 1;
        manifest.transactions += u64::from(flow.requests);
        projected += flow.capture_bytes();
        merge.add(index, flow);
        manifest.max_open = manifest.max_open.max(merge.open() as u64);
        index += 1;
        next_start += sched.range(200, 2 * MEAN_ARRIVAL_US - 200);
    }
    manifest.packets = w.packets;
    manifest.bytes = w.bytes;
    manifest.span_us = w.span_us();
    Ok((manifest, w.into_inner()))
}

fn endpoints(client: [u8; 4], client_port: u16, server: usize, server_port: u16) -> Endpoints {
    Endpoints {
        client_mac: GATEWAY_MAC,
        server_mac: server_mac(server),
        client,
        server: SERVERS[server],
        client_port,
        server_port,
    }
}

/// Every benign connection kind (those absent as zero) with its connections and bytes.
pub fn benign_counts(manifest: &Manifest) -> Vec<(ConnKind, u64, u64)> {
    ConnKind::ALL
        .iter()
        .map(|k| {
            let count = manifest.benign.get(k).copied().unwrap_or(0);
            let bytes = manifest.benign_bytes.get(k).copied().unwrap_or(0);
            (*k, count, bytes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(size: u64, per_billion: u64, seed: u64) -> (Manifest, Vec<u8>) {
        let config = Config {
            size,
            attacks_per_billion: per_billion,
            seed,
        };
        generate(&config, Vec::new()).unwrap()
    }

    #[test]
    fn deterministic_and_near_the_size() {
        let (m1, a) = run(600_000, 50_000_000, 3);
        let (m2, b) = run(600_000, 50_000_000, 3);
        let (_, c) = run(600_000, 50_000_000, 4);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(m1.bytes, a.len() as u64);
        assert_eq!(m1.attacks, m2.attacks);
        assert!(
            a.len() as u64 >= 600_000 && (a.len() as u64) < 600_000 * 105 / 100,
            "{}",
            a.len()
        );
        // 5% of the flows attack, exactly up to rounding.
        let expect = m1.flows * 5 / 100;
        assert!(
            (m1.attacks.len() as u64).abs_diff(expect) <= 1,
            "{} of {}",
            m1.attacks.len(),
            m1.flows
        );
    }

    #[test]
    fn every_form_comes_in_turn() {
        let forms = attack_forms();
        assert!(forms.len() > 30, "{}", forms.len());
        let (m, _) = run(3_000_000, 1_000_000_000, 5);
        let by_form = m.attacks_by_form();
        assert_eq!(m.flows, m.attacks.len() as u64);
        assert!(m.attacks.len() >= forms.len());
        assert_eq!(by_form.len(), forms.len());
    }

    #[test]
    fn bad_configs_are_refused() {
        let too_small = Config {
            size: 100,
            attacks_per_billion: 0,
            seed: 1,
        };
        assert!(matches!(
            generate(&too_small, Vec::new()),
            Err(SynthError::TooSmall(100))
        ));
        let too_many = Config {
            size: 1 << 20,
            attacks_per_billion: 2_000_000_000,
            seed: 1,
        };
        assert!(matches!(
            generate(&too_many, Vec::new()),
            Err(SynthError::RateAboveOne(_))
        ));
    }
}
