//! One gateway over the embedded bus and store, its sessions and agent logs in memory (no
//! NATS, no Redis): `parley up` on a machine with neither.

use std::{sync::Arc, time::Duration};

use parley_agent_gateway::{AgentGatewayService, GatewayOptions, GatewayParts};
use parley_bus::{EmbeddedBus, Namespace, Outgoing, StreamKind, Topology};
use parley_proto::{
    Event as _,
    v1::{
        AgentConversationContext, AgentStatus, AgentTask, ConversationKey as KeyProto, EventMeta,
        NewAssignment, SetPresence, agent_command, agent_event, agent_task,
    },
};
use parley_runtime::{Backends, PlatformConfig};
use parley_state::{AgentPool as _, EmbeddedStore};
use parley_types::{BusinessId, ConversationKey};
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use crate::harness::{AGENT, AGENT_TOKEN, Agent, BIZ, agents, offered_ref, session};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_process_gateway_serves_an_agent_without_redis_and_resumes_after_reconnect() {
    let config =
        Arc::new(PlatformConfig::default().with_business(BusinessId::new(BIZ).unwrap(), "Acme"));
    let store = Arc::new(EmbeddedStore::new(config.redis.store_settings()));
    let backends = Backends {
        bus: Arc::new(EmbeddedBus::new()),
        store: store.clone(),
        namespace: Namespace::root(),
    };
    backends
        .bus
        .ensure(&Topology::platform(
            &backends.namespace,
            &config.nats.bus_settings(),
        ))
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let gateway = AgentGatewayService::in_process(
        GatewayParts {
            config: config.clone(),
            backends: backends.clone(),
            agents: agents(),
            options: GatewayOptions {
                poll_interval: Duration::from_millis(20),
                ..GatewayOptions::default()
            },
        },
        store.clone(),
        stop.clone(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gateway.run(listener));

    // Sign in and go available: the presence reaches the (embedded) pool routing uses.
    let token = session(addr, AGENT_TOKEN).await;
    let mut agent = Agent::connect(addr, &token, 0).await;
    let result = agent
        .command(agent_command::Command::Presence(SetPresence {
            status: AgentStatus::Available as i32,
            capacity: 2,
            skills: vec!["fr".into()],
        }))
        .await;
    assert!(result.ok, "{result:?}");
    let pool = store.agents(BIZ).await.unwrap();
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0].agent_id, AGENT);
    assert_eq!(pool[0].capacity, 2);

    // Two offers while connected, one after a disconnect: the reconnect resumes after the
    // last cursor seen and gets only the missed one.
    let offer = |name: &str, sequence: u64| {
        let key = ConversationKey::parse(BIZ, &format!("urn:mbid:{name}")).unwrap();
        let id = format!("task-{name}");
        let task = AgentTask {
            meta: Some(EventMeta {
                event_id: id.clone(),
                conversation: Some(KeyProto {
                    business_id: BIZ.into(),
                    opaque_id: key.opaque.as_str().to_owned(),
                }),
                sequence,
                partition: config.partitions.of(&key).get(),
                schema_version: 1,
                producer: "test".into(),
                ..Default::default()
            }),
            agent_id: AGENT.into(),
            assignment_id: format!("asg-{name}"),
            task: Some(agent_task::Task::NewAssignment(NewAssignment {
                context: Some(AgentConversationContext::default()),
                queue: "general".into(),
                ..Default::default()
            })),
        };
        Outgoing::new(
            backends
                .namespace
                .subject(StreamKind::Agent, config.partitions.of(&key)),
            id,
            AgentTask::TYPE,
            task.encode_to_vec(),
        )
        .with_ordering_key(key.stable_hash())
    };
    backends.bus.publish(offer("one", 1)).await.unwrap();
    let first = agent.next_logged().await;
    assert!(matches!(
        first.event,
        Some(agent_event::Event::Assignment(_))
    ));
    let seen = first.cursor;
    drop(agent);
    backends.bus.publish(offer("two", 1)).await.unwrap();
    let mut agent = Agent::connect(addr, &token, seen).await;
    let missed = agent.next_logged().await;
    assert!(missed.cursor > seen);
    assert_ne!(offered_ref(&missed), offered_ref(&first));
    // The session is known to this gateway only; a wrong one is refused.
    let refused = crate::harness::client(addr)
        .await
        .list_conversations(crate::harness::authed(
            parley_proto::v1::ListConversationsRequest {},
            "not-a-session",
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    stop.cancel();
}
