//! The Redis store: one Lua script per operation over the conversation's hash-tagged keys,
//! on one multiplexed connection that reconnects by itself.
//!
//! Never WATCH/MULTI here: on a shared multiplexed connection they are unsound. Every
//! read-modify-write is a script, so it is atomic on the server.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use parley_types::{ConversationKey, Sequence};
use redis::{Script, aio::ConnectionManager};

use crate::{
    CasOutcome, ClaimToken, Commit, CommitOutcome, ConversationKeys, ConversationStore, Error,
    GateDecision, GatePolicy, GateRead, GateReadout, Result, Skipped, StoreSettings, Versioned,
    WaitReason,
};

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisStoreOptions {
    /// `redis://host:port/db` (or `rediss://` for TLS, when the crate is built with it).
    pub url: String,
    /// How long one command may take before it fails (it is then retryable).
    pub response_timeout: Duration,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
}

impl RedisStoreOptions {
    /// Defaults for `url`: 2 s response and connect timeouts.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            response_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// Every script starts with this: `touch(ttl, ...)` keeps every key of the conversation
/// (all passed, KEYS[1] the record) for at least `ttl` less [`TTL_SLACK_PERCENT`] % after the
/// write: all keys share one deadline, kept in the record's field `ttl:until`, and the
/// expiry of every key is moved only when less than that is left (or more than `ttl`, after
/// the retention was lowered); otherwise only the keys the script wrote besides the record
/// (their indexes as the extra arguments: a key it may just have created has no expiry yet)
/// are given the shared deadline, so a typical write costs two commands instead of one
/// `PEXPIRE` per key. `now_ms()` reads
/// the server clock, so all replicas share one clock, `claim_until(claim)` reads a claim's
/// lease end (a claim is `seq:lease end`, or `seq:lease end:token` when it was asked for
/// under a claim token), and `complete_stage(stage, seq)`
/// records that `stage` applied `seq` (KEYS[1] is the record), closes it if it was a hole and
/// drops its claim, its attempt count and a gap it closes. A stage's holes are one field,
/// `holes:<stage>`, of comma-delimited sequences (`,2,9,`), oldest first, at most
/// `gate::MAX_HOLES` (64) of them: `add_hole` returns how many it forgot.
/// How much of the retention a conversation's keys may have used up before a write moves
/// their expiry (see [`PRELUDE`]): every key lives at least `100 - TTL_SLACK_PERCENT` % of the
/// retention after the conversation's last write, and at most the whole retention.
pub const TTL_SLACK_PERCENT: u64 = 1;

pub(crate) const PRELUDE: &str = r"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function touch_at(now, ttl, ...)
  ttl = tonumber(ttl)
  local deadline = tonumber(redis.call('HGET', KEYS[1], 'ttl:until') or '0') or 0
  local left = deadline - now
  if left <= ttl and left >= ttl - math.floor(ttl * 1 / 100) then
    for _, i in ipairs({...}) do redis.call('PEXPIREAT', KEYS[i], deadline) end
    return
  end
  deadline = now + ttl
  if redis.call('PEXPIREAT', KEYS[1], deadline) == 1 then
    redis.call('HSET', KEYS[1], 'ttl:until', deadline)
  end
  for i = 2, #KEYS do redis.call('PEXPIREAT', KEYS[i], deadline) end
end
local function touch(ttl, ...)
  touch_at(now_ms(), ttl, ...)
end
local function head(pair)
  return tonumber(string.sub(pair, 1, string.find(pair, ':', 1, true) - 1))
end
local function claim_until(claim)
  local rest = string.sub(claim, string.find(claim, ':', 1, true) + 1)
  local sep = string.find(rest, ':', 1, true)
  if sep then rest = string.sub(rest, 1, sep - 1) end
  return tonumber(rest)
end
local function is_hole(stage, seq)
  local holes = redis.call('HGET', KEYS[1], 'holes:' .. stage)
  return holes and string.find(holes, ',' .. seq .. ',', 1, true) ~= nil
end
local function add_hole(stage, seq)
  local f = 'holes:' .. stage
  local holes = redis.call('HGET', KEYS[1], f) or ','
  if string.find(holes, ',' .. seq .. ',', 1, true) then return 0 end
  holes = holes .. seq .. ','
  local count = select(2, string.gsub(holes, ',', ',')) - 1
  local forgotten = 0
  while count > 64 do
    local second = string.find(holes, ',', 2, true)
    holes = string.sub(holes, second)
    count = count - 1
    forgotten = forgotten + 1
  end
  redis.call('HSET', KEYS[1], f, holes)
  return forgotten
end
local function remove_hole(stage, seq)
  local f = 'holes:' .. stage
  local holes = redis.call('HGET', KEYS[1], f)
  if not holes then return end
  local needle = ',' .. seq .. ','
  local i = string.find(holes, needle, 1, true)
  if not i then return end
  holes = string.sub(holes, 1, i) .. string.sub(holes, i + #needle)
  if holes == ',' then redis.call('HDEL', KEYS[1], f) else redis.call('HSET', KEYS[1], f, holes) end
end
local function drop_claim_and_tries(stage, seq, applied)
  local claim = redis.call('HGET', KEYS[1], 'claim:' .. stage)
  if claim and head(claim) <= seq then redis.call('HDEL', KEYS[1], 'claim:' .. stage) end
  local gap = redis.call('HGET', KEYS[1], 'gap:' .. stage)
  if gap and head(gap) <= applied then redis.call('HDEL', KEYS[1], 'gap:' .. stage) end
  local tries = redis.call('HGET', KEYS[1], 'tries:' .. stage)
  if tries and head(tries) == seq then redis.call('HDEL', KEYS[1], 'tries:' .. stage) end
end
local function complete_stage(stage, seq)
  local applied = tonumber(redis.call('HGET', KEYS[1], 'applied:' .. stage) or '0')
  if seq > applied then
    applied = seq
    redis.call('HSET', KEYS[1], 'applied:' .. stage, seq)
  end
  remove_hole(stage, seq)
  drop_claim_and_tries(stage, seq, applied)
end
";

/// A counter's value as a sequence (the scripts never return 0; a 0 is a broken script).
fn sequence_of(value: u64, operation: &'static str) -> Result<Sequence> {
    Sequence::new(value).map_err(|e| Error::Protocol {
        operation,
        reason: e.to_string(),
    })
}

/// ARGV: expected version, state, ttl. Returns {1, new} or {0, current}.
const CAS: &str = r"
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[1]) then return {0, current} end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', current + 1)
touch(ARGV[3])
return {1, current + 1}
";

/// CAS, then (only if it applies) draw numbers, set fields and append to the transcript:
/// ConversationStore::commit. ARGV: expected version, state, ttl, transcript entry ("" for
/// none), transcript cap, the field keeping the numbers ("" for none), how many numbers n,
/// n counter names, then name, value pairs. Returns {1, version, numbers...} or {0, current}.
const COMMIT: &str = r"
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[1]) then return {0, current} end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', current + 1)
local n = tonumber(ARGV[7])
local out = {1, current + 1}
for i = 1, n do
  out[2 + i] = redis.call('HINCRBY', KEYS[1], 'seq:' .. ARGV[7 + i], 1)
end
for i = 8 + n, #ARGV - 1, 2 do redis.call('HSET', KEYS[1], 'f:' .. ARGV[i], ARGV[i + 1]) end
if ARGV[6] ~= '' then
  local drawn = {}
  for i = 1, n do drawn[i] = tostring(out[2 + i]) end
  redis.call('HSET', KEYS[1], 'f:' .. ARGV[6], table.concat(drawn, ','))
end
if ARGV[4] ~= '' then redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], '*', 'e', ARGV[4]) end
if ARGV[4] ~= '' then touch(ARGV[3], 2) else touch(ARGV[3]) end
return out
";

/// Unless the de-duplication member ARGV[6] is recorded and not expired (then 0, changing
/// nothing): sets the fields, allocates the counter's next number (or finds the one the
/// idempotency id got, keeping the last `ids kept` ids), then RAISE_FIELD of that number.
/// The one numbering script: `allocate_sequence` and `set_fields_then_allocate` are it
/// without a dedup member or a field to raise. Returns the number (the earlier one for a
/// known idempotency id).
/// KEYS[4] is the dedup set. ARGV: counter, idempotency id ('' none), ids kept, ttl, field
/// to raise ('' none), dedup member ('' none), then name, value pairs.
const ALLOCATE_RECORDING: &str = r"
if ARGV[6] ~= '' then
  local until_ms = redis.call('ZSCORE', KEYS[4], ARGV[6])
  if until_ms and tonumber(until_ms) > now_ms() then return 0 end
end
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], 'f:' .. ARGV[i], ARGV[i + 1]) end
local member = nil
local s = nil
if ARGV[2] ~= '' then
  member = ARGV[1] .. '\0' .. ARGV[2]
  local existing = redis.call('ZSCORE', KEYS[5], member)
  if existing then s = tonumber(existing) end
end
local fresh = s == nil
if fresh then
  s = redis.call('HINCRBY', KEYS[1], 'seq:' .. ARGV[1], 1)
  if member then
    redis.call('ZADD', KEYS[5], s, member)
    local kept = tonumber(ARGV[3])
    local n = redis.call('ZCARD', KEYS[5])
    if n > kept then redis.call('ZREMRANGEBYRANK', KEYS[5], 0, n - kept - 1) end
  end
end
if ARGV[5] ~= '' then
  local f = 'f:' .. ARGV[5]
  local current = tonumber(redis.call('HGET', KEYS[1], f) or '0') or 0
  if s > current then redis.call('HSET', KEYS[1], f, s) end
end
if member and fresh then touch(ARGV[4], 5) else touch(ARGV[4]) end
return s
";

/// ARGV: ttl, then name, value pairs (fields are stored as `f:<name>`).
const SET_FIELDS: &str = r"
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], 'f:' .. ARGV[i], ARGV[i + 1]) end
touch(ARGV[1])
return 1
";

/// ARGV: field, value, ttl. Returns the value stored afterwards.
const RAISE_FIELD: &str = r"
local current = tonumber(redis.call('HGET', KEYS[1], 'f:' .. ARGV[1]) or '0') or 0
local value = tonumber(ARGV[2])
if value > current then
  redis.call('HSET', KEYS[1], 'f:' .. ARGV[1], ARGV[2])
  current = value
end
touch(ARGV[3])
return current
";

/// KEYS[3] is the consent hash. ARGV: topic, record, ttl.
const SET_CONSENT: &str = r"
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
touch(ARGV[3], 3)
return 1
";

/// The gate (see crate::gate for the rules; GateFields::decide is the same logic in Rust).
/// ARGV: stage, seq, gap timeout ms, lease ms, ttl, claim token ("" for none), and for
/// `gate_claim_reading` the reads (see the script's comment).
/// Returns {decision, first skipped, late, attempt, holes forgotten, last skipped} with
/// decision 0 apply, 1 duplicate, 2 wait-gap, 3 wait-claimed; a skip gives up on every
/// missing number below `seq` at once, at most `gate::MAX_HOLES` (64).
const GATE: &str = r"
local function decide()
  local stage = ARGV[1]
  local seq = tonumber(ARGV[2])
  local applied_f, claim_f, gap_f = 'applied:' .. stage, 'claim:' .. stage, 'gap:' .. stage
  local applied = tonumber(redis.call('HGET', KEYS[1], applied_f) or '0')
  local late = 0
  if seq <= applied then
    if not is_hole(stage, seq) then return {1, 0, 0, 0, 0, 0} end
    late = 1
  end
  local now = now_ms()
  local claim = redis.call('HGET', KEYS[1], claim_f)
  if claim and claim_until(claim) > now then return {3, 0, 0, 0, 0, 0} end
  local skipped, skipped_last, forgotten = 0, 0, 0
  if late == 0 and seq > applied + 1 then
    local missing = applied + 1
    local gap = redis.call('HGET', KEYS[1], gap_f)
    local gap_seq, since = nil, nil
    if gap then
      local sep = string.find(gap, ':', 1, true)
      gap_seq = tonumber(string.sub(gap, 1, sep - 1))
      since = tonumber(string.sub(gap, sep + 1))
    end
    if gap_seq == missing then
      if now - since >= tonumber(ARGV[3]) then
        local last = math.min(seq - 1, missing + 63)
        for hole = missing, last do forgotten = forgotten + add_hole(stage, hole) end
        applied = last
        skipped = missing
        skipped_last = last
        redis.call('HSET', KEYS[1], applied_f, applied)
        redis.call('HDEL', KEYS[1], gap_f)
        redis.call('HINCRBY', KEYS[1], 'skipped:' .. stage, last - missing + 1)
      end
    else
      redis.call('HSET', KEYS[1], gap_f, missing .. ':' .. now)
    end
  end
  local decision, attempt = 2, 0
  if late == 1 or seq == applied + 1 then
    local token = ''
    if ARGV[6] and ARGV[6] ~= '' then token = ':' .. ARGV[6] end
    redis.call('HSET', KEYS[1], claim_f, seq .. ':' .. (now + tonumber(ARGV[4])) .. token)
    if late == 0 then redis.call('HDEL', KEYS[1], gap_f) end
    local tries = redis.call('HGET', KEYS[1], 'tries:' .. stage)
    attempt = 1
    if tries and head(tries) == seq then
      attempt = tonumber(string.sub(tries, string.find(tries, ':', 1, true) + 1)) + 1
    end
    redis.call('HSET', KEYS[1], 'tries:' .. stage, seq .. ':' .. attempt)
    decision = 0
  end
  touch_at(now, ARGV[5])
  return {decision, skipped, late, attempt, forgotten, skipped_last}
end
local out = decide()
-- gate_pass: ARGV[7] 'pass' completes a sequence the gate lets apply, at once.
if ARGV[7] == 'pass' then
  if out[1] == 0 then complete_stage(ARGV[1], tonumber(ARGV[2])) end
  return out
end
-- Reads for gate_claim_reading (absent for a plain claim). ARGV[7]: '1' to read the version
-- and the state ('0' not); ARGV[8]: a de-duplication member to look for ('' for none);
-- ARGV[9..]: the record's fields to read. Appended: remembered (0/1), version, state, the
-- fields.
if ARGV[7] then
  local remembered = 0
  if ARGV[8] ~= '' then
    local until_ms = redis.call('ZSCORE', KEYS[4], ARGV[8])
    if until_ms and tonumber(until_ms) > now_ms() then remembered = 1 end
  end
  table.insert(out, remembered)
  local names = {'version', 'state'}
  for i = 9, #ARGV do table.insert(names, ARGV[i]) end
  local values = redis.call('HMGET', KEYS[1], unpack(names))
  if ARGV[7] ~= '1' then values[1], values[2] = false, false end
  for i = 1, #names do table.insert(out, values[i]) end
end
return out
";

/// ARGV: stage, seq, ttl.
const COMPLETE: &str = r"
complete_stage(ARGV[1], tonumber(ARGV[2]))
touch(ARGV[3])
return 1
";

/// SET_FIELDS then COMPLETE in one script. ARGV: stage, seq, ttl, then name, value pairs.
const SET_FIELDS_COMPLETE: &str = r"
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], 'f:' .. ARGV[i], ARGV[i + 1]) end
complete_stage(ARGV[1], tonumber(ARGV[2]))
touch(ARGV[3])
return 1
";

/// ARGV: stage, seq, ttl.
const RELEASE: &str = r"
local claim = redis.call('HGET', KEYS[1], 'claim:' .. ARGV[1])
if claim and head(claim) == tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[1], 'claim:' .. ARGV[1])
end
touch(ARGV[3])
return 1
";

/// ARGV: stage, seq, claim token, ttl. Drops the claim only if it is on `seq` and held
/// under the token (GateFields::release_claim). Returns 1 if it did.
const RELEASE_CLAIM: &str = r"
local f = 'claim:' .. ARGV[1]
local claim = redis.call('HGET', KEYS[1], f)
if not claim then return 0 end
local prefix, suffix = ARGV[2] .. ':', ':' .. ARGV[3]
if string.sub(claim, 1, #prefix) ~= prefix then return 0 end
if #claim <= #prefix + #suffix or string.sub(claim, -#suffix) ~= suffix then return 0 end
redis.call('HDEL', KEYS[1], f)
touch(ARGV[4])
return 1
";

/// ARGV: stage, seq, ttl. Returns how many holes were forgotten (GateFields::abandon).
const ABANDON: &str = r"
local stage, seq = ARGV[1], tonumber(ARGV[2])
local applied = tonumber(redis.call('HGET', KEYS[1], 'applied:' .. stage) or '0')
local forgotten = 0
if seq == applied + 1 then
  applied = seq
  redis.call('HSET', KEYS[1], 'applied:' .. stage, seq)
  forgotten = add_hole(stage, seq)
elseif seq > applied or not is_hole(stage, seq) then
  return 0
end
drop_claim_and_tries(stage, seq, applied)
touch(ARGV[3])
return forgotten
";

/// KEYS[4] is the dedup set. ARGV: member, record ttl ms, ttl. Returns 1 if newly recorded.
const REMEMBER: &str = r"
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
if redis.call('ZSCORE', KEYS[4], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), ARGV[1])
touch_at(now, ARGV[3], 4)
return 1
";

/// REMEMBER then COMPLETE in one script (atomic, one round trip). KEYS[4] is the dedup
/// set. ARGV: member, record ttl ms, stage, seq, ttl. Returns 1 if newly recorded.
const REMEMBER_COMPLETE: &str = r"
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local added = 0
if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), ARGV[1])
  added = 1
end
complete_stage(ARGV[3], tonumber(ARGV[4]))
if added == 1 then touch_at(now, ARGV[5], 4) else touch_at(now, ARGV[5]) end
return added
";

/// ARGV: member. Returns 1 if recorded and not expired.
const IS_REMEMBERED: &str = r"
local until_ms = redis.call('ZSCORE', KEYS[4], ARGV[1])
if until_ms and tonumber(until_ms) > now_ms() then return 1 end
return 0
";

/// KEYS[2] is the log. ARGV: entry, cap, ttl.
const APPEND: &str = r"
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], '*', 'e', ARGV[1])
touch(ARGV[3], 2)
return 1
";

const FORGET: &str = r"
return redis.call('DEL', unpack(KEYS))
";

struct Scripts {
    cas: Script,
    commit: Script,
    allocate_recording: Script,
    set_fields: Script,
    raise_field: Script,
    set_consent: Script,
    gate: Script,
    complete: Script,
    set_fields_complete: Script,
    release: Script,
    release_claim: Script,
    abandon: Script,
    remember: Script,
    remember_complete: Script,
    is_remembered: Script,
    append: Script,
    forget: Script,
}

impl Scripts {
    fn new() -> Self {
        let with_prelude = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Self {
            cas: with_prelude(CAS),
            commit: with_prelude(COMMIT),
            allocate_recording: with_prelude(ALLOCATE_RECORDING),
            set_fields: with_prelude(SET_FIELDS),
            raise_field: with_prelude(RAISE_FIELD),
            set_consent: with_prelude(SET_CONSENT),
            gate: with_prelude(GATE),
            complete: with_prelude(COMPLETE),
            set_fields_complete: with_prelude(SET_FIELDS_COMPLETE),
            release: with_prelude(RELEASE),
            release_claim: with_prelude(RELEASE_CLAIM),
            abandon: with_prelude(ABANDON),
            remember: with_prelude(REMEMBER),
            remember_complete: with_prelude(REMEMBER_COMPLETE),
            is_remembered: with_prelude(IS_REMEMBERED),
            append: with_prelude(APPEND),
            forget: Script::new(FORGET),
        }
    }
}

/// The Redis store. Cheap to clone; clones share one multiplexed connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    settings: StoreSettings,
    scripts: std::sync::Arc<Scripts>,
}

pub(crate) fn unavailable(operation: &'static str) -> impl FnOnce(redis::RedisError) -> Error {
    move |e| Error::Unavailable {
        operation,
        reason: e.to_string(),
    }
}

impl RedisStore {
    /// Sets up the connection without waiting for Redis: the first command connects, and the
    /// connection comes back by itself after Redis restarts (commands fail meanwhile).
    pub fn connect(options: &RedisStoreOptions, settings: StoreSettings) -> Result<Self> {
        let client = redis::Client::open(options.url.as_str())
            .map_err(|e| Error::Config(format!("redis url: {e}")))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(options.response_timeout))
            .set_connection_timeout(Some(options.connect_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| Error::Config(format!("redis connection: {e}")))?;
        Ok(Self {
            connection,
            settings,
            scripts: std::sync::Arc::new(Scripts::new()),
        })
    }

    /// A handle on the shared multiplexed connection.
    pub(crate) fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// The prefix of every key.
    pub(crate) fn key_prefix(&self) -> &str {
        &self.settings.key_prefix
    }

    fn keys(&self, key: &ConversationKey) -> ConversationKeys {
        ConversationKeys::new(&self.settings.key_prefix, key)
    }

    fn invocation<'a>(
        &self,
        script: &'a Script,
        keys: &ConversationKeys,
    ) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        for k in keys.all() {
            invocation.key(k);
        }
        invocation
    }
}

impl RedisStore {
    /// The gate script, a claim it grants held under `token`, with the reads `read` asks for
    /// in the same script.
    async fn decide(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: Option<ClaimToken>,
        then: Then<'_>,
    ) -> Result<(GateDecision, GateReadout)> {
        let (read, pass) = match then {
            Then::Nothing => (None, false),
            Then::Read(read) => (Some(read), false),
            Then::Complete => (None, true),
        };
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let mut invocation = self.invocation(&self.scripts.gate, &keys);
        invocation
            .arg(stage)
            .arg(sequence.get())
            .arg(policy.gap_ms())
            .arg(policy.lease_ms())
            .arg(self.settings.retention_ms())
            .arg(token.map(ClaimToken::hex).unwrap_or_default());
        if pass {
            invocation.arg("pass");
        } else if let Some(read) = read {
            invocation.arg(if read.state { "1" } else { "0" }).arg(
                read.remembered
                    .map(|(scope, id)| dedup_member(scope, id))
                    .unwrap_or_default(),
            );
            for name in read.fields {
                invocation.arg(format!("f:{name}"));
            }
        }
        let reply: Vec<redis::Value> = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("gate"))?;
        let protocol = |reason: String| Error::Protocol {
            operation: "gate",
            reason,
        };
        let mut reply = reply.into_iter();
        let mut number = || -> Result<u64> {
            let value = reply
                .next()
                .ok_or_else(|| protocol("the gate answered too few values".into()))?;
            redis::from_redis_value::<u64>(value).map_err(|e| protocol(e.to_string()))
        };
        let (decision, skipped, late, attempt, forgotten, skipped_last) = (
            number()?,
            number()?,
            number()?,
            number()?,
            number()?,
            number()?,
        );
        let readout = match read {
            Some(read) => {
                let remembered = number()? == 1;
                let mut bytes = || -> Result<Option<Vec<u8>>> {
                    let value = reply
                        .next()
                        .ok_or_else(|| protocol("the gate answered too few values".into()))?;
                    redis::from_redis_value::<Option<Vec<u8>>>(value)
                        .map_err(|e| protocol(e.to_string()))
                };
                let version = bytes()?
                    .map(|v| {
                        std::str::from_utf8(&v)
                            .ok()
                            .and_then(|v| v.parse::<u64>().ok())
                            .ok_or_else(|| protocol("the version is not a number".into()))
                    })
                    .transpose()?;
                let state = bytes()?;
                let fields = read
                    .fields
                    .iter()
                    .map(|_| {
                        bytes()?
                            .map(|v| String::from_utf8(v).map_err(|e| protocol(e.to_string())))
                            .transpose()
                    })
                    .collect::<Result<Vec<_>>>()?;
                GateReadout {
                    state: match (version, state) {
                        (Some(version), Some(state)) => Some(Versioned {
                            version,
                            state: Bytes::from(state),
                        }),
                        _ => None,
                    },
                    fields,
                    remembered,
                }
            }
            None => GateReadout::default(),
        };
        let skipped = match (Sequence::new(skipped), Sequence::new(skipped_last)) {
            (Ok(first), Ok(last)) => Some(Skipped { first, last }),
            _ => None,
        };
        if forgotten > 0 {
            crate::gate::forgot_holes(usize::try_from(forgotten).unwrap_or(usize::MAX));
        }
        let decision = match decision {
            0 => Ok(GateDecision::Apply {
                skipped,
                late: late == 1,
                attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            }),
            1 => Ok(GateDecision::Duplicate),
            2 => Ok(GateDecision::Wait {
                reason: WaitReason::Gap,
                skipped,
            }),
            3 => Ok(GateDecision::Wait {
                reason: WaitReason::Claimed,
                skipped,
            }),
            other => Err(Error::Protocol {
                operation: "gate",
                reason: format!("decision {other}"),
            }),
        }?;
        crate::gate::observe(stage, &decision);
        Ok((decision, readout))
    }
}

/// What the gate script does besides deciding.
#[derive(Clone, Copy)]
enum Then<'a> {
    Nothing,
    /// Reads for `gate_claim_reading`.
    Read(&'a GateRead<'a>),
    /// Completes an event it lets apply (`gate_pass`).
    Complete,
}

fn dedup_member(scope: &str, id: &str) -> String {
    format!("{scope}\u{0}{id}")
}

#[async_trait]
impl ConversationStore for RedisStore {
    async fn load(&self, key: &ConversationKey) -> Result<Option<Versioned>> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let (version, state): (Option<u64>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(&keys.record)
            .arg("version")
            .arg("state")
            .query_async(&mut connection)
            .await
            .map_err(unavailable("load"))?;
        Ok(match (version, state) {
            (Some(version), Some(state)) => Some(Versioned {
                version,
                state: Bytes::from(state),
            }),
            _ => None,
        })
    }

    async fn compare_and_set(
        &self,
        key: &ConversationKey,
        expected: u64,
        state: Bytes,
    ) -> Result<CasOutcome> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let (applied, version): (u8, u64) = self
            .invocation(&self.scripts.cas, &keys)
            .arg(expected)
            .arg(state.as_ref())
            .arg(self.settings.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("compare_and_set"))?;
        Ok(if applied == 1 {
            CasOutcome::Applied { version }
        } else {
            CasOutcome::Conflict { current: version }
        })
    }

    async fn commit(&self, key: &ConversationKey, commit: Commit<'_>) -> Result<CommitOutcome> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let empty: &[u8] = b"";
        let mut invocation = self.invocation(&self.scripts.commit, &keys);
        invocation
            .arg(commit.expected)
            .arg(commit.state.as_ref())
            .arg(self.settings.retention_ms())
            .arg(commit.transcript.as_ref().map_or(empty, |e| e.as_ref()))
            .arg(self.settings.transcript_cap.max(1))
            .arg(commit.sequences_field.unwrap_or(""))
            .arg(commit.allocate.len());
        for counter in &commit.allocate {
            invocation.arg(*counter);
        }
        for (name, value) in &commit.fields {
            invocation.arg(*name).arg(value.as_str());
        }
        let reply: Vec<u64> = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("commit"))?;
        match reply.as_slice() {
            [1, version, drawn @ ..] => Ok(CommitOutcome::Applied {
                version: *version,
                sequences: drawn
                    .iter()
                    .map(|n| sequence_of(*n, "commit"))
                    .collect::<Result<_>>()?,
            }),
            [0, current] => Ok(CommitOutcome::Conflict { current: *current }),
            other => Err(Error::Protocol {
                operation: "commit",
                reason: format!("reply {other:?}"),
            }),
        }
    }

    async fn allocate_sequence(
        &self,
        key: &ConversationKey,
        counter: &str,
        idempotency_id: Option<&str>,
    ) -> Result<Sequence> {
        self.set_fields_then_allocate(key, &[], counter, idempotency_id)
            .await
    }

    async fn set_fields_then_allocate(
        &self,
        key: &ConversationKey,
        fields: &[(&str, &str)],
        counter: &str,
        idempotency_id: Option<&str>,
    ) -> Result<Sequence> {
        // Without a de-duplication member the script always numbers.
        self.allocate_recording(key, None, fields, counter, idempotency_id, None)
            .await?
            .ok_or_else(|| Error::Protocol {
                operation: "set_fields_then_allocate",
                reason: "no number allocated".to_owned(),
            })
    }

    async fn load_with_fields(
        &self,
        key: &ConversationKey,
        names: &[&str],
    ) -> Result<(Option<Versioned>, Vec<Option<String>>)> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("HMGET");
        command.arg(&keys.record).arg("version").arg("state");
        for name in names {
            command.arg(format!("f:{name}"));
        }
        let values: Vec<Option<Vec<u8>>> = command
            .query_async(&mut connection)
            .await
            .map_err(unavailable("load_with_fields"))?;
        let protocol = |reason: String| Error::Protocol {
            operation: "load_with_fields",
            reason,
        };
        if values.len() != names.len() + 2 {
            return Err(protocol(format!(
                "HMGET answered {} values for {} fields",
                values.len(),
                names.len() + 2
            )));
        }
        let mut values = values.into_iter();
        let version = values
            .next()
            .flatten()
            .map(|v| {
                std::str::from_utf8(&v)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| protocol("the version is not a number".into()))
            })
            .transpose()?;
        let state = values.next().flatten();
        let fields = values
            .map(|v| {
                v.map(|v| String::from_utf8(v).map_err(|e| protocol(e.to_string())))
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let state = match (version, state) {
            (Some(version), Some(state)) => Some(Versioned {
                version,
                state: Bytes::from(state),
            }),
            _ => None,
        };
        Ok((state, fields))
    }

    async fn allocate_recording(
        &self,
        key: &ConversationKey,
        unless_remembered: Option<(&str, &str)>,
        fields: &[(&str, &str)],
        counter: &str,
        idempotency_id: Option<&str>,
        raise: Option<&str>,
    ) -> Result<Option<Sequence>> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let mut invocation = self.invocation(&self.scripts.allocate_recording, &keys);
        invocation
            .arg(counter)
            .arg(idempotency_id.unwrap_or(""))
            .arg(crate::embedded::SEQUENCE_IDS_KEPT)
            .arg(self.settings.retention_ms())
            .arg(raise.unwrap_or(""))
            .arg(unless_remembered.map_or_else(String::new, |(scope, id)| dedup_member(scope, id)));
        for (name, value) in fields {
            invocation.arg(*name).arg(*value);
        }
        let value: u64 = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("allocate_recording"))?;
        if value == 0 {
            return Ok(None);
        }
        sequence_of(value, "allocate_recording").map(Some)
    }

    async fn set_fields(&self, key: &ConversationKey, fields: &[(&str, &str)]) -> Result<()> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let mut invocation = self.invocation(&self.scripts.set_fields, &keys);
        invocation.arg(self.settings.retention_ms());
        for (name, value) in fields {
            invocation.arg(*name).arg(*value);
        }
        let _: u8 = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("set_fields"))?;
        Ok(())
    }

    async fn get_fields(
        &self,
        key: &ConversationKey,
        names: &[&str],
    ) -> Result<Vec<Option<String>>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("HMGET");
        command.arg(&keys.record);
        for name in names {
            command.arg(format!("f:{name}"));
        }
        command
            .query_async(&mut connection)
            .await
            .map_err(unavailable("get_fields"))
    }

    async fn raise_field(&self, key: &ConversationKey, field: &str, value: u64) -> Result<u64> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        self.invocation(&self.scripts.raise_field, &keys)
            .arg(field)
            .arg(value)
            .arg(self.settings.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("raise_field"))
    }

    async fn set_consent(&self, key: &ConversationKey, topic: &str, record: Bytes) -> Result<()> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let _: u8 = self
            .invocation(&self.scripts.set_consent, &keys)
            .arg(topic)
            .arg(record.as_ref())
            .arg(self.settings.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("set_consent"))?;
        Ok(())
    }

    async fn consent(&self, key: &ConversationKey, topic: &str) -> Result<Option<Bytes>> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let record: Option<Vec<u8>> = redis::cmd("HGET")
            .arg(&keys.consent)
            .arg(topic)
            .query_async(&mut connection)
            .await
            .map_err(unavailable("consent"))?;
        Ok(record.map(Bytes::from))
    }

    async fn gate(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
    ) -> Result<GateDecision> {
        self.decide(key, stage, sequence, policy, None, Then::Nothing)
            .await
            .map(|(decision, _)| decision)
    }

    async fn gate_claim(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: ClaimToken,
    ) -> Result<GateDecision> {
        self.decide(key, stage, sequence, policy, Some(token), Then::Nothing)
            .await
            .map(|(decision, _)| decision)
    }

    async fn gate_pass(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: ClaimToken,
    ) -> Result<GateDecision> {
        self.decide(key, stage, sequence, policy, Some(token), Then::Complete)
            .await
            .map(|(decision, _)| decision)
    }

    async fn gate_claim_reading(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        policy: &GatePolicy,
        token: ClaimToken,
        read: &GateRead<'_>,
    ) -> Result<(GateDecision, GateReadout)> {
        self.decide(key, stage, sequence, policy, Some(token), Then::Read(read))
            .await
    }

    async fn release_claim(
        &self,
        key: &ConversationKey,
        stage: &str,
        sequence: Sequence,
        token: ClaimToken,
    ) -> Result<bool> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let released: u8 = self
            .invocation(&self.scripts.release_claim, &keys)
            .arg(stage)
            .arg(sequence.get())
            .arg(token.hex())
            .arg(self.settings.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("release_claim"))?;
        Ok(released == 1)
    }
    async fn complete(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let _: u8 = self
            .invocation(&self.scripts.complete, &keys)
            .arg(stage)
            .arg(sequence.get())
            .arg(self.settings.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("complete"))?;
        Ok(())
    }

    async fn set_fields_then_complete(
        &self,
        key: &ConversationKey,
        fields: &[(&str, &str)],
        stage: &str,
        sequence: Sequence,
    ) -> Result<()> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let mut invocation = self.invocation(&self.scripts.set_fields_complete, &keys);
        invocation
            .arg(stage)
            .arg(sequence.get())
            .arg(self.settings.retention_ms());
        for (name, value) in fields {
            invocation.arg(*name).arg(*value);
        }
        let _: u8 = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("set_fields_then_complete"))?;
        Ok(())
    }

    async fn release(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let _: u8 = self
            .invocation(&self.scripts.release, &keys)
            .arg(stage)
            .arg(sequence.get())
            .arg(self.settings.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("release"))?;
        Ok(())
    }

    async fn abandon(&self, key: &ConversationKey, stage: &str, sequence: Sequence) -> Result<()> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let forgotten: u64 = self
            .invocation(&self.scripts.abandon, &keys)
            .arg(stage)
            .arg(sequence.get())
            .arg(self.settings.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("abandon"))?;
        if forgotten > 0 {
            crate::gate::forgot_holes(usize::try_from(forgotten).unwrap_or(usize::MAX));
        }
        Ok(())
    }

    async fn remember(
        &self,
        key: &ConversationKey,
        scope: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<bool> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let added: u8 = self
            .invocation(&self.scripts.remember, &keys)
            .arg(dedup_member(scope, id))
            .arg(ttl_ms)
            .arg(self.settings.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("remember"))?;
        Ok(added == 1)
    }

    async fn remember_then_complete(
        &self,
        key: &ConversationKey,
        scope: &str,
        id: &str,
        ttl: Duration,
        stage: &str,
        sequence: Sequence,
    ) -> Result<bool> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let added: u8 = self
            .invocation(&self.scripts.remember_complete, &keys)
            .arg(dedup_member(scope, id))
            .arg(ttl_ms)
            .arg(stage)
            .arg(sequence.get())
            .arg(self.settings.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("remember_then_complete"))?;
        Ok(added == 1)
    }

    async fn is_remembered(&self, key: &ConversationKey, scope: &str, id: &str) -> Result<bool> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let found: u8 = self
            .invocation(&self.scripts.is_remembered, &keys)
            .arg(dedup_member(scope, id))
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("is_remembered"))?;
        Ok(found == 1)
    }

    async fn append_transcript(&self, key: &ConversationKey, entry: Bytes) -> Result<()> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let _: u8 = self
            .invocation(&self.scripts.append, &keys)
            .arg(entry.as_ref())
            .arg(self.settings.transcript_cap.max(1))
            .arg(self.settings.retention_ms())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("append_transcript"))?;
        Ok(())
    }

    async fn transcript(&self, key: &ConversationKey, limit: usize) -> Result<Vec<Bytes>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let reply: redis::streams::StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&keys.log)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut connection)
            .await
            .map_err(unavailable("transcript"))?;
        let mut entries = Vec::with_capacity(reply.ids.len());
        for id in reply.ids.into_iter().rev() {
            let value: Vec<u8> = id.get("e").ok_or_else(|| Error::Protocol {
                operation: "transcript",
                reason: format!("entry {} has no field e", id.id),
            })?;
            entries.push(Bytes::from(value));
        }
        Ok(entries)
    }

    async fn forget(&self, key: &ConversationKey) -> Result<u64> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        self.invocation(&self.scripts.forget, &keys)
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable("forget"))
    }

    async fn time_to_live(&self, key: &ConversationKey) -> Result<Option<Duration>> {
        let keys = self.keys(key);
        let mut connection = self.connection.clone();
        let ms: i64 = redis::cmd("PTTL")
            .arg(&keys.record)
            .query_async(&mut connection)
            .await
            .map_err(unavailable("time_to_live"))?;
        // -2: no such key; -1: no expiry (never written by this crate).
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }

    async fn health(&self) -> Result<()> {
        let mut connection = self.connection.clone();
        let pong: String = redis::cmd("PING")
            .query_async(&mut connection)
            .await
            .map_err(unavailable("health"))?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(Error::Protocol {
                operation: "health",
                reason: format!("PING answered {pong:?}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PRELUDE;
    use crate::MAX_HOLES;

    #[test]
    fn the_lua_slack_of_the_time_to_live_is_ttl_slack_percent() {
        let slack = super::TTL_SLACK_PERCENT;
        assert!(PRELUDE.contains(&format!("math.floor(ttl * {slack} / 100)")));
    }

    #[test]
    fn the_lua_bound_on_holes_is_max_holes() {
        assert!(PRELUDE.contains(&format!("while count > {MAX_HOLES} do")));
        let widest = MAX_HOLES - 1;
        assert!(super::GATE.contains(&format!("math.min(seq - 1, missing + {widest})")));
    }
}
