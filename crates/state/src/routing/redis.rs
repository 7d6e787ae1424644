//! The Redis agent pool, inside [`RedisStore`]: one Lua script per read-modify-write over the
//! business's hash-tagged keys (see the layout in [`crate::routing`]). The scripts share the
//! store's prelude for the server clock (`now_ms()`) and never call `touch()`: pool keys
//! have no time to live.

use std::{sync::OnceLock, time::Duration};

use async_trait::async_trait;
use redis::Script;

use super::pool::{
    AgentPool, AgentState, Assignment, EnqueueOutcome, Presence, PresenceStatus, QueueChoice,
    QueueEntry, relax_cutoff,
};
use crate::{
    Error, RedisStore, Result,
    redis_store::{PRELUDE, unavailable},
};

/// Every pool script gets these keys, in this order (the queue keys only where a queue is
/// involved).
struct PoolKeys {
    agents: String,
    load: String,
    assign: String,
    queue: Option<(String, String)>,
}

impl PoolKeys {
    fn new(prefix: &str, business: &str, queue: Option<&str>) -> Self {
        let base = format!("{prefix}pool:{{{business}}}");
        Self {
            agents: format!("{base}:agents"),
            load: format!("{base}:load"),
            assign: format!("{base}:assign"),
            queue: queue.map(|q| (format!("{base}:q:{q}"), format!("{base}:qe:{q}"))),
        }
    }
}

/// ARGV: agent, status, capacity, ttl ms, skills…
const SET_PRESENCE: &str = r"
local skills = {}
for i = 5, #ARGV do skills[#skills + 1] = ARGV[i] end
local record = {s = ARGV[2], c = tonumber(ARGV[3]), x = now_ms() + tonumber(ARGV[4]), k = skills}
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
return 1
";

/// Returns one row per agent: {id, status ('offline' once expired), capacity, load, skills…}.
const AGENTS: &str = r"
local now = now_ms()
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local a = cjson.decode(all[i + 1])
  local status = a.s
  if a.x <= now then status = 'offline' end
  local row = {all[i], status, tostring(a.c), redis.call('HGET', KEYS[2], all[i]) or '0'}
  for _, k in ipairs(a.k) do row[#row + 1] = k end
  out[#out + 1] = row
end
return out
";

/// ARGV: conversation, score, member, n, then n pairs (declining agent, until ms), then
/// skills… Returns 1 added, 0 already queued, 2 assigned.
const ENQUEUE: &str = r"
if redis.call('HEXISTS', KEYS[5], ARGV[1]) == 1 then return 0 end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 2 end
local n = tonumber(ARGV[4])
local declined = {}
for i = 1, n do
  declined[#declined + 1] = {ARGV[3 + 2 * i], tonumber(ARGV[4 + 2 * i])}
end
local skills = {}
for i = 5 + 2 * n, #ARGV do skills[#skills + 1] = ARGV[i] end
redis.call('HSET', KEYS[5], ARGV[1], cjson.encode({m = ARGV[3], k = skills, d = declined}))
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
return 1
";

/// ARGV: conversation. Returns the rank or -1.
const POSITION: &str = r"
local entry = redis.call('HGET', KEYS[5], ARGV[1])
if not entry then return -1 end
return redis.call('ZRANK', KEYS[4], cjson.decode(entry).m) or -1
";

/// ARGV: conversation, score, member (as ENQUEUE would add them). Returns how many entries
/// come first: the rank it has, or would have once added.
const PLACES_AHEAD: &str = r"
local entry = redis.call('HGET', KEYS[5], ARGV[1])
if entry then return redis.call('ZRANK', KEYS[4], cjson.decode(entry).m) or 0 end
local ahead = redis.call('ZCOUNT', KEYS[4], '-inf', '(' .. ARGV[2])
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], ARGV[2], ARGV[2])) do
  if m < ARGV[3] then ahead = ahead + 1 else break end
end
return ahead
";

/// ARGV: conversation. Returns 1 if it was queued.
const DEQUEUE: &str = r"
local entry = redis.call('HGET', KEYS[5], ARGV[1])
if not entry then return 0 end
redis.call('ZREM', KEYS[4], cjson.decode(entry).m)
redis.call('HDEL', KEYS[5], ARGV[1])
return 1
";

/// KEYS: agents, load, assignments, then (sorted set, entries) per queue, in the order to
/// look at them. ARGV: per queue, its relax cutoff (20 digits: entries enqueued before it
/// may miss one skill; '' none), then the caller's now (ms, for declines). Returns {queue
/// index (1-based), conversation, agent} or nil. The rules are AgentPool::assign_first's.
const ASSIGN_FIRST: &str = r"
local now = now_ms()
local queues = (#KEYS - 3) / 2
local caller_now = tonumber(ARGV[queues + 1])
local free = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local a = cjson.decode(all[i + 1])
  if a.s == 'available' and a.x > now then
    local load = tonumber(redis.call('HGET', KEYS[2], all[i]) or '0')
    if load < a.c then
      local skills = {}
      for _, k in ipairs(a.k) do skills[k] = true end
      free[#free + 1] = {id = all[i], load = load, cap = a.c, skills = skills}
    end
  end
end
if #free == 0 then return false end
local function better(a, b)
  if a.miss ~= b.miss then return a.miss < b.miss end
  if a.load ~= b.load then return a.load < b.load end
  local ra, rb = a.load * b.cap, b.load * a.cap
  if ra ~= rb then return ra < rb end
  return a.id < b.id
end
for qi = 1, queues do
  local zset, entries, cutoff = KEYS[2 + 2 * qi], KEYS[3 + 2 * qi], ARGV[qi]
  local failed = {}
  for _, member in ipairs(redis.call('ZRANGE', zset, 0, -1)) do
    local conv = string.sub(member, 22)
    local raw = redis.call('HGET', entries, conv)
    if not raw or redis.call('HEXISTS', KEYS[3], conv) == 1 then
      redis.call('ZREM', zset, member)
      redis.call('HDEL', entries, conv)
    else
      local entry = cjson.decode(raw)
      local required = entry.k
      local passed, passed_ids = {}, {}
      for _, d in ipairs(entry.d or {}) do
        if d[2] > caller_now then
          passed[d[1]] = true
          passed_ids[#passed_ids + 1] = d[1]
        end
      end
      table.sort(passed_ids)
      local allowed = 0
      if cutoff ~= '' and string.sub(member, 1, 20) < cutoff then allowed = 1 end
      local signature = allowed .. '\0' .. table.concat(required, '\0') .. '\1'
        .. table.concat(passed_ids, '\0')
      if not failed[signature] then
        local best = nil
        for _, agent in ipairs(free) do
          local miss = 0
          for _, skill in ipairs(required) do
            if not agent.skills[skill] then miss = miss + 1 end
          end
          if miss <= allowed and not passed[agent.id] then
            local candidate = {id = agent.id, load = agent.load, cap = agent.cap, miss = miss}
            if best == nil or better(candidate, best) then best = candidate end
          end
        end
        if best then
          redis.call('HINCRBY', KEYS[2], best.id, 1)
          redis.call('HSET', KEYS[3], conv, best.id)
          redis.call('ZREM', zset, member)
          redis.call('HDEL', entries, conv)
          return {qi, conv, best.id}
        end
        failed[signature] = true
      end
    end
  end
end
return false
";

/// ARGV: agent, conversation. Returns 1 if the agent holds it now, 0 if it cannot take it.
const ASSIGN_TO: &str = r"
local holder = redis.call('HGET', KEYS[3], ARGV[2])
if holder == ARGV[1] then return 1 end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local a = cjson.decode(raw)
if a.s ~= 'available' or a.x <= now_ms() then return 0 end
if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') >= a.c then return 0 end
if holder and tonumber(redis.call('HGET', KEYS[2], holder) or '0') > 0 then
  redis.call('HINCRBY', KEYS[2], holder, -1)
end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HSET', KEYS[3], ARGV[2], ARGV[1])
return 1
";

/// ARGV: agent, conversation. Returns 1 if that agent held it.
const RELEASE: &str = r"
if redis.call('HGET', KEYS[3], ARGV[2]) ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[3], ARGV[2])
if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') > 0 then
  redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
end
return 1
";

/// ARGV: agent. Returns the conversations it held.
const REQUEUE_AGENT: &str = r"
local all = redis.call('HGETALL', KEYS[3])
local held = {}
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then held[#held + 1] = all[i] end
end
for _, conv in ipairs(held) do redis.call('HDEL', KEYS[3], conv) end
redis.call('HDEL', KEYS[2], ARGV[1])
return held
";

struct Scripts {
    set_presence: Script,
    agents: Script,
    enqueue: Script,
    position: Script,
    places_ahead: Script,
    dequeue: Script,
    assign_first: Script,
    assign_to: Script,
    release: Script,
    requeue_agent: Script,
}

fn scripts() -> &'static Scripts {
    static SCRIPTS: OnceLock<Scripts> = OnceLock::new();
    SCRIPTS.get_or_init(|| {
        let with_prelude = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Scripts {
            set_presence: with_prelude(SET_PRESENCE),
            agents: with_prelude(AGENTS),
            enqueue: with_prelude(ENQUEUE),
            position: with_prelude(POSITION),
            places_ahead: with_prelude(PLACES_AHEAD),
            dequeue: with_prelude(DEQUEUE),
            assign_first: with_prelude(ASSIGN_FIRST),
            assign_to: with_prelude(ASSIGN_TO),
            release: with_prelude(RELEASE),
            requeue_agent: with_prelude(REQUEUE_AGENT),
        }
    })
}

impl RedisStore {
    fn pool_invocation<'a>(
        &self,
        script: &'a Script,
        business: &str,
        queue: Option<&str>,
    ) -> redis::ScriptInvocation<'a> {
        let keys = PoolKeys::new(self.key_prefix(), business, queue);
        let mut invocation = script.prepare_invoke();
        invocation.key(keys.agents).key(keys.load).key(keys.assign);
        if let Some((zset, entries)) = keys.queue {
            invocation.key(zset).key(entries);
        }
        invocation
    }
}

fn protocol(operation: &'static str, reason: impl Into<String>) -> Error {
    Error::Protocol {
        operation,
        reason: reason.into(),
    }
}

/// The sorted-set member of a queue entry: its age, then its tag, so ties sort stably.
fn member(entry: &QueueEntry) -> String {
    format!("{:020}:{}", entry.enqueued_at_ms, entry.conversation)
}

fn agent_row(row: Vec<String>) -> Result<AgentState> {
    let mut fields = row.into_iter();
    let (Some(agent_id), Some(status), Some(capacity), Some(load)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(protocol("agents", "short agent row"));
    };
    Ok(AgentState {
        status: PresenceStatus::parse(&status)
            .ok_or_else(|| protocol("agents", format!("status {status:?} of {agent_id}")))?,
        capacity: capacity
            .parse()
            .map_err(|_| protocol("agents", format!("capacity {capacity:?} of {agent_id}")))?,
        load: load
            .parse()
            .map_err(|_| protocol("agents", format!("load {load:?} of {agent_id}")))?,
        skills: fields.collect(),
        agent_id,
    })
}

#[async_trait]
impl AgentPool for RedisStore {
    async fn set_presence(
        &self,
        business: &str,
        agent_id: &str,
        presence: &Presence,
        ttl: Duration,
    ) -> Result<()> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let mut invocation = self.pool_invocation(&scripts().set_presence, business, None);
        invocation
            .arg(agent_id)
            .arg(presence.status.as_str())
            .arg(presence.capacity)
            .arg(ttl_ms);
        for skill in &presence.skills {
            invocation.arg(skill);
        }
        let _: u8 = invocation
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable("set_presence"))?;
        Ok(())
    }

    async fn agents(&self, business: &str) -> Result<Vec<AgentState>> {
        let rows: Vec<Vec<String>> = self
            .pool_invocation(&scripts().agents, business, None)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable("agents"))?;
        let mut agents = rows
            .into_iter()
            .map(agent_row)
            .collect::<Result<Vec<_>>>()?;
        agents.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        Ok(agents)
    }

    async fn enqueue(
        &self,
        business: &str,
        queue: &str,
        entry: &QueueEntry,
    ) -> Result<EnqueueOutcome> {
        let mut invocation = self.pool_invocation(&scripts().enqueue, business, Some(queue));
        invocation
            .arg(&entry.conversation)
            .arg(-i64::from(entry.priority))
            .arg(member(entry))
            .arg(entry.declined.len());
        for declined in &entry.declined {
            invocation.arg(&declined.agent_id).arg(declined.until_ms);
        }
        for skill in &entry.required_skills {
            invocation.arg(skill);
        }
        let outcome: u8 = invocation
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable("enqueue"))?;
        match outcome {
            1 => Ok(EnqueueOutcome::Added),
            0 => Ok(EnqueueOutcome::AlreadyQueued),
            2 => Ok(EnqueueOutcome::AlreadyAssigned),
            other => Err(protocol("enqueue", format!("outcome {other}"))),
        }
    }

    async fn position(
        &self,
        business: &str,
        queue: &str,
        conversation: &str,
    ) -> Result<Option<usize>> {
        let rank: i64 = self
            .pool_invocation(&scripts().position, business, Some(queue))
            .arg(conversation)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable("position"))?;
        Ok(usize::try_from(rank).ok())
    }

    async fn places_ahead(&self, business: &str, queue: &str, entry: &QueueEntry) -> Result<usize> {
        let ahead: i64 = self
            .pool_invocation(&scripts().places_ahead, business, Some(queue))
            .arg(&entry.conversation)
            .arg(-i64::from(entry.priority))
            .arg(member(entry))
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable("places_ahead"))?;
        usize::try_from(ahead).map_err(|_| protocol("places_ahead", format!("count {ahead}")))
    }

    async fn dequeue(&self, business: &str, queue: &str, conversation: &str) -> Result<bool> {
        let removed: u8 = self
            .pool_invocation(&scripts().dequeue, business, Some(queue))
            .arg(conversation)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable("dequeue"))?;
        Ok(removed == 1)
    }

    async fn assign_first(
        &self,
        business: &str,
        queues: &[QueueChoice<'_>],
        now_ms: u64,
    ) -> Result<Option<(String, Assignment)>> {
        if queues.is_empty() {
            return Ok(None);
        }
        let mut invocation = self.pool_invocation(&scripts().assign_first, business, None);
        for choice in queues {
            if let Some((zset, entries)) =
                PoolKeys::new(self.key_prefix(), business, Some(choice.queue)).queue
            {
                invocation.key(zset).key(entries);
            }
            invocation.arg(
                relax_cutoff(now_ms, choice.relax_after)
                    .map_or_else(String::new, |c| format!("{c:020}")),
            );
        }
        invocation.arg(now_ms);
        let assigned: Option<(usize, String, String)> = invocation
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable("assign_first"))?;
        let Some((index, conversation, agent_id)) = assigned else {
            return Ok(None);
        };
        let queue = index
            .checked_sub(1)
            .and_then(|i| queues.get(i))
            .ok_or_else(|| protocol("assign_first", format!("queue index {index}")))?;
        Ok(Some((
            queue.queue.to_owned(),
            Assignment {
                conversation,
                agent_id,
            },
        )))
    }

    async fn assign_to(&self, business: &str, agent_id: &str, conversation: &str) -> Result<bool> {
        let assigned: u8 = self
            .pool_invocation(&scripts().assign_to, business, None)
            .arg(agent_id)
            .arg(conversation)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable("assign_to"))?;
        Ok(assigned == 1)
    }

    async fn release(&self, business: &str, agent_id: &str, conversation: &str) -> Result<bool> {
        let released: u8 = self
            .pool_invocation(&scripts().release, business, None)
            .arg(agent_id)
            .arg(conversation)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable("release"))?;
        Ok(released == 1)
    }

    async fn assignment(&self, business: &str, conversation: &str) -> Result<Option<String>> {
        let keys = PoolKeys::new(self.key_prefix(), business, None);
        redis::cmd("HGET")
            .arg(keys.assign)
            .arg(conversation)
            .query_async(&mut self.connection())
            .await
            .map_err(unavailable("assignment"))
    }

    async fn assignments_of(&self, business: &str, agent_id: &str) -> Result<Vec<String>> {
        let keys = PoolKeys::new(self.key_prefix(), business, None);
        let all: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(keys.assign)
            .query_async(&mut self.connection())
            .await
            .map_err(unavailable("assignments_of"))?;
        let mut held: Vec<String> = all
            .into_iter()
            .filter(|(_, agent)| agent == agent_id)
            .map(|(conversation, _)| conversation)
            .collect();
        held.sort();
        Ok(held)
    }

    async fn requeue_agent(&self, business: &str, agent_id: &str) -> Result<Vec<String>> {
        let mut held: Vec<String> = self
            .pool_invocation(&scripts().requeue_agent, business, None)
            .arg(agent_id)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable("requeue_agent"))?;
        held.sort();
        Ok(held)
    }
}
