//! Fixtures shared by the store tests.

use std::sync::Arc;

use parley_state::{
    ConversationStore, EmbeddedStore, RedisStore, RedisStoreOptions, StoreSettings,
};
use parley_testkit::RedisServer;
use parley_types::ConversationKey;

/// A store under test, with its own key prefix.
pub struct Fixture {
    pub store: Arc<dyn ConversationStore>,
    pub redis: Option<RedisServer>,
}

pub fn embedded(settings: StoreSettings) -> Fixture {
    parley_testkit::init_tracing();
    Fixture {
        store: Arc::new(EmbeddedStore::new(settings)),
        redis: None,
    }
}

pub fn redis(mut settings: StoreSettings) -> Fixture {
    parley_testkit::init_tracing();
    let server = RedisServer::start().expect("start redis-server");
    settings.key_prefix = format!("{}:", parley_testkit::prefix());
    let store =
        RedisStore::connect(&RedisStoreOptions::new(server.url()), settings).expect("redis store");
    Fixture {
        store: Arc::new(store),
        redis: Some(server),
    }
}

impl Fixture {
    /// Every Redis key that mentions `key`'s hash tag (empty for the embedded store).
    pub async fn raw_keys(&self, key: &ConversationKey) -> Vec<String> {
        let Some(server) = &self.redis else {
            return Vec::new();
        };
        let client = redis::Client::open(server.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("KEYS")
            .arg(format!("*{{{}}}*", key.hash_tag()))
            .query_async(&mut connection)
            .await
            .unwrap()
    }
}

pub fn key(business: &str, customer: usize) -> ConversationKey {
    ConversationKey::parse(business, &format!("urn:mbid:AQAAY{customer:04}x")).unwrap()
}
