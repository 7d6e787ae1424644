//! Fixtures shared by the store tests.

use std::sync::Arc;

use parley_state::{
    AgentPool, ConversationStore, EmbeddedStore, RedisStore, RedisStoreOptions, StoreSettings,
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

/// An agent pool under test, with its own key prefix.
pub struct PoolFixture {
    pub pool: Arc<dyn AgentPool>,
    /// Makes another handle on the same pool (for Redis: its own connection).
    pub another: Box<dyn Fn() -> Arc<dyn AgentPool> + Send + Sync>,
    /// Kept alive for the test.
    pub _redis: Option<RedisServer>,
}

pub fn embedded_pool() -> PoolFixture {
    parley_testkit::init_tracing();
    let store: Arc<EmbeddedStore> = Arc::new(EmbeddedStore::new(StoreSettings::default()));
    let pool: Arc<dyn AgentPool> = store;
    let shared = pool.clone();
    PoolFixture {
        pool,
        another: Box::new(move || shared.clone()),
        _redis: None,
    }
}

pub fn redis_pool() -> PoolFixture {
    parley_testkit::init_tracing();
    let server = RedisServer::start().expect("start redis-server");
    let settings = StoreSettings {
        key_prefix: format!("{}:", parley_testkit::prefix()),
        ..StoreSettings::default()
    };
    let url = server.url();
    let connect = move || -> Arc<dyn AgentPool> {
        Arc::new(
            RedisStore::connect(&RedisStoreOptions::new(url.clone()), settings.clone())
                .expect("redis store"),
        )
    };
    PoolFixture {
        pool: connect(),
        another: Box::new(connect),
        _redis: Some(server),
    }
}
