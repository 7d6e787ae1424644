//! The agents file (`--agents-file`): agents, their hashed tokens and the canned responses,
//! per business.
//!
//! ```toml
//! [[agents]]
//! business = "biz-1"
//! id = "agent-7"
//! display_name = "Sam"
//! token_sha256 = "<64 hex digits: SHA-256 of the agent's token>"
//! # The most conversations the agent may declare it holds at once (default 10).
//! max_capacity = 5
//! # `agent` (the default) or `supervisor`: a supervisor reads any transcript of the business.
//! role = "agent"
//! # The skills the agent may declare (unset: any).
//! skills = ["fr", "billing"]
//!
//! [[canned]]
//! business = "biz-1"
//! id = "greeting"
//! title = "Greeting"
//! text = "Hello, how can I help?"
//! ```

use std::path::Path;

use parley_types::TokenDigest;
use serde::Deserialize;

/// One agent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentEntry {
    /// The one business the agent works for.
    pub business: String,
    /// The agent's id, unique in the business.
    pub id: String,
    /// Sent to customers as `msp-agent`.
    pub display_name: String,
    /// SHA-256 of the agent's token, hex.
    pub token_sha256: String,
    /// The most conversations the agent may declare it holds at once (its `SetPresence`
    /// capacity); [`DEFAULT_MAX_CAPACITY`] when unset.
    #[serde(default)]
    pub max_capacity: Option<u32>,
    /// What the agent may see beyond its own conversations.
    #[serde(default)]
    pub role: Role,
    /// The skills the agent may declare in `SetPresence`; unset, any.
    #[serde(default)]
    pub skills: Option<Vec<String>>,
}

/// An agent's role in its business.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works on the conversations offered to it, and reads only their transcripts.
    #[default]
    Agent,
    /// Also reads the transcript of any conversation of the business.
    Supervisor,
}

/// The capacity an agent may declare when the agents file sets no `max_capacity`.
pub const DEFAULT_MAX_CAPACITY: u32 = 10;

impl AgentEntry {
    /// The most conversations the agent may declare it holds at once.
    pub fn max_capacity(&self) -> u32 {
        self.max_capacity.unwrap_or(DEFAULT_MAX_CAPACITY)
    }

    /// The first of `declared` the agent may not declare, if any.
    pub fn undeclarable<'a>(&self, declared: &'a [String]) -> Option<&'a str> {
        let allowed = self.skills.as_ref()?;
        declared
            .iter()
            .find(|skill| !allowed.contains(skill))
            .map(String::as_str)
    }
}

/// One canned response of a business.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CannedEntry {
    /// The business.
    pub business: String,
    /// Its id.
    pub id: String,
    /// A short title.
    pub title: String,
    /// The text.
    pub text: String,
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsFile {
    /// The agents.
    #[serde(default)]
    pub agents: Vec<AgentEntry>,
    /// The canned responses.
    #[serde(default)]
    pub canned: Vec<CannedEntry>,
}

/// The agents, with their token hashes decoded.
#[derive(Debug, Clone, Default)]
pub struct Agents {
    entries: Vec<(AgentEntry, TokenDigest)>,
    canned: Vec<CannedEntry>,
}

/// SHA-256 of `token`, hex (what `token_sha256` holds).
pub fn token_sha256(token: &str) -> String {
    TokenDigest::of(token).to_hex()
}

impl Agents {
    /// Reads and validates the file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("agents file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("agents file {}: {e}", path.display()))
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: AgentsFile = toml::from_str(text).map_err(|e| e.to_string())?;
        Self::from_file(file)
    }

    /// Validates a parsed file: non-empty ids, 64-hex-digit hashes, no duplicate agent.
    pub fn from_file(file: AgentsFile) -> Result<Self, String> {
        let mut entries = Vec::with_capacity(file.agents.len());
        for (i, agent) in file.agents.into_iter().enumerate() {
            if agent.business.is_empty() || agent.id.is_empty() {
                return Err(format!(
                    "agents[{i}]: `business` and `id` must not be empty"
                ));
            }
            let hash = TokenDigest::from_hex(&agent.token_sha256).map_err(|e| {
                format!(
                    "agents[{i}] ({}/{}): `token_sha256` {e}",
                    agent.business, agent.id
                )
            })?;
            if agent.max_capacity == Some(0) {
                return Err(format!(
                    "agents[{i}] ({}/{}): `max_capacity` must be at least 1",
                    agent.business, agent.id
                ));
            }
            if entries
                .iter()
                .any(|(a, _): &(AgentEntry, _)| a.business == agent.business && a.id == agent.id)
            {
                return Err(format!(
                    "agents[{i}]: agent `{}` of business `{}` is listed twice",
                    agent.id, agent.business
                ));
            }
            entries.push((agent, hash));
        }
        Ok(Self {
            entries,
            canned: file.canned,
        })
    }

    /// The agent whose token is `token`. Every entry is compared, in constant time each.
    pub fn authenticate(&self, token: &str) -> Option<&AgentEntry> {
        let digest = TokenDigest::of(token);
        let mut found = None;
        for (agent, hash) in &self.entries {
            if hash.matches(&digest) && found.is_none() {
                found = Some(agent);
            }
        }
        found
    }

    /// The agent `id` of `business`.
    pub fn entry(&self, business: &str, id: &str) -> Option<&AgentEntry> {
        self.entries
            .iter()
            .map(|(a, _)| a)
            .find(|a| a.business == business && a.id == id)
    }

    /// The agents of `business`, ordered by id.
    pub fn of_business<'a>(&'a self, business: &'a str) -> impl Iterator<Item = &'a AgentEntry> {
        let mut agents: Vec<&AgentEntry> = self
            .entries
            .iter()
            .map(|(a, _)| a)
            .filter(|a| a.business == business)
            .collect();
        agents.sort_by(|a, b| a.id.cmp(&b.id));
        agents.into_iter()
    }

    /// The canned responses of `business`.
    pub fn canned(&self, business: &str) -> impl Iterator<Item = &CannedEntry> {
        self.canned.iter().filter(move |c| c.business == business)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticates_by_hash_and_rejects_others() {
        let text = format!(
            "[[agents]]\nbusiness = \"b\"\nid = \"a\"\ndisplay_name = \"A\"\ntoken_sha256 = \"{}\"\n",
            token_sha256("secret")
        );
        let agents = Agents::parse(&text).expect("valid");
        assert_eq!(
            agents.authenticate("secret").map(|a| a.id.as_str()),
            Some("a")
        );
        assert!(agents.authenticate("other").is_none());
    }

    #[test]
    fn the_allowed_capacity_defaults_and_is_at_least_one() {
        let entry = |extra: &str| {
            format!(
                "[[agents]]\nbusiness = \"b\"\nid = \"a\"\ndisplay_name = \"A\"\ntoken_sha256 = \"{}\"\n{extra}",
                token_sha256("secret")
            )
        };
        let agents = Agents::parse(&entry("")).expect("valid");
        assert_eq!(
            agents.entry("b", "a").map(AgentEntry::max_capacity),
            Some(DEFAULT_MAX_CAPACITY)
        );
        let agents = Agents::parse(&entry("max_capacity = 3\n")).expect("valid");
        assert_eq!(
            agents.entry("b", "a").map(AgentEntry::max_capacity),
            Some(3)
        );
        assert!(Agents::parse(&entry("max_capacity = 0\n")).is_err());
    }

    #[test]
    fn refuses_bad_hash() {
        let text = "[[agents]]\nbusiness = \"b\"\nid = \"a\"\ndisplay_name = \"A\"\ntoken_sha256 = \"zz\"\n";
        assert!(Agents::parse(text).is_err());
    }
}
