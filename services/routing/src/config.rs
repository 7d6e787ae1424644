//! The routing service's own configuration: each business's rules, read from a directory of
//! TOML files (`<dir>/<business_id>.toml`), and the few timings of the service.

use std::{collections::HashMap, path::Path, time::Duration};

use parley_types::BusinessId;

use crate::rules::{Rules, RulesError};

/// The rules of a business without a rules file: one queue `general` (priority 1, no
/// skills, a 5-minute response target, always open), and the bot answers first.
pub const DEFAULT_RULES: &str = r#"
[queues.general]
priority = 1
response_target = "5m"

[default]
queue = "general"
bot_first = true
"#;

/// The built-in rules ([`DEFAULT_RULES`]).
pub fn default_rules() -> Rules {
    #[allow(clippy::expect_used)]
    Rules::from_toml(DEFAULT_RULES).expect("the built-in rules are valid")
}

/// Why the rules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A rules file could not be read.
    #[error("routing rules {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// A rules file is invalid (the error names the setting).
    #[error("routing rules {path}: {error}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        error: RulesError,
    },
}

/// What the routing service runs with besides the platform configuration.
#[derive(Debug, Clone)]
pub struct RoutingConfig {
    /// Each business's rules; a business not listed uses [`default_rules`].
    pub rules: HashMap<BusinessId, Rules>,
    /// How often every queue is tried and response targets are checked.
    pub tick: Duration,
    /// How long an agent's presence set through a routing command lasts without a refresh.
    pub presence_ttl: Duration,
    /// The in-order gate's gap timeout and claim lease.
    pub gate: parley_state::GatePolicy,
    /// How long the pool and a conversation's state may disagree about who holds it (a
    /// replica died between the pool's assignment and the state's write, or between the
    /// state's write and the pool's release) before the tick repairs it.
    pub reconcile_after: Duration,
}

impl RoutingConfig {
    /// The given rules with the platform configuration's timings (`[routing]`) and poison
    /// bound (`[events]`).
    pub fn from_settings(
        rules: HashMap<BusinessId, Rules>,
        settings: &parley_runtime::RoutingSettings,
        events: &parley_runtime::EventSettings,
    ) -> Self {
        Self {
            rules,
            tick: settings.tick,
            presence_ttl: settings.presence_ttl,
            gate: parley_state::GatePolicy {
                gap_timeout: settings.gap_timeout,
                lease: settings.claim_lease,
                max_attempts: events.max_attempts,
            },
            reconcile_after: settings.reconcile_after,
        }
    }

    /// The given rules with the default timings (those of `[routing]`).
    pub fn new(rules: HashMap<BusinessId, Rules>) -> Self {
        Self::from_settings(
            rules,
            &parley_runtime::RoutingSettings::default(),
            &parley_runtime::EventSettings::default(),
        )
    }
}

/// Reads `<dir>/<business_id>.toml` for each business; a missing file gives the business
/// the built-in [`DEFAULT_RULES`]. Every file is validated: the first invalid one is an
/// error naming the file and the setting.
pub fn load_rules<'a>(
    dir: &Path,
    businesses: impl IntoIterator<Item = &'a BusinessId>,
) -> Result<HashMap<BusinessId, Rules>, ConfigError> {
    let mut out = HashMap::new();
    for business in businesses {
        let path = dir.join(format!("{}.toml", business.as_str()));
        let rules = match std::fs::read_to_string(&path) {
            Ok(text) => Rules::from_toml(&text).map_err(|error| ConfigError::Invalid {
                path: path.display().to_string(),
                error,
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => default_rules(),
            Err(error) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    error,
                });
            }
        };
        out.insert(business.clone(), rules);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_the_default_and_invalid_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = BusinessId::new("biz-a").unwrap();
        let b = BusinessId::new("biz-b").unwrap();
        std::fs::write(
            dir.path().join("biz-b.toml"),
            "[queues.vip]\nresponse_target = \"1m\"\n[default]\nqueue = \"vip\"\nbot_first = false\n",
        )
        .unwrap();
        let rules = load_rules(dir.path(), [&a, &b]).unwrap();
        assert_eq!(rules[&a], default_rules());
        assert_eq!(rules[&a].default_route().queue, "general");
        assert!(rules[&a].default_route().bot_first);
        assert_eq!(rules[&b].default_route().queue, "vip");

        std::fs::write(dir.path().join("biz-a.toml"), "[default]\n").unwrap();
        let err = load_rules(dir.path(), [&a]).unwrap_err().to_string();
        assert!(err.contains("biz-a.toml"), "{err}");
    }
}
