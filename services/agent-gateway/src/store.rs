//! The gateway's own Redis keys, through a connection it opens from `redis.url`.
//!
//! Every key starts with `redis.key_prefix`; keys of one business share the hash tag
//! `{<business>}` so the append script touches one cluster slot:
//!
//! - `agent-gw:{<business>}:events:<agent>`: the agent's durable event log, a Redis stream
//!   of encoded `AgentEvent`s (field `e`), entry id `<cursor>-0`, capped (`MAXLEN ~`). Every
//!   replica's `Connect` for that agent tails it, which is what makes reconnect-without-loss
//!   and several replicas work.
//! - `agent-gw:{<business>}:cursor:<agent>`: the agent's last cursor (`INCR`).
//! - `agent-gw:{<business>}:seen:<event id>`: the cursor an `AgentTask` got (redelivery dedup).
//! - `agent-gw:{<business>}:ref:<ref>` → opaque id, and `agent-gw:{<business>}:refof:<opaque>`
//!   → ref: the conversation references agents see (random, 128 bits); a reference only
//!   resolves under its own business.
//! - `agent-gw:{<business>}:cmd:<outbound event id>` → the command id of an agent's reply,
//!   so its delivery result names the command.
//! - `agent-gw:{<business>}:waiting`: a hash, opaque id → `<queue>\n<since ms>\n<skills,…>`,
//!   of the conversations routing queued and no agent took yet (kept from
//!   `amb.events.conversation`; the pool says whether and where each still waits).
//! - `agent-gw:{<business>}:offered:<agent>:<ref>`: the conversation was offered to the
//!   agent (within the retention), so the agent may still read its transcript after it left.
//! - `agent-gw:session:<sha256 of the session token>` → `<business>\n<agent>\n<generation>`,
//!   with the session's expiry; signing out deletes it.
//! - `agent-gw:{<business>}:generation:<agent>`: the agent's session generation (`INCR`);
//!   revoking all of an agent's sessions raises it, and a session of an older generation is
//!   no longer accepted. Sessions are in Redis (not in memory) so any replica accepts a session
//!   another replica issued; only the token's hash is stored.
//!
//! [`GatewayStore::in_memory`] keeps the same records in the process, for one gateway over
//! the embedded bus and store (`parley up` without Redis); they end with the process.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use parley_types::ConversationKey;
use rand::Rng as _;
use redis::{AsyncCommands as _, aio::ConnectionManager, streams::StreamReadReply};
use sha2::{Digest as _, Sha256};

/// A Redis failure, as text.
pub type Result<T> = std::result::Result<T, String>;

/// A conversation recorded as waiting for an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The customer's opaque id (never shown to agents).
    pub opaque: String,
    /// The queue.
    pub queue: String,
    /// Since when (ms since the epoch).
    pub since_ms: u64,
    /// The skills it asks for.
    pub skills: Vec<String>,
    /// Its queue's response target in seconds (0: none, or recorded before it was kept).
    pub response_target_seconds: u64,
}

const APPEND: &str = r"
local prior = redis.call('GET', KEYS[3])
if prior then return tonumber(prior) end
local n = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], n .. '-0', 'e', ARGV[1])
redis.call('SET', KEYS[3], n, 'EX', ARGV[3])
return n
";

/// The gateway's keys.
#[derive(Clone)]
pub struct GatewayStore {
    backend: Backend,
    prefix: String,
    /// Entries kept per agent stream (approximately).
    pub stream_cap: usize,
    /// How long references and dedup marks live.
    pub retention: Duration,
}

#[derive(Clone)]
enum Backend {
    Redis {
        conn: ConnectionManager,
        append: redis::Script,
    },
    Memory(Arc<Mutex<Memory>>),
}

/// The in-process records (values keyed like the Redis keys, without the prefix).
#[derive(Default)]
struct Memory {
    /// Values with their expiry.
    values: HashMap<String, (String, Instant)>,
    /// Per agent log key: (cursor, encoded event), oldest first.
    logs: HashMap<String, Vec<(u64, Vec<u8>)>>,
}

impl Memory {
    fn get(&mut self, key: &str) -> Option<String> {
        match self.values.get(key) {
            Some((value, expires)) if *expires > Instant::now() => Some(value.clone()),
            Some(_) => {
                self.values.remove(key);
                None
            }
            None => None,
        }
    }

    fn set(&mut self, key: String, value: String, ttl: Duration) {
        self.values.insert(key, (value, Instant::now() + ttl));
    }
}

fn redis_err(op: &'static str) -> impl Fn(redis::RedisError) -> String {
    move |e| format!("redis {op}: {e}")
}

/// Whether `r` looks like a reference the gateway issued (32 lowercase hex digits).
fn valid_ref(r: &str) -> bool {
    r.len() == 32
        && r.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl GatewayStore {
    /// Connects to `url`.
    pub async fn connect(url: &str, prefix: &str, retention: Duration) -> Result<Self> {
        let client = redis::Client::open(url).map_err(redis_err("open"))?;
        let conn = client
            .get_connection_manager()
            .await
            .map_err(redis_err("connect"))?;
        Ok(Self {
            backend: Backend::Redis {
                conn,
                append: redis::Script::new(APPEND),
            },
            prefix: prefix.to_owned(),
            stream_cap: 10_000,
            retention,
        })
    }

    /// The same records in this process only (one gateway over the embedded backends).
    pub fn in_memory(retention: Duration) -> Self {
        Self {
            backend: Backend::Memory(Arc::default()),
            prefix: String::new(),
            stream_cap: 10_000,
            retention,
        }
    }

    fn memory(&self) -> Option<std::sync::MutexGuard<'_, Memory>> {
        match &self.backend {
            // A panic while holding the lock leaves plain maps; keep using them.
            Backend::Memory(memory) => Some(memory.lock().unwrap_or_else(|p| p.into_inner())),
            Backend::Redis { .. } => None,
        }
    }

    fn conn(&self) -> Result<ConnectionManager> {
        match &self.backend {
            Backend::Redis { conn, .. } => Ok(conn.clone()),
            Backend::Memory(_) => Err("no Redis connection".to_owned()),
        }
    }

    fn session_key(&self, session: &str) -> String {
        format!(
            "{}agent-gw:session:{}",
            self.prefix,
            hex::encode(Sha256::digest(session.as_bytes()))
        )
    }

    fn key(&self, business: &str, rest: &str) -> String {
        format!("{}agent-gw:{{{business}}}:{rest}", self.prefix)
    }

    fn secs(&self) -> u64 {
        self.retention.as_secs().max(1)
    }

    /// Stores a session of the agent's current generation for `ttl`.
    pub async fn put_session(
        &self,
        session: &str,
        business: &str,
        agent: &str,
        ttl: Duration,
    ) -> Result<()> {
        let generation = self.generation(business, agent).await?;
        let key = self.session_key(session);
        let value = format!("{business}\n{agent}\n{generation}");
        if let Some(mut memory) = self.memory() {
            memory.set(key, value, ttl);
            return Ok(());
        }
        let mut conn = self.conn()?;
        let _: () = conn
            .set_ex(key, value, ttl.as_secs().max(1))
            .await
            .map_err(redis_err("SET session"))?;
        Ok(())
    }

    /// Ends one session (signing out).
    pub async fn delete_session(&self, session: &str) -> Result<()> {
        let key = self.session_key(session);
        if let Some(mut memory) = self.memory() {
            memory.values.remove(&key);
            return Ok(());
        }
        let _: () = self
            .conn()?
            .del(key)
            .await
            .map_err(redis_err("DEL session"))?;
        Ok(())
    }

    /// The agent's session generation (0 before any revocation).
    async fn generation(&self, business: &str, agent: &str) -> Result<u64> {
        let key = self.key(business, &format!("generation:{agent}"));
        let value: Option<String> = match self.memory().map(|mut memory| memory.get(&key)) {
            Some(value) => value,
            None => self
                .conn()?
                .get(key)
                .await
                .map_err(redis_err("GET generation"))?,
        };
        Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Ends every session of the agent, on every replica: its generation goes up.
    pub async fn revoke_sessions(&self, business: &str, agent: &str) -> Result<()> {
        let key = self.key(business, &format!("generation:{agent}"));
        if let Some(mut memory) = self.memory() {
            let next = memory
                .get(&key)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                + 1;
            memory.set(key, next.to_string(), Duration::from_secs(u64::MAX / 4));
            return Ok(());
        }
        let _: u64 = self
            .conn()?
            .incr(key, 1)
            .await
            .map_err(redis_err("INCR generation"))?;
        Ok(())
    }

    /// The (business, agent) of a live session: not expired, signed out or revoked.
    pub async fn session(&self, session: &str) -> Result<Option<(String, String)>> {
        let key = self.session_key(session);
        let local = self.memory().map(|mut memory| memory.get(&key));
        let value: Option<String> = match local {
            Some(value) => value,
            None => self
                .conn()?
                .get(key)
                .await
                .map_err(redis_err("GET session"))?,
        };
        let Some(value) = value else {
            return Ok(None);
        };
        let mut parts = value.splitn(3, '\n');
        let (Some(business), Some(agent)) = (parts.next(), parts.next()) else {
            return Ok(None);
        };
        let issued: u64 = parts.next().and_then(|g| g.parse().ok()).unwrap_or(0);
        if issued != self.generation(business, agent).await? {
            return Ok(None);
        }
        Ok(Some((business.to_owned(), agent.to_owned())))
    }

    /// The reference of a conversation, issued on first use.
    pub async fn ref_for(&self, key: &ConversationKey) -> Result<String> {
        let business = key.business.as_str();
        let refof = self.key(business, &format!("refof:{}", key.opaque.as_str()));
        if let Some(mut memory) = self.memory() {
            if let Some(existing) = memory.get(&refof) {
                return Ok(existing);
            }
            let fresh = hex::encode(rand::rng().random::<[u8; 16]>());
            let ttl = Duration::from_secs(self.secs());
            memory.set(
                self.key(business, &format!("ref:{fresh}")),
                key.opaque.as_str().to_owned(),
                ttl,
            );
            memory.set(refof, fresh.clone(), ttl);
            return Ok(fresh);
        }
        let mut conn = self.conn()?;
        let existing: Option<String> = conn.get(&refof).await.map_err(redis_err("GET ref"))?;
        if let Some(existing) = existing {
            return Ok(existing);
        }
        let fresh = hex::encode(rand::rng().random::<[u8; 16]>());
        let _: () = conn
            .set_ex(
                self.key(business, &format!("ref:{fresh}")),
                key.opaque.as_str(),
                self.secs(),
            )
            .await
            .map_err(redis_err("SET ref"))?;
        let set: Option<String> = redis::cmd("SET")
            .arg(&refof)
            .arg(&fresh)
            .arg("NX")
            .arg("EX")
            .arg(self.secs())
            .query_async(&mut conn)
            .await
            .map_err(redis_err("SET refof"))?;
        if set.is_some() {
            return Ok(fresh);
        }
        let winner: Option<String> = conn.get(&refof).await.map_err(redis_err("GET ref"))?;
        Ok(winner.unwrap_or(fresh))
    }

    /// The conversation `reference` names in `business`, if it is one of that business's.
    pub async fn resolve(
        &self,
        business: &str,
        reference: &str,
    ) -> Result<Option<ConversationKey>> {
        if !valid_ref(reference) {
            return Ok(None);
        }
        let ref_key = self.key(business, &format!("ref:{reference}"));
        let local = self.memory().map(|mut memory| memory.get(&ref_key));
        let opaque: Option<String> = match local {
            Some(value) => value,
            None => self
                .conn()?
                .get(ref_key)
                .await
                .map_err(redis_err("GET ref"))?,
        };
        Ok(opaque.and_then(|o| ConversationKey::parse(business, &o).ok()))
    }

    /// Appends an encoded `AgentEvent` to the agent's log once per `event_id`; its cursor.
    pub async fn append(
        &self,
        business: &str,
        agent: &str,
        event_id: &str,
        event: &[u8],
    ) -> Result<u64> {
        let log = self.key(business, &format!("events:{agent}"));
        let seen = self.key(business, &format!("seen:{agent}:{event_id}"));
        let cursor = self.key(business, &format!("cursor:{agent}"));
        if let Some(mut memory) = self.memory() {
            if let Some(prior) = memory.get(&seen).and_then(|c| c.parse().ok()) {
                return Ok(prior);
            }
            let n = memory
                .get(&cursor)
                .and_then(|c| c.parse::<u64>().ok())
                .unwrap_or(0)
                + 1;
            memory.set(cursor, n.to_string(), Duration::from_secs(u64::MAX / 4));
            memory.set(seen, n.to_string(), Duration::from_secs(self.secs()));
            let cap = self.stream_cap.max(1);
            let entries = memory.logs.entry(log).or_default();
            entries.push((n, event.to_vec()));
            if entries.len() > cap {
                let excess = entries.len() - cap;
                entries.drain(..excess);
            }
            return Ok(n);
        }
        let Backend::Redis { conn, append } = &self.backend else {
            return Err("no Redis connection".to_owned());
        };
        let mut conn = conn.clone();
        append
            .key(log)
            .key(cursor)
            .key(seen)
            .arg(event)
            .arg(self.stream_cap)
            .arg(self.secs())
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err("append"))
    }

    /// The agent's newest cursor.
    pub async fn latest_cursor(&self, business: &str, agent: &str) -> Result<u64> {
        let key = self.key(business, &format!("cursor:{agent}"));
        if let Some(mut memory) = self.memory() {
            return Ok(memory.get(&key).and_then(|c| c.parse().ok()).unwrap_or(0));
        }
        let n: Option<u64> = self
            .conn()?
            .get(key)
            .await
            .map_err(redis_err("GET cursor"))?;
        Ok(n.unwrap_or(0))
    }

    /// Up to `count` events after `cursor`, oldest first, as (cursor, encoded event).
    pub async fn read_after(
        &self,
        business: &str,
        agent: &str,
        cursor: u64,
        count: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>> {
        if let Some(memory) = self.memory() {
            let log = self.key(business, &format!("events:{agent}"));
            return Ok(memory
                .logs
                .get(&log)
                .map(|entries| {
                    entries
                        .iter()
                        .filter(|(n, _)| *n > cursor)
                        .take(count)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default());
        }
        let mut conn = self.conn()?;
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(self.key(business, &format!("events:{agent}")))
            .arg(format!("{cursor}-0"))
            .query_async(&mut conn)
            .await
            .map_err(redis_err("XREAD"))?;
        let mut out = Vec::new();
        for stream in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in stream.ids {
                let Some(n) = entry.id.split('-').next().and_then(|n| n.parse().ok()) else {
                    continue;
                };
                let Some(value) = entry.map.get("e") else {
                    continue;
                };
                let bytes: Vec<u8> =
                    redis::from_redis_value_ref(value).map_err(|e| format!("redis decode: {e}"))?;
                out.push((n, bytes));
            }
        }
        Ok(out)
    }

    /// Records that a conversation waits: its queue, since when, the skills it asks for and
    /// the queue's response target.
    pub async fn put_waiting(&self, key: &ConversationKey, waiting: &Waiting) -> Result<()> {
        let business = key.business.as_str();
        let hash = self.key(business, "waiting");
        let value = format!(
            "{}\n{}\n{}\n{}",
            waiting.queue,
            waiting.since_ms,
            waiting.skills.join(","),
            waiting.response_target_seconds
        );
        let field = key.opaque.as_str().to_owned();
        if let Some(mut memory) = self.memory() {
            memory.set(
                format!("{hash}\n{field}"),
                value,
                Duration::from_secs(self.secs()),
            );
            return Ok(());
        }
        let mut conn = self.conn()?;
        let _: () = redis::pipe()
            .hset(&hash, field, value)
            .ignore()
            .expire(&hash, i64::try_from(self.secs()).unwrap_or(i64::MAX))
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(redis_err("HSET waiting"))?;
        Ok(())
    }

    /// Forgets that a conversation waits (an agent took it, or it ended).
    pub async fn drop_waiting(&self, key: &ConversationKey) -> Result<()> {
        let hash = self.key(key.business.as_str(), "waiting");
        if let Some(mut memory) = self.memory() {
            memory
                .values
                .remove(&format!("{hash}\n{}", key.opaque.as_str()));
            return Ok(());
        }
        let _: () = self
            .conn()?
            .hdel(hash, key.opaque.as_str())
            .await
            .map_err(redis_err("HDEL waiting"))?;
        Ok(())
    }

    /// The conversations recorded as waiting: (opaque id, queue, since ms, skills).
    pub async fn waiting(&self, business: &str) -> Result<Vec<Waiting>> {
        let hash = self.key(business, "waiting");
        let rows: Vec<(String, String)> = if let Some(mut memory) = self.memory() {
            let prefix = format!("{hash}\n");
            let keys: Vec<String> = memory
                .values
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            keys.into_iter()
                .filter_map(|k| {
                    let value = memory.get(&k)?;
                    Some((k[prefix.len()..].to_owned(), value))
                })
                .collect()
        } else {
            self.conn()?
                .hgetall(hash)
                .await
                .map_err(redis_err("HGETALL waiting"))?
        };
        let mut out: Vec<Waiting> = rows
            .into_iter()
            .filter_map(|(opaque, value)| {
                let mut parts = value.splitn(4, '\n');
                let queue = parts.next()?.to_owned();
                let since_ms = parts.next()?.parse().ok()?;
                let skills = parts
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                // Recorded before the target was kept: none.
                let response_target_seconds =
                    parts.next().and_then(|t| t.parse().ok()).unwrap_or(0);
                Some(Waiting {
                    opaque,
                    queue,
                    since_ms,
                    skills,
                    response_target_seconds,
                })
            })
            .collect();
        out.sort_by(|a, b| (a.since_ms, &a.opaque).cmp(&(b.since_ms, &b.opaque)));
        Ok(out)
    }

    /// Remembers that the conversation `reference` was offered to `agent`.
    pub async fn put_offered(&self, business: &str, agent: &str, reference: &str) -> Result<()> {
        let key = self.key(business, &format!("offered:{agent}:{reference}"));
        if let Some(mut memory) = self.memory() {
            memory.set(key, "1".to_owned(), Duration::from_secs(self.secs()));
            return Ok(());
        }
        let mut conn = self.conn()?;
        let _: () = conn
            .set_ex(key, "1", self.secs())
            .await
            .map_err(redis_err("SET offered"))?;
        Ok(())
    }

    /// Whether the conversation `reference` was offered to `agent` (within the retention).
    pub async fn was_offered(&self, business: &str, agent: &str, reference: &str) -> Result<bool> {
        let key = self.key(business, &format!("offered:{agent}:{reference}"));
        if let Some(mut memory) = self.memory() {
            return Ok(memory.get(&key).is_some());
        }
        self.conn()?
            .exists(key)
            .await
            .map_err(redis_err("EXISTS offered"))
    }

    /// Remembers which command sent an outbound event.
    pub async fn put_command(&self, business: &str, event_id: &str, command: &str) -> Result<()> {
        let key = self.key(business, &format!("cmd:{event_id}"));
        if let Some(mut memory) = self.memory() {
            memory.set(key, command.to_owned(), Duration::from_secs(self.secs()));
            return Ok(());
        }
        let mut conn = self.conn()?;
        let _: () = conn
            .set_ex(key, command, self.secs())
            .await
            .map_err(redis_err("SET cmd"))?;
        Ok(())
    }

    /// The command that sent an outbound event.
    pub async fn command_of(&self, business: &str, event_id: &str) -> Result<Option<String>> {
        let key = self.key(business, &format!("cmd:{event_id}"));
        if let Some(mut memory) = self.memory() {
            return Ok(memory.get(&key));
        }
        self.conn()?.get(key).await.map_err(redis_err("GET cmd"))
    }
}
