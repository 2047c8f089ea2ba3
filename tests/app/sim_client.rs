//! The project's own client and config loader against the simulated network: every
//! response the simulator gives parses, the rendered config validates, and the endpoint
//! pool sees through a wrong-chain endpoint.

use crate::sim_common;

use bp_failover::antelope::Name;
use bp_failover::api::client::http_client;
use bp_failover::api::{
    ApiErrorKind, ChainClient, ClientOptions, EndpointPool, EndpointUrl, ManualClock,
};
use bp_failover::drill::{render_config, ConfigOptions};
use bp_failover::sim::network::NetworkSpec;
use bp_failover::sim::{Behavior, Network};
use sim_common::*;

fn clients(net: &Network) -> Vec<ChainClient> {
    let opts = ClientOptions::default();
    let http = http_client(&opts).unwrap();
    net.endpoint_urls()
        .iter()
        .map(|u| ChainClient::new(http.clone(), EndpointUrl::parse(u).unwrap(), opts.clone()))
        .collect()
}

#[tokio::test]
async fn every_read_method_parses_with_the_project_client() {
    let net = start(4, 1).await;
    let c = &clients(&net)[0];
    let info = c.get_info().await.unwrap();
    info.check().unwrap();
    let b = c.get_block_info(info.head_block_num).await.unwrap();
    assert_eq!(b.id, info.head_block_id);
    let full = c.get_block(info.head_block_num - 1).await.unwrap();
    assert_eq!(full.id, b.previous);
    assert_eq!(full.header_extensions[0].0, 2);
    c.get_producer_schedule().await.unwrap();
    let our = Name::literal(OUR);
    let row = c.get_producer(our).await.unwrap().expect("registered");
    assert!(row.is_active);
    let fin = c
        .get_finalizer(our)
        .await
        .unwrap()
        .expect("has a finalizer");
    let key = c
        .get_finalizer_key(fin.active_key_id)
        .await
        .unwrap()
        .expect("key row");
    assert_eq!(key.finalizer_name, our);
    c.get_account(our).await.unwrap();
    c.get_abi(Name::literal("eosio")).await.unwrap();
}

#[tokio::test]
async fn pushes_and_node_errors_decode_with_the_project_client() {
    let net = start(4, 1).await;
    let c = &clients(&net)[0];
    let url = net.endpoint_urls()[0].clone();
    let (chain_id, _, _) = tapos(&url).await;
    let tx = key_switch_tx(&url, &switch_to(&net, "backup"), 60).await;
    let packed = sign(&tx, &chain_id, &observer_key(&net));
    c.compute_transaction(&packed).await.unwrap();
    let r = c.send(&packed).await.unwrap();
    assert_eq!(r.processed.except, None);
    assert_eq!(net.requests(0, "send_transaction2"), 1);
    match c.send(&packed).await.unwrap_err().kind {
        ApiErrorKind::Node { status, error } => {
            assert_eq!(status, 409);
            assert_eq!(error.code, 3040008);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rendered_config_validates_and_the_pool_excludes_the_wrong_chain() {
    let mut spec = NetworkSpec::new(4, 3);
    spec.endpoints[2] = Behavior::WrongChain;
    let net = Network::start(spec).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = render_config(&net, &ConfigOptions::new(dir.path())).unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).unwrap();
    let loaded = bp_failover::config::load(&path).unwrap();
    assert_eq!(loaded.config.datacenters.len(), 3);
    assert_eq!(
        loaded.config.datacenters[1].signing_key,
        dc_key(&net, "backup")
    );

    let mut pool = EndpointPool::new(clients(&net), loaded.config.chain.quorum_policy());
    let view = pool.observe(&ManualClock::new(net.chain_now_ms())).await;
    let q = view.quorum().expect("two of three agree");
    assert_eq!(q.members, vec![0, 1]);
    assert_eq!(q.chain_id, net.with_chain(|c| c.chain_id()));
}
