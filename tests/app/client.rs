//! The typed client against a local HTTP server: request bodies, the push family, node
//! errors returned with 4xx/5xx or inside 2xx traces.

use crate::support;

use std::sync::Arc;

use bp_failover::antelope::Name;
use bp_failover::api::client::{http_client, ChainClient, ClientOptions};
use bp_failover::api::error::{ApiErrorKind, NodeErrorKind};
use bp_failover::api::types::PackedTransaction;
use bp_failover::api::EndpointUrl;
use support::*;

fn client(url: &str) -> ChainClient {
    let opts = ClientOptions::default();
    ChainClient::new(
        http_client(&opts).unwrap(),
        EndpointUrl::parse(url).unwrap(),
        opts,
    )
}

fn serve(f: impl Fn(&str, &serde_json::Value) -> Reply + Send + Sync + 'static) -> Handler {
    Arc::new(f)
}

fn packed() -> PackedTransaction {
    serde_json::from_str(
        r#"{"signatures":["SIG_K1_K4aAYXpPkK795PN5Um9gHZquvmrkN8cTaW7NuevQMGbByR3UZubFFux1xBZ2SvLcKdefYRopN5CjwvvpuCKN9iEDohMXfX"],"compression":"none","packed_context_free_data":"","packed_trx":"00"}"#,
    )
    .unwrap()
}

#[tokio::test]
async fn push_family_bodies_and_success() {
    let s = MockServer::start(serve(|_, _| {
        Reply::Json(
            202,
            fixture("jungle4_send_transaction_202_custom_permission_2024.json"),
        )
    }))
    .await;
    let c = client(&s.url);
    let trx = packed();
    c.push_transaction(&trx).await.unwrap();
    c.send_transaction(&trx).await.unwrap();
    let r = c.send_transaction2(&trx).await.unwrap();
    assert_eq!(r.processed.block_num, Some(120_914_942));
    c.compute_transaction(&trx).await.unwrap();
    let reqs = s.requests();
    let targets: Vec<&str> = reqs.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/v1/chain/push_transaction",
            "/v1/chain/send_transaction",
            "/v1/chain/send_transaction2",
            "/v1/chain/compute_transaction"
        ]
    );
    // Exactly the four fields, compression as a number.
    let body = &reqs[0].1;
    assert_eq!(body.as_object().unwrap().len(), 4);
    assert_eq!(body["compression"], 0);
    assert_eq!(reqs[2].1["return_failure_trace"], true);
    assert_eq!(reqs[2].1["retry_trx"], false);
    assert_eq!(reqs[2].1["transaction"], *body);
    assert_eq!(reqs[3].1["transaction"], *body);
}

#[tokio::test]
async fn node_errors_are_typed_whatever_the_status() {
    let s = MockServer::start(serve(|path, _| match path {
        "/v1/chain/push_transaction" => Reply::Json(500, r#"{"code":500,"message":"Internal Service Error","error":{"code":3040005,"name":"expired_tx_exception","what":"Expired Transaction","details":[{"message":"expired transaction 8a7d…, expiration 2024-01-25T21:32:00","file":"producer_plugin.cpp","line_number":1,"method":"process_incoming_transaction_async"}]}}"#.into()),
        "/v1/chain/send_transaction" => Reply::Json(500, fixture("error_500_signature_not_canonical_2022.json")),
        "/v1/chain/compute_transaction" => Reply::Json(500, fixture("jungle4_error_500_irrelevant_auth_compute_transaction_2024.json")),
        "/v1/chain/send_transaction2" => Reply::Json(202, r#"{"transaction_id":"8a7d6d0657c5c3d24f989123bd8d4066d7c5b3f4589860ebf70473590452028e","processed":{"id":"8a7d6d0657c5c3d24f989123bd8d4066d7c5b3f4589860ebf70473590452028e","receipt":null,"except":{"code":3080004,"name":"tx_cpu_usage_exceeded","message":"Transaction exceeded the current CPU usage limit imposed on the transaction","stack":[]}}}"#.into()),
        _ => Reply::Json(500, fixture("jungle4_error_500_get_account_nonexistent.json")),
    }))
    .await;
    let c = client(&s.url);
    let trx = packed();
    let e = c.push_transaction(&trx).await.unwrap_err();
    assert_eq!(e.node_error().unwrap().kind, NodeErrorKind::Expired);
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!(
            "{} push_transaction: node error (HTTP 500): 3040005 expired_tx_exception",
            s.url
        )),
        "{shown}"
    );
    assert!(shown.contains("fresh expiration"), "{shown}");

    let e = c.send_transaction(&trx).await.unwrap_err();
    assert_eq!(
        e.node_error().unwrap().kind,
        NodeErrorKind::NonCanonicalSignature
    );
    let e = c.compute_transaction(&trx).await.unwrap_err();
    assert_eq!(e.node_error().unwrap().kind, NodeErrorKind::IrrelevantAuth);
    let e = c.send_transaction2(&trx).await.unwrap_err();
    assert!(
        matches!(e.kind, ApiErrorKind::TransactionFailed(ref n) if n.kind == NodeErrorKind::CpuExhausted),
        "{e}"
    );
    let e = c.get_account(Name::literal("nani1")).await.unwrap_err();
    assert_eq!(e.node_error().unwrap().kind, NodeErrorKind::NotFound);
}

#[tokio::test]
async fn reads_send_the_documented_request_bodies() {
    let me = Name::literal("mybpaccount1");
    let s = MockServer::start(serve(move |path, body| match path {
        "/v1/chain/get_table_rows" if body["table"] == "producers" => Reply::Json(
            200,
            r#"{"rows":[{"owner":"mybpaccount1","total_votes":"1.5","producer_key":"EOS5CuxGyXVubRqWLVytQn5M1C2XoEaxzsLQEAXdF4iZmW5g925ig","is_active":1,"url":"https://bp.example","unpaid_blocks":3,"last_claim_time":"2024-01-01T00:00:00.000","location":0}],"more":false,"next_key":""}"#.into(),
        ),
        // A node answering a row that is not the one asked for (wrong bound handling).
        "/v1/chain/get_table_rows" if body["table"] == "finalizers" => Reply::Json(
            200,
            r#"{"rows":[{"finalizer_name":"someoneelse1","active_key_id":7,"active_key_binary":"00","finalizer_key_count":1}],"more":true,"next_key":""}"#.into(),
        ),
        "/v1/chain/get_abi" => Reply::Json(200, fixture("jungle4_get_abi_eosio_2023.json")),
        "/v1/chain/get_account" => Reply::Json(200, fixture("eos-mainnet_get_account_teamgreymass_2023.json")),
        "/v1/chain/get_producer_schedule" => Reply::Json(200, fixture("jungle4_get_producer_schedule_2023.json")),
        _ => Reply::Json(404, NOT_FOUND.into()),
    }))
    .await;
    let c = client(&s.url);
    let row = c.get_producer(me).await.unwrap().unwrap();
    assert!(row.is_active);
    assert_eq!(
        c.get_finalizer(me).await.unwrap(),
        None,
        "a row for another account is not ours"
    );
    let abi = c.get_abi(Name::literal("eosio")).await.unwrap();
    assert!(abi["structs"].is_array());
    let acct = c.get_account(Name::literal("teamgreymass")).await.unwrap();
    assert!(acct.permission(Name::literal("killswitch")).is_some());
    assert_eq!(
        c.get_producer_schedule()
            .await
            .unwrap()
            .active
            .unwrap()
            .version,
        72
    );
    let e = c.get_info().await.unwrap_err();
    assert!(
        matches!(e.kind, ApiErrorKind::Unsupported { status: 404 }),
        "{e}"
    );

    let reqs = s.requests();
    let producers = &reqs[0].1;
    assert_eq!(producers["code"], "eosio");
    assert_eq!(producers["lower_bound"], me.as_u64().to_string());
    assert_eq!(producers["upper_bound"], me.as_u64().to_string());
    assert_eq!(producers["limit"], 1);
    assert_eq!(reqs[2].1["account_name"], "eosio");
}

#[tokio::test]
async fn send_falls_back_to_older_methods_once() {
    let s = MockServer::start(serve(|path, _| match path {
        "/v1/chain/push_transaction" => Reply::Json(
            202,
            fixture("jungle4_send_transaction_202_custom_permission_2024.json"),
        ),
        _ => Reply::Json(404, NOT_FOUND.into()),
    }))
    .await;
    let c = client(&s.url);
    c.send(&packed()).await.unwrap();
    c.send(&packed()).await.unwrap();
    assert_eq!(s.hits("/v1/chain/send_transaction2"), 1);
    assert_eq!(s.hits("/v1/chain/send_transaction"), 1);
    assert_eq!(s.hits("/v1/chain/push_transaction"), 2);
}
