//! The conversation state machine, as a pure reducer: ([`Conversation`], [`Input`],
//! [`Context`]) → [`Outcome`] (the next conversation and the [`Effect`]s to carry out).
//!
//! The states are the contract's [`LifecycleState`]. `Unspecified` is a conversation routing
//! has never seen; `New` is transient (a customer message moves a conversation through `New`
//! to `WithBot` or `Queued` in one step, publishing both transitions).
//!
//! | state \ input | customer message | customer close | bot escalate | agent accept | agent resolve | transfer | agent lost | return to bot | Parley close |
//! |---|---|---|---|---|---|---|---|---|---|
//! | unspecified, new | start; route | closed | – | – | – | – | – | – | – |
//! | with bot | to bot; trigger word → queued | closed | queued | – | – | – | – | – | resolved |
//! | queued | kept for the agent | closed | – | assigned | – | other queue or agent | – | – | resolved |
//! | assigned | to the agent | closed | – | – | resolved | other queue or agent | re-queued | with bot | resolved |
//! | closed by customer, resolved | reopen; route | closed (no-op if closed) | – | – | – | – | – | – | – |
//!
//! "–" means the input is ignored ([`Outcome::ignored`] says why) and nothing changes.
//! "route" applies [`Rules::route`] to the conversation's intent and group: the bot first, or
//! the queue directly. A customer message that is a trigger word ([`crate::escalation`])
//! always goes to the route's human queue, also when the bot owns the conversation and also
//! outside business hours. Entering a queue that is closed tells the customer the hours and
//! the next opening.
//!
//! Ownership: the bot owns a conversation only in `WithBot`; it stops owning it as soon as
//! the conversation enters a queue, before any human owns it, so the bot and an agent never
//! own a conversation at once (checked by a property test). While queued nobody answers: the
//! customer's messages are in the transcript (which the service appends for every message)
//! and reach the agent on assignment.
//!
//! Offers, capacity and skill matching are the assignment engine's job (a later part): the
//! reducer sees only the agent's acceptance. A transfer to an agent assigns directly.

use parley_proto::v1::{EscalationReason, LifecycleState, ResolutionReason};

use crate::escalation::escalation_word;
use crate::hours::Weekday;
use crate::rules::{Queue, Rules};

/// What routing knows about one conversation's ownership (the part of
/// `parley.v1.ConversationState` the state machine reads and writes).
///
/// Invariants kept by [`reduce`]: `with_bot` exactly in `WithBot`; `agent` set exactly in
/// `Assigned`; `queue` set in `Queued`. So the bot and an agent never own it together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Where the conversation is in its lifecycle.
    pub state: LifecycleState,
    /// The last non-empty `intent` Apple sent.
    pub intent: String,
    /// The last non-empty `group` Apple sent.
    pub group: String,
    /// The queue it waits in or last came from.
    pub queue: Option<String>,
    /// The assigned agent.
    pub agent: Option<String>,
    /// True while the bot owns the conversation.
    pub with_bot: bool,
    /// How many times the customer reopened it.
    pub reopen_count: u32,
}

impl Default for Conversation {
    fn default() -> Self {
        Self::new()
    }
}

impl Conversation {
    /// A conversation routing has never seen.
    pub fn new() -> Self {
        Self {
            state: LifecycleState::Unspecified,
            intent: String::new(),
            group: String::new(),
            queue: None,
            agent: None,
            with_bot: false,
            reopen_count: 0,
        }
    }

    /// True when the ownership fields agree with the state (see the type's invariants).
    pub fn is_consistent(&self) -> bool {
        self.with_bot == (self.state == LifecycleState::WithBot)
            && self.agent.is_some() == (self.state == LifecycleState::Assigned)
            && (self.state != LifecycleState::Queued || self.queue.is_some())
    }
}

/// Where a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    /// A queue, by name.
    Queue(String),
    /// A specific agent.
    Agent(String),
}

/// What happened to a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The customer sent a message (text, possibly empty for attachments or interactive
    /// replies). `intent` and `group` are Apple's, empty when absent.
    CustomerMessage {
        /// The message's text.
        text: String,
        /// Apple's `intent`, empty when absent.
        intent: String,
        /// Apple's `group`, empty when absent.
        group: String,
    },
    /// The customer deleted the conversation (Apple `close`).
    CustomerClose,
    /// The bot hands the conversation to a human.
    BotEscalate {
        /// Why.
        reason: EscalationReason,
        /// The queue the bot asks for; `None` (or an unknown queue) uses the route's queue.
        queue: Option<String>,
    },
    /// The bot resolved the conversation.
    BotResolve,
    /// An agent accepted the conversation offered from its queue.
    AgentAccept {
        /// The agent.
        agent: String,
    },
    /// The assigned agent resolved the conversation.
    AgentResolve {
        /// The agent.
        agent: String,
    },
    /// The conversation moves to another queue or agent.
    Transfer {
        /// Where to.
        target: TransferTarget,
    },
    /// The assigned agent is gone: presence died, or no answer within the queue's response
    /// target.
    AgentLost {
        /// The agent.
        agent: String,
    },
    /// The assigned agent hands the conversation back to the bot.
    ReturnToBot {
        /// The agent.
        agent: String,
        /// The agent's note for the bot.
        note: String,
    },
    /// Parley ends the conversation on its side (operator, inactivity, customer unreachable).
    /// Apple has no business-side close: the customer's next message reopens it.
    Close {
        /// How it is recorded.
        reason: ResolutionReason,
    },
}

/// What the reducer reads besides the conversation: the rules and the time.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The business's routing rules.
    pub rules: &'a Rules,
    /// Now, in seconds since the Unix epoch (UTC), for business hours.
    pub now_utc_seconds: i64,
}

/// Why a bot or an agent stops owning a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// It went to a human queue.
    Escalated,
    /// The customer deleted the conversation.
    CustomerClosed,
    /// It was resolved.
    Resolved,
    /// It was transferred elsewhere.
    Transferred,
    /// The agent was lost (presence or response target).
    Lost,
    /// The agent handed the conversation back to the bot.
    ReturnedToBot,
    /// Parley closed the conversation on its side.
    Closed,
}

/// The transition a [`TransitionEvent`] reports (the `transition` of
/// `parley.v1.ConversationEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new conversation started.
    Started,
    /// The customer wrote again in an ended conversation.
    Reopened {
        /// How many times it was reopened, this time included.
        reopen_count: u32,
    },
    /// The bot took the conversation.
    HandedToBot {
        /// The agent who handed it back; `None` when it came from routing's rules.
        returned_by: Option<String>,
    },
    /// The conversation entered a queue.
    Queued {
        /// The queue.
        queue: String,
        /// Why a human is needed.
        reason: EscalationReason,
        /// The skills the agent needs.
        skills: Vec<String>,
    },
    /// An agent took the conversation.
    Assigned {
        /// The agent.
        agent: String,
        /// The queue it came from; `None` for a direct transfer to the agent.
        queue: Option<String>,
        /// The previous agent, for a transfer.
        previous_agent: Option<String>,
    },
    /// The customer deleted the conversation.
    ClosedByCustomer {
        /// The agent who was assigned, if any.
        agent: Option<String>,
    },
    /// The business side resolved the conversation.
    Resolved {
        /// How.
        reason: ResolutionReason,
        /// The agent who resolved it, if any.
        agent: Option<String>,
    },
}

/// One lifecycle transition, to publish as a `parley.v1.ConversationEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionEvent {
    /// The state before.
    pub from: LifecycleState,
    /// The state after.
    pub to: LifecycleState,
    /// What happened.
    pub change: Change,
}

/// Something the service must do after storing the new state, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Publish a `ConversationEvent` on `amb.events.conversation`.
    Publish(TransitionEvent),
    /// Forward the customer's message to the bot (`amb.bot`).
    SendToBot {
        /// The message's text.
        text: String,
    },
    /// Tell the bot an agent handed the conversation back (`amb.bot`).
    ReturnedToBot {
        /// The agent.
        agent: String,
        /// The agent's note.
        note: String,
    },
    /// Tell the bot it no longer owns the conversation (its late replies are dropped).
    StopBot {
        /// Why.
        reason: EndReason,
    },
    /// Put the conversation in a queue.
    Enqueue {
        /// The queue.
        queue: String,
        /// The queue's priority.
        priority: u32,
        /// The skills the agent needs.
        skills: Vec<String>,
        /// Why.
        reason: EscalationReason,
    },
    /// Take the conversation out of a queue.
    Dequeue {
        /// The queue.
        queue: String,
    },
    /// Record the assignment and notify the agent (`amb.agent`), with the transcript so far.
    AssignAgent {
        /// The agent.
        agent: String,
        /// The queue it came from; `None` for a direct transfer.
        queue: Option<String>,
    },
    /// The agent no longer handles the conversation: free its capacity and tell it.
    ReleaseAgent {
        /// The agent.
        agent: String,
        /// Why.
        reason: EndReason,
    },
    /// Forward the customer's message to the assigned agent (`amb.agent`).
    ForwardToAgent {
        /// The agent.
        agent: String,
        /// The message's text.
        text: String,
    },
    /// Tell the customer the queue is closed and when it opens.
    TellCustomerHours {
        /// The queue.
        queue: String,
        /// The queue's configured message.
        message: String,
        /// The next opening, local weekday and `"HH:MM"`, if any within a year.
        next_opening: Option<(Weekday, String)>,
    },
}

/// Why an input changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// The input does not apply in the conversation's state (for example a late bot
    /// escalation after an agent took over, or an accept for a conversation not queued).
    NotInThisState,
    /// The input names an agent who is not the assigned one.
    NotTheAssignedAgent,
    /// A transfer to a queue the rules do not have.
    UnknownQueue,
    /// The conversation is already there (a repeated input).
    AlreadyThere,
}

/// The result of [`reduce`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The conversation after the input.
    pub conversation: Conversation,
    /// What to do, in order.
    pub effects: Vec<Effect>,
    /// Set when the input changed nothing (then `effects` is empty).
    pub ignored: Option<Ignored>,
}

/// Applies one input to a conversation.
pub fn reduce(conversation: &Conversation, input: &Input, ctx: &Context<'_>) -> Outcome {
    let mut step = Step {
        ctx,
        conv: conversation.clone(),
        effects: Vec::new(),
    };
    let result = step.apply(input);
    match result {
        Ok(()) => Outcome {
            conversation: step.conv,
            effects: step.effects,
            ignored: None,
        },
        Err(why) => Outcome {
            conversation: conversation.clone(),
            effects: Vec::new(),
            ignored: Some(why),
        },
    }
}

struct Step<'c, 'r> {
    ctx: &'c Context<'r>,
    conv: Conversation,
    effects: Vec<Effect>,
}

impl<'r> Step<'_, 'r> {
    fn apply(&mut self, input: &Input) -> Result<(), Ignored> {
        use LifecycleState as S;
        let state = self.conv.state;
        match input {
            Input::CustomerMessage {
                text,
                intent,
                group,
            } => {
                if !intent.trim().is_empty() {
                    self.conv.intent = intent.trim().to_owned();
                }
                if !group.trim().is_empty() {
                    self.conv.group = group.trim().to_owned();
                }
                self.customer_message(text);
                Ok(())
            }
            Input::CustomerClose => {
                if state == S::ClosedByCustomer {
                    return Err(Ignored::AlreadyThere);
                }
                let agent = self.conv.agent.clone();
                self.release_owner(EndReason::CustomerClosed);
                self.transition(S::ClosedByCustomer, Change::ClosedByCustomer { agent });
                Ok(())
            }
            Input::BotEscalate { reason, queue } => {
                if state != S::WithBot {
                    return Err(Ignored::NotInThisState);
                }
                let queue = queue
                    .as_deref()
                    .and_then(|q| self.ctx.rules.queue(q))
                    .unwrap_or_else(|| self.route_queue());
                self.enter_queue(queue, *reason, EndReason::Escalated);
                Ok(())
            }
            Input::BotResolve => {
                if state != S::WithBot {
                    return Err(Ignored::NotInThisState);
                }
                self.release_owner(EndReason::Resolved);
                self.transition(
                    S::Resolved,
                    Change::Resolved {
                        reason: ResolutionReason::ResolvedByBot,
                        agent: None,
                    },
                );
                Ok(())
            }
            Input::AgentAccept { agent } => match state {
                S::Queued => {
                    let queue = self.conv.queue.clone();
                    self.enter_assigned(agent, queue);
                    Ok(())
                }
                S::Assigned if self.conv.agent.as_deref() == Some(agent) => {
                    Err(Ignored::AlreadyThere)
                }
                S::Assigned => Err(Ignored::NotTheAssignedAgent),
                _ => Err(Ignored::NotInThisState),
            },
            Input::AgentResolve { agent } => {
                self.check_assigned(agent)?;
                self.release_owner(EndReason::Resolved);
                self.transition(
                    S::Resolved,
                    Change::Resolved {
                        reason: ResolutionReason::ResolvedByAgent,
                        agent: Some(agent.clone()),
                    },
                );
                Ok(())
            }
            Input::Transfer { target } => {
                if !matches!(state, S::Queued | S::Assigned) {
                    return Err(Ignored::NotInThisState);
                }
                match target {
                    TransferTarget::Queue(name) => {
                        let queue = self.ctx.rules.queue(name).ok_or(Ignored::UnknownQueue)?;
                        if state == S::Queued && self.conv.queue.as_deref() == Some(name) {
                            return Err(Ignored::AlreadyThere);
                        }
                        self.enter_queue(queue, EscalationReason::Transfer, EndReason::Transferred);
                    }
                    TransferTarget::Agent(agent) => {
                        if self.conv.agent.as_deref() == Some(agent) {
                            return Err(Ignored::AlreadyThere);
                        }
                        self.enter_assigned(agent, None);
                    }
                }
                Ok(())
            }
            Input::AgentLost { agent } => {
                self.check_assigned(agent)?;
                let queue = self
                    .conv
                    .queue
                    .as_deref()
                    .and_then(|q| self.ctx.rules.queue(q))
                    .unwrap_or_else(|| self.route_queue());
                self.enter_queue(queue, EscalationReason::Reassignment, EndReason::Lost);
                Ok(())
            }
            Input::ReturnToBot { agent, note } => {
                self.check_assigned(agent)?;
                self.release_owner(EndReason::ReturnedToBot);
                self.conv.with_bot = true;
                self.transition(
                    S::WithBot,
                    Change::HandedToBot {
                        returned_by: Some(agent.clone()),
                    },
                );
                self.effects.push(Effect::ReturnedToBot {
                    agent: agent.clone(),
                    note: note.clone(),
                });
                Ok(())
            }
            Input::Close { reason } => {
                if !matches!(state, S::New | S::WithBot | S::Queued | S::Assigned) {
                    return Err(Ignored::NotInThisState);
                }
                self.release_owner(EndReason::Closed);
                self.transition(
                    S::Resolved,
                    Change::Resolved {
                        reason: *reason,
                        agent: None,
                    },
                );
                Ok(())
            }
        }
    }

    fn check_assigned(&self, agent: &str) -> Result<(), Ignored> {
        match (self.conv.state, self.conv.agent.as_deref()) {
            (LifecycleState::Assigned, Some(assigned)) if assigned == agent => Ok(()),
            (LifecycleState::Assigned, _) => Err(Ignored::NotTheAssignedAgent),
            _ => Err(Ignored::NotInThisState),
        }
    }

    fn customer_message(&mut self, text: &str) {
        use LifecycleState as S;
        let word = escalation_word(text);
        match self.conv.state {
            S::Unspecified => {
                self.transition(S::New, Change::Started);
                self.route_new(text, EscalationReason::NoBot);
            }
            S::New => self.route_new(text, EscalationReason::NoBot),
            S::ClosedByCustomer | S::Resolved => {
                self.conv.reopen_count = self.conv.reopen_count.saturating_add(1);
                let reopen_count = self.conv.reopen_count;
                self.transition(S::New, Change::Reopened { reopen_count });
                self.route_new(text, EscalationReason::Reopened);
            }
            S::WithBot => {
                if word.is_some() {
                    let queue = self.route_queue();
                    self.enter_queue(queue, EscalationReason::TriggerWord, EndReason::Escalated);
                } else {
                    self.effects.push(Effect::SendToBot {
                        text: text.to_owned(),
                    });
                }
            }
            // Nobody answers while queued: the message waits in the transcript.
            S::Queued => {}
            S::Assigned => {
                if let Some(agent) = self.conv.agent.clone() {
                    self.effects.push(Effect::ForwardToAgent {
                        agent,
                        text: text.to_owned(),
                    });
                }
            }
        }
    }

    /// Decides who answers a conversation in `New`.
    fn route_new(&mut self, text: &str, human_reason: EscalationReason) {
        let route = self.ctx.rules.route(&self.conv.intent, &self.conv.group);
        let queue = self.route_queue();
        if escalation_word(text).is_some() {
            self.enter_queue(queue, EscalationReason::TriggerWord, EndReason::Escalated);
        } else if route.bot_first {
            self.conv.with_bot = true;
            self.transition(
                LifecycleState::WithBot,
                Change::HandedToBot { returned_by: None },
            );
            self.effects.push(Effect::SendToBot {
                text: text.to_owned(),
            });
        } else {
            self.enter_queue(queue, human_reason, EndReason::Escalated);
        }
    }

    /// The human queue of the conversation's route.
    fn route_queue(&self) -> &'r Queue {
        self.ctx
            .rules
            .route_queue(&self.conv.intent, &self.conv.group)
    }

    /// Ends the bot's or agent's ownership and leaves the current queue.
    fn release_owner(&mut self, reason: EndReason) {
        if self.conv.with_bot {
            self.conv.with_bot = false;
            self.effects.push(Effect::StopBot { reason });
        }
        if let Some(agent) = self.conv.agent.take() {
            self.effects.push(Effect::ReleaseAgent { agent, reason });
        }
        if self.conv.state == LifecycleState::Queued
            && let Some(queue) = self.conv.queue.clone()
        {
            self.effects.push(Effect::Dequeue { queue });
        }
    }

    fn enter_queue(&mut self, queue: &Queue, reason: EscalationReason, end: EndReason) {
        self.release_owner(end);
        let name = queue.name().to_owned();
        self.conv.queue = Some(name.clone());
        self.transition(
            LifecycleState::Queued,
            Change::Queued {
                queue: name.clone(),
                reason,
                skills: queue.skills().to_vec(),
            },
        );
        self.effects.push(Effect::Enqueue {
            queue: name.clone(),
            priority: queue.priority(),
            skills: queue.skills().to_vec(),
            reason,
        });
        let now = self.ctx.now_utc_seconds;
        if let Some(hours) = queue.hours()
            && !hours.is_open(now)
        {
            self.effects.push(Effect::TellCustomerHours {
                queue: name,
                message: hours.closed_message().to_owned(),
                next_opening: hours.next_opening(now),
            });
        }
    }

    fn enter_assigned(&mut self, agent: &str, queue: Option<String>) {
        let previous_agent = self.conv.agent.clone();
        self.release_owner(EndReason::Transferred);
        self.conv.agent = Some(agent.to_owned());
        self.transition(
            LifecycleState::Assigned,
            Change::Assigned {
                agent: agent.to_owned(),
                queue: queue.clone(),
                previous_agent,
            },
        );
        self.effects.push(Effect::AssignAgent {
            agent: agent.to_owned(),
            queue,
        });
    }

    fn transition(&mut self, to: LifecycleState, change: Change) {
        let from = self.conv.state;
        self.conv.state = to;
        self.effects
            .push(Effect::Publish(TransitionEvent { from, to, change }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hours::tests::at;
    use LifecycleState as S;
    use proptest::prelude::*;

    const RULES: &str = r#"
[queues.general]
priority = 1
response_target = "5m"

[queues.billing]
priority = 10
skills = ["billing"]
response_target = "2m"

[queues.billing.hours]
utc_offset = "+00:00"
holidays = ["2026-12-25"]
closed_message = "Billing is closed."

[queues.billing.hours.weekly]
mon = [["09:00", "17:00"]]
tue = [["09:00", "17:00"]]
wed = [["09:00", "17:00"]]
thu = [["09:00", "17:00"]]
fri = [["09:00", "17:00"]]

[[rules]]
intent = "billing"
group = "*"
queue = "billing"
bot_first = false

[[rules]]
intent = "orders"
group = "*"
queue = "billing"
bot_first = true

[default]
queue = "general"
bot_first = true
"#;

    fn rules() -> Rules {
        Rules::from_toml(RULES).unwrap()
    }

    /// Monday 10:00 UTC: billing open.
    fn open() -> i64 {
        at("2026-11-23", 10, 0)
    }

    /// Saturday 10:00 UTC: billing closed until Monday 09:00.
    fn closed() -> i64 {
        at("2026-11-28", 10, 0)
    }

    fn msg(text: &str) -> Input {
        Input::CustomerMessage {
            text: text.to_owned(),
            intent: String::new(),
            group: String::new(),
        }
    }

    fn msg_intent(text: &str, intent: &str) -> Input {
        Input::CustomerMessage {
            text: text.to_owned(),
            intent: intent.to_owned(),
            group: String::new(),
        }
    }

    fn conv(state: S, intent: &str, queue: Option<&str>, agent: Option<&str>) -> Conversation {
        Conversation {
            state,
            intent: intent.to_owned(),
            group: String::new(),
            queue: queue.map(str::to_owned),
            agent: agent.map(str::to_owned),
            with_bot: state == S::WithBot,
            reopen_count: 0,
        }
    }

    fn fresh() -> Conversation {
        Conversation::new()
    }
    fn bot(intent: &str) -> Conversation {
        conv(S::WithBot, intent, None, None)
    }
    fn queued(q: &str) -> Conversation {
        conv(S::Queued, "", Some(q), None)
    }
    fn assigned(a: &str, q: &str) -> Conversation {
        conv(S::Assigned, "", Some(q), Some(a))
    }
    fn ended(state: S, q: Option<&str>) -> Conversation {
        conv(state, "", q, None)
    }

    fn publish(from: S, to: S, change: Change) -> Effect {
        Effect::Publish(TransitionEvent { from, to, change })
    }
    fn to_queue(from: S, q: &str, reason: EscalationReason) -> Vec<Effect> {
        let (priority, skills) = match q {
            "billing" => (10, vec!["billing".to_owned()]),
            _ => (1, vec![]),
        };
        vec![
            publish(
                from,
                S::Queued,
                Change::Queued {
                    queue: q.to_owned(),
                    reason,
                    skills: skills.clone(),
                },
            ),
            Effect::Enqueue {
                queue: q.to_owned(),
                priority,
                skills,
                reason,
            },
        ]
    }
    fn hours_told() -> Effect {
        Effect::TellCustomerHours {
            queue: "billing".to_owned(),
            message: "Billing is closed.".to_owned(),
            next_opening: Some((Weekday::Mon, "09:00".to_owned())),
        }
    }
    fn to_bot(from: S, text: &str) -> Vec<Effect> {
        vec![
            publish(from, S::WithBot, Change::HandedToBot { returned_by: None }),
            Effect::SendToBot {
                text: text.to_owned(),
            },
        ]
    }
    fn stop_bot(reason: EndReason) -> Effect {
        Effect::StopBot { reason }
    }
    fn release(a: &str, reason: EndReason) -> Effect {
        Effect::ReleaseAgent {
            agent: a.to_owned(),
            reason,
        }
    }
    fn dequeue(q: &str) -> Effect {
        Effect::Dequeue {
            queue: q.to_owned(),
        }
    }
    fn assign(from: S, a: &str, q: Option<&str>, previous: Option<&str>) -> Vec<Effect> {
        vec![
            publish(
                from,
                S::Assigned,
                Change::Assigned {
                    agent: a.to_owned(),
                    queue: q.map(str::to_owned),
                    previous_agent: previous.map(str::to_owned),
                },
            ),
            Effect::AssignAgent {
                agent: a.to_owned(),
                queue: q.map(str::to_owned),
            },
        ]
    }
    fn cat(parts: Vec<Vec<Effect>>) -> Vec<Effect> {
        parts.into_iter().flatten().collect()
    }
    fn started() -> Vec<Effect> {
        vec![publish(S::Unspecified, S::New, Change::Started)]
    }
    fn reopened(from: S, n: u32) -> Vec<Effect> {
        vec![publish(from, S::New, Change::Reopened { reopen_count: n })]
    }

    struct Row {
        name: &'static str,
        start: Conversation,
        input: Input,
        now: i64,
        state: S,
        effects: Vec<Effect>,
    }

    fn row(
        name: &'static str,
        start: Conversation,
        input: Input,
        now: i64,
        state: S,
        effects: Vec<Effect>,
    ) -> Row {
        Row {
            name,
            start,
            input,
            now,
            state,
            effects,
        }
    }

    #[test]
    fn every_transition() {
        use EscalationReason as R;
        let resolved_by = |agent: Option<&str>, reason| Change::Resolved {
            reason,
            agent: agent.map(str::to_owned),
        };
        let table = vec![
            // A first message: bot first by default, human first for billing.
            row(
                "new → bot",
                fresh(),
                msg("hi"),
                open(),
                S::WithBot,
                cat(vec![started(), to_bot(S::New, "hi")]),
            ),
            row(
                "new → queue (human first)",
                fresh(),
                msg_intent("hi", "BILLING"),
                open(),
                S::Queued,
                cat(vec![started(), to_queue(S::New, "billing", R::NoBot)]),
            ),
            row(
                "new → queue outside hours tells hours",
                fresh(),
                msg_intent("hi", "billing"),
                closed(),
                S::Queued,
                cat(vec![
                    started(),
                    to_queue(S::New, "billing", R::NoBot),
                    vec![hours_told()],
                ]),
            ),
            row(
                "new + trigger word on a bot-first route → queue",
                fresh(),
                msg("Agent!"),
                open(),
                S::Queued,
                cat(vec![started(), to_queue(S::New, "general", R::TriggerWord)]),
            ),
            row(
                "new + trigger word outside hours → queued, hours told",
                fresh(),
                msg_intent("HELP", "orders"),
                closed(),
                S::Queued,
                cat(vec![
                    started(),
                    to_queue(S::New, "billing", R::TriggerWord),
                    vec![hours_told()],
                ]),
            ),
            row(
                "stored New routes without Started",
                conv(S::New, "", None, None),
                msg("hi"),
                open(),
                S::WithBot,
                to_bot(S::New, "hi"),
            ),
            // With the bot.
            row(
                "bot: message forwarded",
                bot(""),
                msg("where is my order"),
                open(),
                S::WithBot,
                vec![Effect::SendToBot {
                    text: "where is my order".to_owned(),
                }],
            ),
            row(
                "bot: phrase with help stays with bot",
                bot(""),
                msg("I don't need help with X"),
                open(),
                S::WithBot,
                vec![Effect::SendToBot {
                    text: "I don't need help with X".to_owned(),
                }],
            ),
            row(
                "bot: trigger word → queue, bot stops",
                bot(""),
                msg("  HELP?"),
                open(),
                S::Queued,
                cat(vec![
                    vec![stop_bot(EndReason::Escalated)],
                    to_queue(S::WithBot, "general", R::TriggerWord),
                ]),
            ),
            row(
                "bot: trigger word outside hours → queued + hours",
                bot("orders"),
                msg("support."),
                closed(),
                S::Queued,
                cat(vec![
                    vec![stop_bot(EndReason::Escalated)],
                    to_queue(S::WithBot, "billing", R::TriggerWord),
                    vec![hours_told()],
                ]),
            ),
            row(
                "bot: escalate to route queue",
                bot("orders"),
                Input::BotEscalate {
                    reason: R::BotFallback,
                    queue: None,
                },
                open(),
                S::Queued,
                cat(vec![
                    vec![stop_bot(EndReason::Escalated)],
                    to_queue(S::WithBot, "billing", R::BotFallback),
                ]),
            ),
            row(
                "bot: escalate to a named queue",
                bot(""),
                Input::BotEscalate {
                    reason: R::BotFlow,
                    queue: Some("billing".to_owned()),
                },
                open(),
                S::Queued,
                cat(vec![
                    vec![stop_bot(EndReason::Escalated)],
                    to_queue(S::WithBot, "billing", R::BotFlow),
                ]),
            ),
            row(
                "bot: escalate to an unknown queue still reaches a human",
                bot(""),
                Input::BotEscalate {
                    reason: R::CustomerChoice,
                    queue: Some("nope".to_owned()),
                },
                open(),
                S::Queued,
                cat(vec![
                    vec![stop_bot(EndReason::Escalated)],
                    to_queue(S::WithBot, "general", R::CustomerChoice),
                ]),
            ),
            row(
                "bot: escalate outside hours tells hours",
                bot("orders"),
                Input::BotEscalate {
                    reason: R::BotFallback,
                    queue: None,
                },
                closed(),
                S::Queued,
                cat(vec![
                    vec![stop_bot(EndReason::Escalated)],
                    to_queue(S::WithBot, "billing", R::BotFallback),
                    vec![hours_told()],
                ]),
            ),
            row(
                "bot: resolve",
                bot(""),
                Input::BotResolve,
                open(),
                S::Resolved,
                vec![
                    stop_bot(EndReason::Resolved),
                    publish(
                        S::WithBot,
                        S::Resolved,
                        resolved_by(None, ResolutionReason::ResolvedByBot),
                    ),
                ],
            ),
            row(
                "bot: customer close",
                bot(""),
                Input::CustomerClose,
                open(),
                S::ClosedByCustomer,
                vec![
                    stop_bot(EndReason::CustomerClosed),
                    publish(
                        S::WithBot,
                        S::ClosedByCustomer,
                        Change::ClosedByCustomer { agent: None },
                    ),
                ],
            ),
            // Queued.
            row(
                "queued: message waits",
                queued("general"),
                msg("hello?"),
                open(),
                S::Queued,
                vec![],
            ),
            row(
                "queued: trigger word changes nothing",
                queued("general"),
                msg("agent"),
                closed(),
                S::Queued,
                vec![],
            ),
            row(
                "queued: accept",
                queued("billing"),
                Input::AgentAccept {
                    agent: "a1".to_owned(),
                },
                open(),
                S::Assigned,
                cat(vec![
                    vec![dequeue("billing")],
                    assign(S::Queued, "a1", Some("billing"), None),
                ]),
            ),
            row(
                "queued: transfer to another queue",
                queued("general"),
                Input::Transfer {
                    target: TransferTarget::Queue("billing".to_owned()),
                },
                open(),
                S::Queued,
                cat(vec![
                    vec![dequeue("general")],
                    to_queue(S::Queued, "billing", R::Transfer),
                ]),
            ),
            row(
                "queued: transfer to an agent",
                queued("general"),
                Input::Transfer {
                    target: TransferTarget::Agent("a2".to_owned()),
                },
                open(),
                S::Assigned,
                cat(vec![
                    vec![dequeue("general")],
                    assign(S::Queued, "a2", None, None),
                ]),
            ),
            row(
                "queued: customer close",
                queued("general"),
                Input::CustomerClose,
                open(),
                S::ClosedByCustomer,
                vec![
                    dequeue("general"),
                    publish(
                        S::Queued,
                        S::ClosedByCustomer,
                        Change::ClosedByCustomer { agent: None },
                    ),
                ],
            ),
            // Assigned.
            row(
                "assigned: message forwarded",
                assigned("a1", "general"),
                msg("thanks"),
                open(),
                S::Assigned,
                vec![Effect::ForwardToAgent {
                    agent: "a1".to_owned(),
                    text: "thanks".to_owned(),
                }],
            ),
            row(
                "assigned: trigger word goes to the agent",
                assigned("a1", "general"),
                msg("HELP!"),
                open(),
                S::Assigned,
                vec![Effect::ForwardToAgent {
                    agent: "a1".to_owned(),
                    text: "HELP!".to_owned(),
                }],
            ),
            row(
                "assigned: resolve",
                assigned("a1", "general"),
                Input::AgentResolve {
                    agent: "a1".to_owned(),
                },
                open(),
                S::Resolved,
                vec![
                    release("a1", EndReason::Resolved),
                    publish(
                        S::Assigned,
                        S::Resolved,
                        resolved_by(Some("a1"), ResolutionReason::ResolvedByAgent),
                    ),
                ],
            ),
            row(
                "assigned: transfer to a queue",
                assigned("a1", "general"),
                Input::Transfer {
                    target: TransferTarget::Queue("billing".to_owned()),
                },
                open(),
                S::Queued,
                cat(vec![
                    vec![release("a1", EndReason::Transferred)],
                    to_queue(S::Assigned, "billing", R::Transfer),
                ]),
            ),
            row(
                "assigned: transfer to a closed queue tells hours",
                assigned("a1", "general"),
                Input::Transfer {
                    target: TransferTarget::Queue("billing".to_owned()),
                },
                closed(),
                S::Queued,
                cat(vec![
                    vec![release("a1", EndReason::Transferred)],
                    to_queue(S::Assigned, "billing", R::Transfer),
                    vec![hours_told()],
                ]),
            ),
            row(
                "assigned: transfer to the same queue re-queues",
                assigned("a1", "general"),
                Input::Transfer {
                    target: TransferTarget::Queue("general".to_owned()),
                },
                open(),
                S::Queued,
                cat(vec![
                    vec![release("a1", EndReason::Transferred)],
                    to_queue(S::Assigned, "general", R::Transfer),
                ]),
            ),
            row(
                "assigned: transfer to an agent",
                assigned("a1", "general"),
                Input::Transfer {
                    target: TransferTarget::Agent("a2".to_owned()),
                },
                open(),
                S::Assigned,
                cat(vec![
                    vec![release("a1", EndReason::Transferred)],
                    assign(S::Assigned, "a2", None, Some("a1")),
                ]),
            ),
            row(
                "assigned: agent lost → back to its queue",
                assigned("a1", "billing"),
                Input::AgentLost {
                    agent: "a1".to_owned(),
                },
                open(),
                S::Queued,
                cat(vec![
                    vec![release("a1", EndReason::Lost)],
                    to_queue(S::Assigned, "billing", R::Reassignment),
                ]),
            ),
            row(
                "assigned: customer close",
                assigned("a1", "general"),
                Input::CustomerClose,
                open(),
                S::ClosedByCustomer,
                vec![
                    release("a1", EndReason::CustomerClosed),
                    publish(
                        S::Assigned,
                        S::ClosedByCustomer,
                        Change::ClosedByCustomer {
                            agent: Some("a1".to_owned()),
                        },
                    ),
                ],
            ),
            // Ended.
            row(
                "closed: message reopens (bot first)",
                ended(S::ClosedByCustomer, None),
                msg("hi again"),
                open(),
                S::WithBot,
                cat(vec![
                    reopened(S::ClosedByCustomer, 1),
                    to_bot(S::New, "hi again"),
                ]),
            ),
            row(
                "resolved: message reopens (human first)",
                ended(S::Resolved, Some("billing")),
                msg_intent("hi", "billing"),
                open(),
                S::Queued,
                cat(vec![
                    reopened(S::Resolved, 1),
                    to_queue(S::New, "billing", R::Reopened),
                ]),
            ),
            row(
                "resolved: trigger word reopens to a human",
                ended(S::Resolved, None),
                msg("Agent"),
                open(),
                S::Queued,
                cat(vec![
                    reopened(S::Resolved, 1),
                    to_queue(S::New, "general", R::TriggerWord),
                ]),
            ),
            row(
                "resolved: customer close",
                ended(S::Resolved, None),
                Input::CustomerClose,
                open(),
                S::ClosedByCustomer,
                vec![publish(
                    S::Resolved,
                    S::ClosedByCustomer,
                    Change::ClosedByCustomer { agent: None },
                )],
            ),
            row(
                "unseen: customer close",
                fresh(),
                Input::CustomerClose,
                open(),
                S::ClosedByCustomer,
                vec![publish(
                    S::Unspecified,
                    S::ClosedByCustomer,
                    Change::ClosedByCustomer { agent: None },
                )],
            ),
        ];
        let rules = rules();
        for row in table {
            let ctx = Context {
                rules: &rules,
                now_utc_seconds: row.now,
            };
            let out = reduce(&row.start, &row.input, &ctx);
            assert_eq!(out.ignored, None, "{}", row.name);
            assert_eq!(out.conversation.state, row.state, "{}", row.name);
            assert_eq!(out.effects, row.effects, "{}", row.name);
            assert!(
                out.conversation.is_consistent(),
                "{}: {:?}",
                row.name,
                out.conversation
            );
        }
    }

    #[test]
    fn ignored_inputs_change_nothing() {
        use Ignored as I;
        let a = |s: &str| s.to_owned();
        let table = vec![
            (
                fresh(),
                Input::BotEscalate {
                    reason: EscalationReason::BotFallback,
                    queue: None,
                },
                I::NotInThisState,
            ),
            (
                queued("general"),
                Input::BotEscalate {
                    reason: EscalationReason::BotFallback,
                    queue: None,
                },
                I::NotInThisState,
            ),
            (
                assigned("a1", "general"),
                Input::BotEscalate {
                    reason: EscalationReason::BotFallback,
                    queue: None,
                },
                I::NotInThisState,
            ),
            (
                assigned("a1", "general"),
                Input::BotResolve,
                I::NotInThisState,
            ),
            (
                bot(""),
                Input::AgentAccept { agent: a("a1") },
                I::NotInThisState,
            ),
            (
                ended(S::Resolved, None),
                Input::AgentAccept { agent: a("a1") },
                I::NotInThisState,
            ),
            (
                assigned("a1", "general"),
                Input::AgentAccept { agent: a("a1") },
                I::AlreadyThere,
            ),
            (
                assigned("a1", "general"),
                Input::AgentAccept { agent: a("a2") },
                I::NotTheAssignedAgent,
            ),
            (
                assigned("a1", "general"),
                Input::AgentResolve { agent: a("a2") },
                I::NotTheAssignedAgent,
            ),
            (
                queued("general"),
                Input::AgentResolve { agent: a("a1") },
                I::NotInThisState,
            ),
            (
                assigned("a1", "general"),
                Input::AgentLost { agent: a("a2") },
                I::NotTheAssignedAgent,
            ),
            (
                queued("general"),
                Input::AgentLost { agent: a("a1") },
                I::NotInThisState,
            ),
            (
                bot(""),
                Input::Transfer {
                    target: TransferTarget::Queue(a("billing")),
                },
                I::NotInThisState,
            ),
            (
                ended(S::ClosedByCustomer, None),
                Input::Transfer {
                    target: TransferTarget::Agent(a("a1")),
                },
                I::NotInThisState,
            ),
            (
                assigned("a1", "general"),
                Input::Transfer {
                    target: TransferTarget::Queue(a("nope")),
                },
                I::UnknownQueue,
            ),
            (
                assigned("a1", "general"),
                Input::Transfer {
                    target: TransferTarget::Agent(a("a1")),
                },
                I::AlreadyThere,
            ),
            (
                queued("general"),
                Input::Transfer {
                    target: TransferTarget::Queue(a("general")),
                },
                I::AlreadyThere,
            ),
            (
                ended(S::ClosedByCustomer, None),
                Input::CustomerClose,
                I::AlreadyThere,
            ),
        ];
        let rules = rules();
        let ctx = Context {
            rules: &rules,
            now_utc_seconds: open(),
        };
        for (start, input, why) in table {
            let out = reduce(&start, &input, &ctx);
            assert_eq!(out.ignored, Some(why), "{start:?} {input:?}");
            assert_eq!(out.conversation, start, "{input:?}");
            assert!(out.effects.is_empty(), "{input:?}");
        }
    }

    /// Applies inputs in order, returning the final conversation and every effect.
    fn run(rules: &Rules, now: i64, inputs: &[Input]) -> (Conversation, Vec<Effect>) {
        let ctx = Context {
            rules,
            now_utc_seconds: now,
        };
        let mut conv = Conversation::new();
        let mut all = Vec::new();
        for input in inputs {
            let out = reduce(&conv, input, &ctx);
            assert_eq!(out.ignored, None, "{input:?}");
            conv = out.conversation;
            all.extend(out.effects);
        }
        (conv, all)
    }

    fn states(effects: &[Effect]) -> Vec<(S, S)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Publish(t) => Some((t.from, t.to)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn close_then_reopen_twice() {
        let rules = rules();
        let (conv, effects) = run(
            &rules,
            open(),
            &[
                msg("hi"),
                Input::CustomerClose,
                msg("back"),
                Input::CustomerClose,
                msg("again"),
            ],
        );
        assert_eq!(conv.state, S::WithBot);
        assert_eq!(conv.reopen_count, 2);
        assert_eq!(
            states(&effects),
            [
                (S::Unspecified, S::New),
                (S::New, S::WithBot),
                (S::WithBot, S::ClosedByCustomer),
                (S::ClosedByCustomer, S::New),
                (S::New, S::WithBot),
                (S::WithBot, S::ClosedByCustomer),
                (S::ClosedByCustomer, S::New),
                (S::New, S::WithBot),
            ]
        );
        assert!(effects.contains(&publish(
            S::ClosedByCustomer,
            S::New,
            Change::Reopened { reopen_count: 2 }
        )));
    }

    #[test]
    fn resolve_then_reopen_keeps_intent() {
        let rules = rules();
        let (conv, effects) = run(
            &rules,
            open(),
            &[
                msg_intent("I was charged twice", "billing"),
                Input::AgentAccept {
                    agent: "a1".to_owned(),
                },
                msg("hello?"),
                Input::AgentResolve {
                    agent: "a1".to_owned(),
                },
                // Apple sends no intent on later messages: the stored one routes.
                msg("one more thing"),
            ],
        );
        assert_eq!(conv.state, S::Queued);
        assert_eq!(conv.queue.as_deref(), Some("billing"));
        assert_eq!(conv.intent, "billing");
        assert_eq!(conv.agent, None);
        assert_eq!(
            states(&effects),
            [
                (S::Unspecified, S::New),
                (S::New, S::Queued),
                (S::Queued, S::Assigned),
                (S::Assigned, S::Resolved),
                (S::Resolved, S::New),
                (S::New, S::Queued),
            ]
        );
        assert!(effects.contains(&Effect::ForwardToAgent {
            agent: "a1".to_owned(),
            text: "hello?".to_owned()
        }));
    }

    #[test]
    fn escalation_words_in_any_form_leave_the_bot() {
        let rules = rules();
        let ctx = Context {
            rules: &rules,
            now_utc_seconds: open(),
        };
        for text in [
            "agent",
            "Agent!",
            "AGENT",
            "  HELP?",
            "help",
            "support.",
            "Support",
            "¿help?",
            "ＡＧＥＮＴ",
        ] {
            let out = reduce(&bot(""), &msg(text), &ctx);
            assert_eq!(out.conversation.state, S::Queued, "{text:?}");
            assert!(!out.conversation.with_bot, "{text:?}");
            assert_eq!(out.effects[0], stop_bot(EndReason::Escalated), "{text:?}");
        }
        for text in [
            "helpful",
            "I need help with my bill",
            "agents",
            "menu",
            "",
            "?",
        ] {
            let out = reduce(&bot(""), &msg(text), &ctx);
            assert_eq!(out.conversation.state, S::WithBot, "{text:?}");
            assert_eq!(
                out.effects,
                vec![Effect::SendToBot {
                    text: text.to_owned()
                }]
            );
        }
    }

    #[test]
    fn bot_first_and_human_first_routes() {
        let rules = rules();
        let ctx = Context {
            rules: &rules,
            now_utc_seconds: open(),
        };
        for (intent, state, with_bot) in [
            ("", S::WithBot, true),
            ("orders", S::WithBot, true),
            ("billing", S::Queued, false),
            ("Billing", S::Queued, false),
        ] {
            let out = reduce(&fresh(), &msg_intent("hi", intent), &ctx);
            assert_eq!(out.conversation.state, state, "{intent}");
            assert_eq!(out.conversation.with_bot, with_bot, "{intent}");
        }
    }

    #[test]
    fn an_agent_hands_the_conversation_back_to_the_bot() {
        let rules = rules();
        let ctx = Context {
            rules: &rules,
            now_utc_seconds: open(),
        };
        let back = |agent: &str| Input::ReturnToBot {
            agent: agent.to_owned(),
            note: "resume the order flow".to_owned(),
        };
        let out = reduce(&assigned("a1", "general"), &back("a1"), &ctx);
        assert_eq!(out.conversation.state, S::WithBot);
        assert!(out.conversation.with_bot);
        assert_eq!(out.conversation.agent, None);
        assert_eq!(
            out.effects,
            vec![
                Effect::ReleaseAgent {
                    agent: "a1".into(),
                    reason: EndReason::ReturnedToBot
                },
                publish(
                    S::Assigned,
                    S::WithBot,
                    Change::HandedToBot {
                        returned_by: Some("a1".into())
                    }
                ),
                Effect::ReturnedToBot {
                    agent: "a1".into(),
                    note: "resume the order flow".into()
                },
            ]
        );
        // The customer's next message goes to the bot, not the agent.
        let next = reduce(&out.conversation, &msg("thanks"), &ctx);
        assert_eq!(
            next.effects,
            vec![Effect::SendToBot {
                text: "thanks".into()
            }]
        );
        // Only the assigned agent can hand it back, and only while assigned.
        let other = reduce(&assigned("a1", "general"), &back("a2"), &ctx);
        assert_eq!(other.ignored, Some(Ignored::NotTheAssignedAgent));
        for state in [bot(""), queued("general"), ended(S::Resolved, None)] {
            assert_eq!(
                reduce(&state, &back("a1"), &ctx).ignored,
                Some(Ignored::NotInThisState)
            );
        }
    }

    #[test]
    fn parley_closes_an_active_conversation_and_the_customer_reopens_it() {
        let rules = rules();
        let ctx = Context {
            rules: &rules,
            now_utc_seconds: open(),
        };
        let close = Input::Close {
            reason: ResolutionReason::ClosedByOperator,
        };
        let resolved = |from: S| {
            publish(
                from,
                S::Resolved,
                Change::Resolved {
                    reason: ResolutionReason::ClosedByOperator,
                    agent: None,
                },
            )
        };
        let out = reduce(&bot(""), &close, &ctx);
        assert_eq!(
            out.effects,
            vec![
                Effect::StopBot {
                    reason: EndReason::Closed
                },
                resolved(S::WithBot)
            ]
        );
        let out = reduce(&queued("general"), &close, &ctx);
        assert_eq!(
            out.effects,
            vec![
                Effect::Dequeue {
                    queue: "general".into()
                },
                resolved(S::Queued)
            ]
        );
        let out = reduce(&assigned("a1", "general"), &close, &ctx);
        assert_eq!(
            out.effects,
            vec![
                Effect::ReleaseAgent {
                    agent: "a1".into(),
                    reason: EndReason::Closed
                },
                resolved(S::Assigned)
            ]
        );
        assert_eq!(out.conversation.state, S::Resolved);
        assert!(out.conversation.is_consistent());
        // Closing again, or a conversation the customer deleted, changes nothing.
        for state in [
            out.conversation.clone(),
            ended(S::ClosedByCustomer, None),
            fresh(),
        ] {
            assert_eq!(
                reduce(&state, &close, &ctx).ignored,
                Some(Ignored::NotInThisState)
            );
        }
        // The customer's next message reopens it.
        let reopened = reduce(&out.conversation, &msg("hello again"), &ctx);
        assert!(matches!(
            reopened.effects.first(),
            Some(Effect::Publish(TransitionEvent {
                change: Change::Reopened { reopen_count: 1 },
                ..
            }))
        ));
    }

    fn arb_text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("hi".to_owned()),
            Just("Agent!".to_owned()),
            Just("  HELP?".to_owned()),
            Just("support.".to_owned()),
            Just("I don't need help".to_owned()),
            any::<String>(),
        ]
    }

    fn arb_name(names: &'static [&'static str]) -> impl Strategy<Value = String> {
        proptest::sample::select(names).prop_map(str::to_owned)
    }

    fn arb_input() -> impl Strategy<Value = Input> {
        let agent = || arb_name(&["a1", "a2", ""]);
        let queue = || arb_name(&["general", "billing", "nope", ""]);
        prop_oneof![
            4 => (arb_text(), arb_name(&["", "billing", "orders", "BILLING"]), arb_name(&["", "vip"]))
                .prop_map(|(text, intent, group)| Input::CustomerMessage { text, intent, group }),
            1 => Just(Input::CustomerClose),
            1 => (0..10i32, proptest::option::of(queue())).prop_map(|(r, queue)| Input::BotEscalate {
                reason: EscalationReason::try_from(r).unwrap_or(EscalationReason::BotFallback),
                queue,
            }),
            1 => Just(Input::BotResolve),
            2 => agent().prop_map(|agent| Input::AgentAccept { agent }),
            1 => agent().prop_map(|agent| Input::AgentResolve { agent }),
            1 => queue().prop_map(|q| Input::Transfer { target: TransferTarget::Queue(q) }),
            1 => agent().prop_map(|a| Input::Transfer { target: TransferTarget::Agent(a) }),
            1 => agent().prop_map(|agent| Input::AgentLost { agent }),
            1 => agent().prop_map(|agent| Input::ReturnToBot { agent, note: String::new() }),
            1 => Just(Input::Close { reason: ResolutionReason::ClosedByOperator }),
        ]
    }

    proptest! {
        #[test]
        fn reducer_never_panics_and_never_double_owns(
            inputs in proptest::collection::vec(arb_input(), 0..60),
            now in prop_oneof![Just(open()), Just(closed()), any::<i64>()],
            bot_first_default in any::<bool>(),
        ) {
            let text = RULES.replace(
                "[default]\nqueue = \"general\"\nbot_first = true",
                &format!("[default]\nqueue = \"general\"\nbot_first = {bot_first_default}"),
            );
            let rules = Rules::from_toml(&text).unwrap();
            let ctx = Context { rules: &rules, now_utc_seconds: now };
            let mut conv = Conversation::new();
            for input in &inputs {
                let out = reduce(&conv, input, &ctx);
                let next = &out.conversation;
                prop_assert!(!(next.with_bot && next.agent.is_some()), "{:?}", next);
                prop_assert!(next.is_consistent(), "{:?}", next);
                prop_assert_ne!(next.state, S::New);
                if out.ignored.is_some() {
                    prop_assert_eq!(next, &conv);
                    prop_assert!(out.effects.is_empty());
                }
                // Published transitions chain from the old state to the new one.
                let mut at = conv.state;
                for effect in &out.effects {
                    if let Effect::Publish(t) = effect {
                        prop_assert_eq!(t.from, at);
                        at = t.to;
                    }
                    // Nothing goes to the bot unless the bot owns the conversation after.
                    if matches!(effect, Effect::SendToBot { .. }) {
                        prop_assert!(next.with_bot);
                    }
                    if let Effect::ForwardToAgent { agent, .. } = effect {
                        prop_assert_eq!(Some(agent), next.agent.as_ref());
                    }
                }
                prop_assert_eq!(at, next.state);
                // A trigger word from a customer never leaves the conversation with the bot.
                if let Input::CustomerMessage { text, .. } = input
                    && crate::escalation::is_escalation_word(text)
                {
                    prop_assert!(matches!(next.state, S::Queued | S::Assigned));
                }
                conv = out.conversation;
            }
        }
    }
}
