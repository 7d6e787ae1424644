//! The demo business `parley up` ships: "Acme Coffee", its routing rules (two queues),
//! its two agents with public demo tokens, and the example configuration. The files live in
//! `services/parley/demo/` so docker-compose and the Helm chart can mount the same ones.

/// The demo business's Apple business id.
pub const BUSINESS_ID: &str = "a884eddf-7b0c-4b0a-9a8c-2f8a1b2c3d4e";
/// Its display name.
pub const BUSINESS_NAME: &str = "Acme Coffee";
/// Its routing rules (`demo/rules/<id>.toml`): queues `baristas` and `subscriptions`.
pub const RULES: &str = include_str!("../demo/rules/a884eddf-7b0c-4b0a-9a8c-2f8a1b2c3d4e.toml");
/// Its agents file (`demo/agents.toml`).
pub const AGENTS: &str = include_str!("../demo/agents.toml");
/// The bot's knowledge of the demo business (opening hours, store locations, a menu),
/// the bot service's own sample file.
pub const KNOWLEDGE: &str = include_str!("../../bot/knowledge/acme.toml");
/// Its notification policies (`demo/policies.toml`): topics, disclosure topics, quiet
/// hours, confirmation texts, the demo CRM client.
pub const POLICIES: &str = include_str!("../demo/policies.toml");
/// The demo CRM's notification API token (public on purpose: demo only).
pub const NOTIFICATION_TOKEN: &str = "demo-notifications";
/// The example configuration (`demo/parley.toml`).
pub const CONFIG: &str = include_str!("../demo/parley.toml");
/// The demo agents' tokens (public on purpose: demo only), as (agent id, token).
pub const AGENT_TOKENS: [(&str, &str); 2] = [("ava", "demo-agent-ava"), ("sam", "demo-agent-sam")];

/// The bot's configuration for the demo business.
pub fn bot_config() -> crate::Result<parley_bot::BotConfig> {
    let knowledge = parley_bot::Knowledge::from_toml("services/bot/knowledge/acme.toml", KNOWLEDGE)
        .map_err(|e| crate::Error::Input(format!("demo knowledge: {e}")))?;
    Ok(parley_bot::BotConfig::new(
        [(business_id(), knowledge)].into_iter().collect(),
    ))
}

/// notification-consent's configuration for the demo business.
pub fn consent_config() -> crate::Result<parley_notification_consent::ConsentConfig> {
    let policies = parley_notification_consent::Policies::parse(POLICIES)
        .map_err(|e| crate::Error::Input(format!("demo policies: {e}")))?;
    Ok(parley_notification_consent::ConsentConfig::new(policies))
}

/// The demo business's id, validated.
pub fn business_id() -> parley_types::BusinessId {
    #[allow(clippy::expect_used)]
    parley_types::BusinessId::new(BUSINESS_ID).expect("the demo business id is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_files_are_valid_and_the_tokens_match_their_hashes() {
        let agents = parley_agent_gateway::Agents::parse(AGENTS).unwrap();
        for (id, token) in AGENT_TOKENS {
            let agent = agents.authenticate(token).unwrap();
            assert_eq!(
                (agent.business.as_str(), agent.id.as_str()),
                (BUSINESS_ID, id)
            );
        }
        assert!(agents.authenticate("not-a-token").is_none());
        let rules = parley_routing::rules::Rules::from_toml(RULES).unwrap();
        let names: Vec<&str> = rules.queues().map(|q| q.name()).collect();
        assert_eq!(names, ["baristas", "subscriptions"]);
        let consent = consent_config().unwrap();
        let client = consent.policies.authenticate(NOTIFICATION_TOKEN).unwrap();
        assert_eq!(client.business, business_id());
        assert!(
            consent
                .policies
                .policy(&business_id())
                .quiet_hours
                .is_some()
        );
        let bot = bot_config().unwrap();
        assert!(bot.knowledge.contains_key(&business_id()));
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, CONFIG.as_bytes()).unwrap();
        let config = parley_runtime::load_config(Some(file.path()), Vec::new()).unwrap();
        assert_eq!(config.businesses[0].id, business_id());
        assert_eq!(config.businesses[0].name, BUSINESS_NAME);
    }
}
