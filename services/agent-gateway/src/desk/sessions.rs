//! Sessions: an agent's token turned into a session, checked on every call, signed out,
//! revoked.

use std::time::SystemTime;

use rand::Rng as _;

use super::{Desk, DeskError, Session, SignedIn, unavailable};

impl Desk {
    /// The session a session token names.
    pub(crate) async fn session(&self, token: &str) -> Result<Session, DeskError> {
        if token.is_empty() {
            return Err(DeskError::Unauthenticated("missing session"));
        }
        let (business, agent) = self
            .store
            .session(token)
            .await
            .map_err(unavailable)?
            .ok_or(DeskError::Unauthenticated("unknown or expired session"))?;
        let entry = self
            .agents
            .entry(&business, &agent)
            .ok_or(DeskError::Unauthenticated("the agent no longer exists"))?;
        Ok(Session {
            business,
            agent,
            display_name: entry.display_name.clone(),
        })
    }

    /// A new session for the agent whose token this is.
    pub(crate) async fn sign_in(&self, agent_token: &str) -> Result<SignedIn, DeskError> {
        let agent = self
            .agents
            .authenticate(agent_token)
            .ok_or(DeskError::Unauthenticated("unknown agent token"))?;
        let token = hex::encode(rand::rng().random::<[u8; 32]>());
        let ttl = self.options.session_ttl;
        self.store
            .put_session(&token, &agent.business, &agent.id, ttl)
            .await
            .map_err(unavailable)?;
        Ok(SignedIn {
            token,
            session: Session {
                business: agent.business.clone(),
                agent: agent.id.clone(),
                display_name: agent.display_name.clone(),
            },
            expires_at: SystemTime::now() + ttl,
        })
    }

    /// Ends the session `token` names.
    pub(crate) async fn sign_out(&self, token: &str) -> Result<(), DeskError> {
        self.session(token).await?;
        self.store.delete_session(token).await.map_err(unavailable)
    }

    /// Ends every session of `target` (the agent itself, or a supervisor for any agent of
    /// the business).
    pub(crate) async fn revoke_sessions(
        &self,
        session: &Session,
        target: &str,
    ) -> Result<(), DeskError> {
        if target != session.agent && !self.is_supervisor(session) {
            return Err(DeskError::PermissionDenied(
                "only a supervisor revokes another agent's sessions",
            ));
        }
        if self.agents.entry(&session.business, target).is_none() {
            return Err(DeskError::NotFound("no such agent"));
        }
        self.store
            .revoke_sessions(&session.business, target)
            .await
            .map_err(unavailable)
    }
}
