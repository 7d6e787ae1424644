//! Assignment through the agent pool: after an enqueue, when capacity frees up and every
//! tick; re-queueing on a missed response target; presence and capacity commands; and the
//! repair of a pool holding the state does not record (a replica died in between).

use parley_proto::v1::{AgentPresence, ConversationState, LifecycleState};
use parley_state::{Assignment, Presence, PresenceStatus, QueueChoice};
use parley_types::{BusinessId, ConversationKey, EventId};
use prost::Message as _;

use crate::{
    effects::tick_cause,
    handler::{Cause, Failure, Processed, Shared, Told, ms_of, now_ms},
    lifecycle::{Ignored, Input},
};

impl Shared {
    /// Assigns conversations of `business` while agents can take them. Every assignment
    /// looks at the queues highest priority first, atomically in the pool, so an agent
    /// never takes a lower-priority conversation it could leave for a waiting
    /// higher-priority one, whichever replica assigns.
    pub(crate) async fn assign_business(&self, business: &BusinessId) -> Result<(), Failure> {
        let rules = self.rules(business);
        let mut queues: Vec<_> = rules.queues().collect();
        queues.sort_by(|a, b| {
            b.priority()
                .cmp(&a.priority())
                .then_with(|| a.name().cmp(b.name()))
        });
        let choices: Vec<QueueChoice<'_>> = queues
            .iter()
            .map(|q| QueueChoice {
                queue: q.name(),
                relax_after: q.relax_skills_after(),
            })
            .collect();
        while let Some((_, assignment)) = self
            .pool
            .assign_first(business.as_str(), &choices, now_ms())
            .await
            .map_err(|e| format!("assign: {e}"))?
        {
            let cause = self
                .decision_cause(
                    "assign",
                    business,
                    &assignment.agent_id,
                    &assignment.conversation,
                )
                .await?;
            self.on_assigned(business, &assignment, cause).await?;
        }
        Ok(())
    }

    /// The cause of a decision the pool or the tick made about a conversation and an agent,
    /// from the conversation's stored version: a replica that repeats the decision after
    /// another died half-way (the same conversation, agent and version) publishes the same
    /// event ids, which the streams drop, so the agent is not offered the conversation twice.
    pub(crate) async fn decision_cause(
        &self,
        what: &str,
        business: &BusinessId,
        agent: &str,
        tag: &str,
    ) -> Result<EventId, Failure> {
        let Ok(key) = ConversationKey::parse(business.as_str(), tag) else {
            return Ok(EventId::fresh());
        };
        let version = self
            .store
            .load(&key)
            .await
            .map_err(|e| format!("load: {e}"))?
            .map_or(0, |v| v.version);
        Ok(tick_cause(what, business, agent, tag, version))
    }

    /// Records an assignment the pool made in the conversation's state and tells the agent.
    pub(crate) async fn on_assigned(
        &self,
        business: &BusinessId,
        assignment: &Assignment,
        cause_id: EventId,
    ) -> Result<(), Failure> {
        let Ok(key) = ConversationKey::parse(business.as_str(), &assignment.conversation) else {
            return Ok(());
        };
        let cause = Cause {
            event_id: cause_id,
            inbound: None,
            sequence: None,
            late: false,
            redelivered: false,
            told: Told::default(),
            outbox_done: None,
            preloaded: None,
        };
        let input = Input::AgentAccept {
            agent: assignment.agent_id.clone(),
        };
        match self.process(&key, &input, &cause).await {
            Ok(Processed::Ignored(Ignored::AlreadyThere)) | Ok(Processed::Applied { .. }) => Ok(()),
            Ok(_) => {
                // No longer queued (closed or resolved meanwhile): give the capacity back.
                self.pool
                    .release(
                        business.as_str(),
                        &assignment.agent_id,
                        &assignment.conversation,
                    )
                    .await
                    .map_err(|e| format!("release: {e}"))?;
                Ok(())
            }
            Err(error) => {
                self.pool
                    .release(
                        business.as_str(),
                        &assignment.agent_id,
                        &assignment.conversation,
                    )
                    .await
                    .map_err(|e| format!("release: {e}"))?;
                // Still queued in the state: put it back in the pool (the tick retries).
                if let Ok(Some(stored)) = self.store.load(&key).await
                    && let Ok(state) = ConversationState::decode(stored.state.as_ref())
                    && state.lifecycle == LifecycleState::Queued as i32
                {
                    let _ = self.enqueue(&key, &state).await;
                }
                Err(error)
            }
        }
    }

    /// Re-queues conversations whose agent did not answer within the queue's response
    /// target (no `AgentReplied` since the assignment).
    pub(crate) async fn check_response_targets(
        &self,
        business: &BusinessId,
    ) -> Result<(), Failure> {
        let now = now_ms();
        let agents = self
            .pool
            .agents(business.as_str())
            .await
            .map_err(|e| format!("agents: {e}"))?;
        let mut seen = Vec::new();
        for agent in agents {
            let held = self
                .pool
                .assignments_of(business.as_str(), &agent.agent_id)
                .await
                .map_err(|e| format!("assignments: {e}"))?;
            for tag in held {
                let Ok(key) = ConversationKey::parse(business.as_str(), &tag) else {
                    continue;
                };
                let state = match self
                    .store
                    .load(&key)
                    .await
                    .map_err(|e| format!("load: {e}"))?
                {
                    Some(stored) => ConversationState::decode(stored.state.as_ref()).ok(),
                    None => None,
                };
                let holds = state.as_ref().is_some_and(|s| {
                    s.lifecycle == LifecycleState::Assigned as i32
                        && s.assigned_agent_id == agent.agent_id
                });
                if !holds {
                    let mark = format!("{business}/{}/{tag}", agent.agent_id);
                    seen.push(mark.clone());
                    if self.stale_mismatch(&mark) {
                        self.reconcile(business, &key, &agent.agent_id, state.as_ref())
                            .await?;
                    }
                    continue;
                }
                let Some(state) = state else {
                    continue;
                };
                let entered = ms_of(state.state_entered_at.as_ref());
                if ms_of(state.last_business_message_at.as_ref()) >= entered {
                    continue;
                }
                let Some(queue) = self.rules(business).queue(&state.queue) else {
                    continue;
                };
                let target = u64::try_from(queue.response_target().as_millis()).unwrap_or(u64::MAX);
                if now.saturating_sub(entered) < target {
                    continue;
                }
                // Every replica's tick sees the same miss: the same cause (and so the same
                // event ids) for the same assignment.
                let cause = Cause {
                    event_id: tick_cause("missed", business, &agent.agent_id, &tag, state.version),
                    inbound: None,
                    sequence: None,
                    late: false,
                    redelivered: false,
                    told: Told::default(),
                    outbox_done: None,
                    preloaded: None,
                };
                let input = Input::AgentLost {
                    agent: agent.agent_id.clone(),
                };
                let processed = self.process(&key, &input, &cause).await?;
                if matches!(processed, Processed::Applied { .. }) {
                    // The agent is not answering: no new work until it announces presence
                    // again (otherwise the least-loaded pick would hand the conversation
                    // straight back to it).
                    self.pool
                        .set_presence(
                            business.as_str(),
                            &agent.agent_id,
                            &Presence {
                                status: PresenceStatus::Away,
                                capacity: agent.capacity,
                                skills: agent.skills.clone(),
                            },
                            self.config.presence_ttl,
                        )
                        .await
                        .map_err(|e| format!("presence: {e}"))?;
                }
                self.follow_up(business, &processed).await?;
            }
        }
        if let Ok(mut mismatches) = self.mismatches.lock() {
            let prefix = format!("{business}/");
            mismatches.retain(|mark, _| !mark.starts_with(&prefix) || seen.contains(mark));
        }
        Ok(())
    }

    /// True once a disagreement between the pool and the state has lasted
    /// `reconcile_after` (an assignment or release in flight disagrees for milliseconds).
    pub(crate) fn stale_mismatch(&self, mark: &str) -> bool {
        let Ok(mut mismatches) = self.mismatches.lock() else {
            return false;
        };
        let first = *mismatches
            .entry(mark.to_owned())
            .or_insert_with(std::time::Instant::now);
        if first.elapsed() >= self.config.reconcile_after {
            mismatches.remove(mark);
            true
        } else {
            false
        }
    }

    /// Repairs a pool holding the state does not agree with: a conversation still queued
    /// gets the assignment the pool made (the replica that made it died before writing it);
    /// otherwise the agent's capacity is given back.
    pub(crate) async fn reconcile(
        &self,
        business: &BusinessId,
        key: &ConversationKey,
        agent: &str,
        state: Option<&ConversationState>,
    ) -> Result<(), Failure> {
        tracing::warn!(agent, "repairing an assignment the state does not record");
        if let Some(state) = state.filter(|s| s.lifecycle == LifecycleState::Queued as i32) {
            let tag = key.opaque.as_str();
            self.on_assigned(
                business,
                &Assignment {
                    conversation: tag.to_owned(),
                    agent_id: agent.to_owned(),
                },
                tick_cause("assign", business, agent, tag, state.version),
            )
            .await
        } else {
            self.pool
                .release(business.as_str(), agent, key.opaque.as_str())
                .await
                .map_err(|e| format!("release: {e}"))?;
            self.assign_business(business).await
        }
    }

    /// Takes every conversation from an agent who is gone (said offline, or whose presence
    /// expired because its connection died) and puts it back in its queue.
    pub(crate) async fn agent_gone(
        &self,
        business: &BusinessId,
        agent_id: &str,
    ) -> Result<(), Failure> {
        let held = self
            .pool
            .requeue_agent(business.as_str(), agent_id)
            .await
            .map_err(|e| e.to_string())?;
        for tag in held {
            let Ok(key) = ConversationKey::parse(business.as_str(), &tag) else {
                continue;
            };
            let cause = Cause {
                event_id: self
                    .decision_cause("lost", business, agent_id, &tag)
                    .await?,
                inbound: None,
                sequence: None,
                late: false,
                redelivered: false,
                told: Told::default(),
                outbox_done: None,
                preloaded: None,
            };
            self.process(
                &key,
                &Input::AgentLost {
                    agent: agent_id.to_owned(),
                },
                &cause,
            )
            .await?;
        }
        Ok(())
    }

    /// Re-queues the work of agents whose presence expired (no heartbeat): the pool reports
    /// them offline while they still hold conversations.
    pub(crate) async fn requeue_expired(&self, business: &BusinessId) -> Result<(), Failure> {
        let agents = self
            .pool
            .agents(business.as_str())
            .await
            .map_err(|e| format!("agents: {e}"))?;
        for agent in agents {
            if agent.status == PresenceStatus::Offline && agent.load > 0 {
                tracing::info!(agent = %agent.agent_id, "presence expired; re-queueing its conversations");
                self.agent_gone(business, &agent.agent_id).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn presence(
        &self,
        business: &BusinessId,
        change: &parley_proto::v1::AgentPresenceChanged,
    ) -> Result<(), Failure> {
        let agents = self
            .pool
            .agents(business.as_str())
            .await
            .map_err(|e| e.to_string())?;
        let current = agents.iter().find(|a| a.agent_id == change.agent_id);
        let capacity = current.map_or(1, |a| a.capacity);
        let status = match change.presence() {
            AgentPresence::Available => PresenceStatus::Available,
            AgentPresence::Away => PresenceStatus::Away,
            AgentPresence::Offline | AgentPresence::Unspecified => PresenceStatus::Offline,
        };
        // The agent gateway writes the pool itself, with the heartbeat's short lifetime,
        // before it tells routing: rewriting the same presence here would stretch it to
        // routing's `presence_ttl`, and an agent whose console died would keep its
        // conversations that long. Only a presence the pool does not hold yet is written.
        let held = current.is_some_and(|a| a.status == status && a.skills == change.skills);
        if !held {
            self.pool
                .set_presence(
                    business.as_str(),
                    &change.agent_id,
                    &Presence {
                        status,
                        capacity,
                        skills: change.skills.clone(),
                    },
                    self.config.presence_ttl,
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        if status == PresenceStatus::Offline {
            self.agent_gone(business, &change.agent_id).await?;
        }
        self.assign_business(business).await
    }

    pub(crate) async fn capacity(
        &self,
        business: &BusinessId,
        change: &parley_proto::v1::AgentCapacityChanged,
    ) -> Result<(), Failure> {
        let agents = self
            .pool
            .agents(business.as_str())
            .await
            .map_err(|e| e.to_string())?;
        let current = agents.iter().find(|a| a.agent_id == change.agent_id);
        let (status, skills) = current.map_or((PresenceStatus::Offline, Vec::new()), |a| {
            (a.status, a.skills.clone())
        });
        // As for presence: what the gateway wrote already is not rewritten.
        if current.is_none_or(|a| a.capacity != change.max_conversations) {
            self.pool
                .set_presence(
                    business.as_str(),
                    &change.agent_id,
                    &Presence {
                        status,
                        capacity: change.max_conversations,
                        skills,
                    },
                    self.config.presence_ttl,
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        self.assign_business(business).await
    }
}
