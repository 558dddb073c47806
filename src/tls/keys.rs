//! The key material a worker decrypts TLS with: the key logs, the servers' RSA keys, and the
//! master secrets of sessions a resumed connection may come back to.
//!
//! Key logs and server keys are read once at start-up (a bad file is a start-up error naming
//! its line) and each worker gets its own copy of the key log, so looking a connection up
//! takes no lock. In live capture key-log lines are often written after the handshake they
//! belong to: a worker that misses re-reads what was appended to the files, at most every
//! [`REFRESH_EVERY`], and a connection waits (its records held, within a cap) until its
//! keys come or the connection ends. In a replay the files are complete from the start and
//! never re-read, so the output does not depend on timing.
//!
//! A resumed TLS ≤ 1.2 session (session ID or ticket) reuses the master secret of an earlier
//! connection. With a key log that does not matter (each connection has its own
//! `CLIENT_RANDOM` line); with only the server's RSA key the master secret is known only
//! from the full handshake, so it is remembered in a [`SessionCache`]. There is one cache per
//! flow shard, and with RSA keys flows are sharded by address pair, so that a client's
//! resumptions are seen, in capture order, by the shard that saw its full handshake whatever
//! the number of workers.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::decrypt::{KeyLog, ServerKey, SessionSecrets};

/// A worker re-reads the key logs at most this often when a connection misses its keys
/// (live capture only).
pub const REFRESH_EVERY: Duration = Duration::from_millis(20);

/// Session IDs and tickets remembered per shard (the oldest go first).
const SESSIONS_PER_SHARD: usize = 4096;

/// What decryption is given at start-up.
#[derive(Debug, Clone, Default)]
pub struct DecryptionConfig {
    /// The key logs, read (`None`: no key log was given).
    pub keylog: Option<KeyLog>,
    /// The servers' RSA private keys.
    pub server_keys: Arc<Vec<ServerKey>>,
    /// Live capture: key logs are re-read when a connection misses its keys, and its
    /// records wait for them.
    pub live: bool,
}

impl DecryptionConfig {
    /// Whether a key log or a server key was given: without either nothing is decrypted.
    pub fn enabled(&self) -> bool {
        self.keylog.is_some() || !self.server_keys.is_empty()
    }
}

/// One worker's keys.
#[derive(Debug)]
pub struct TlsKeys {
    keylog: KeyLog,
    server_keys: Arc<Vec<ServerKey>>,
    live: bool,
    last_refresh: Option<Instant>,
}

impl TlsKeys {
    /// A worker's copy of the configured keys.
    pub fn new(config: &DecryptionConfig) -> TlsKeys {
        TlsKeys {
            keylog: config.keylog.clone().unwrap_or_default(),
            server_keys: Arc::clone(&config.server_keys),
            // Only a key log can bring a key later: with server keys alone, a connection
            // they do not open is without key at once (and holds nothing).
            live: config.live && config.keylog.is_some(),
            last_refresh: None,
        }
    }

    /// The key-log secrets of the connection whose ClientHello.random is `random`.
    pub fn secrets(&self, random: &[u8; 32]) -> Option<&SessionSecrets> {
        self.keylog.get(random)
    }

    /// The server keys that apply to a server at `ip`:`port`.
    pub fn server_keys_for(
        &self,
        ip: std::net::IpAddr,
        port: u16,
    ) -> impl Iterator<Item = &ServerKey> {
        self.server_keys
            .iter()
            .filter(move |k| k.server().is_none_or(|a| a.ip() == ip && a.port() == port))
    }

    /// Whether RSA server keys were given (handshake transcripts are then kept, for the
    /// extended master secret).
    pub fn has_server_keys(&self) -> bool {
        !self.server_keys.is_empty()
    }

    /// Live capture with a key log: connections without keys wait for them.
    pub fn live(&self) -> bool {
        self.live
    }

    /// Live capture: reads lines appended to the key logs, unless that was done less than
    /// [`REFRESH_EVERY`] ago. Returns whether new secrets came.
    pub fn refresh(&mut self) -> bool {
        if !self.live {
            return false;
        }
        let now = Instant::now();
        if self
            .last_refresh
            .is_some_and(|t| now.duration_since(t) < REFRESH_EVERY)
        {
            return false;
        }
        self.last_refresh = Some(now);
        self.keylog.refresh() > 0
    }

    /// Key-log lines skipped because they did not parse (live re-reads).
    pub fn malformed_lines(&self) -> u64 {
        self.keylog.malformed_lines()
    }
}

/// Master secrets of TLS ≤ 1.2 sessions learnt from RSA key exchanges, by session ID and by
/// ticket, bounded (first in, first out).
#[derive(Debug, Default)]
pub struct SessionCache {
    by_id: HashMap<Vec<u8>, [u8; 48]>,
    by_ticket: HashMap<Vec<u8>, [u8; 48]>,
    order: VecDeque<(bool, Vec<u8>)>,
}

impl SessionCache {
    /// Remembers the master secret of session `id` (if not empty).
    pub fn insert_id(&mut self, id: &[u8], master: [u8; 48]) {
        if !id.is_empty() {
            self.insert(false, id, master);
        }
    }

    /// Remembers the master secret of a session ticket.
    pub fn insert_ticket(&mut self, ticket: &[u8], master: [u8; 48]) {
        if !ticket.is_empty() {
            self.insert(true, ticket, master);
        }
    }

    fn insert(&mut self, ticket: bool, key: &[u8], master: [u8; 48]) {
        let map = if ticket {
            &mut self.by_ticket
        } else {
            &mut self.by_id
        };
        if map.insert(key.to_vec(), master).is_none() {
            self.order.push_back((ticket, key.to_vec()));
        }
        while self.order.len() > SESSIONS_PER_SHARD {
            let Some((t, k)) = self.order.pop_front() else {
                break;
            };
            if t {
                self.by_ticket.remove(&k);
            } else {
                self.by_id.remove(&k);
            }
        }
    }

    /// The master secret of session `id`.
    pub fn by_id(&self, id: &[u8]) -> Option<[u8; 48]> {
        self.by_id.get(id).copied()
    }

    /// The master secret a ticket resumes.
    pub fn by_ticket(&self, ticket: &[u8]) -> Option<[u8; 48]> {
        self.by_ticket.get(ticket).copied()
    }

    /// Heap bytes held (roughly: keys and secrets).
    pub fn heap_bytes(&self) -> usize {
        self.order.iter().map(|(_, k)| 2 * k.len() + 48 + 64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_key_log_makes_live_connections_wait_for_keys() {
        let mut config = DecryptionConfig {
            live: true,
            ..DecryptionConfig::default()
        };
        assert!(
            !TlsKeys::new(&config).live(),
            "server keys alone bring nothing later"
        );
        config.keylog = Some(KeyLog::new());
        assert!(TlsKeys::new(&config).live());
        config.live = false;
        assert!(
            !TlsKeys::new(&config).live(),
            "a replay's key logs are read once"
        );
    }

    #[test]
    fn the_cache_forgets_the_oldest_sessions_first() {
        let mut c = SessionCache::default();
        for i in 0..SESSIONS_PER_SHARD + 2 {
            c.insert_id(&(i as u32).to_be_bytes(), [i as u8; 48]);
        }
        assert_eq!(c.by_id(&0u32.to_be_bytes()), None);
        assert_eq!(c.by_id(&1u32.to_be_bytes()), None);
        assert_eq!(c.by_id(&2u32.to_be_bytes()), Some([2; 48]));
        c.insert_ticket(b"ticket", [9; 48]);
        assert_eq!(c.by_ticket(b"ticket"), Some([9; 48]));
        assert_eq!(c.by_id(b"ticket"), None);
        c.insert_id(b"", [1; 48]);
        assert_eq!(c.by_id(b""), None, "an empty session ID is no session");
    }
}
