//! The reads `check` makes: the key's public key, one polling round, then our rows, account,
//! ABIs, head block and each data center node's `get_info`. Local files and the network only.

use super::cleos::eosio;
use super::{msig, CheckInputs, FinalizerState};
use crate::api::Clock;
use crate::config::{Config, Problem};
use crate::snapshot::{datacenter_nodes, Fetched, GatherError, Polled};

// ---------------------------------------------------------------------------------------
// Gathering
// ---------------------------------------------------------------------------------------

/// Gathers everything with `clock`: the key's public key (the private key is dropped at
/// once), one polling round, and the reads. Local files and the network only.
pub async fn gather(
    config: &Config,
    warnings: Vec<Problem>,
    clock: &dyn Clock,
) -> Result<CheckInputs, GatherError> {
    let signer = config
        .producer
        .key
        .load()
        .map(|k| k.public_key())
        .map_err(|e| e.to_string());

    let polled = Polled::round(config, clock).await?;
    let (pool, order, view) = (&polled.pool, &polled.order, &polled.view);
    let me = config.producer.account;
    let want_keys = config.datacenters.iter().any(|d| d.finalizer_key.is_some());
    let head_num = view.quorum().map(|q| q.head.num).or_else(|| {
        order
            .iter()
            .find_map(|&k| view.endpoints.iter().find(|e| e.index == k)?.head)
            .map(|h| h.num)
    });

    let producer = pool.first_success(order, |c| c.get_producer(me));
    let account = pool.first_success(order, |c| c.get_account(me));
    let abi = pool.first_success(order, |c| c.get_abi(eosio()));
    let head_block = async {
        match head_num {
            Some(n) => Some(pool.first_success(order, |c| c.get_block_info(n)).await),
            None => None,
        }
    };
    let finalizer = pool.first_success(order, |c| async move {
        let row = c.get_finalizer(me).await?;
        let active_key = match &row {
            Some(r) => c.get_finalizer_key(r.active_key_id).await?,
            None => None,
        };
        Ok(FinalizerState { row, active_key })
    });
    let finalizer_keys = async {
        if !want_keys {
            return None;
        }
        Some(
            pool.first_success(order, |c| c.get_finalizer_keys_of(me))
                .await,
        )
    };
    let msig_reads = async {
        let m = config.msig.as_ref()?;
        let observers = futures_util::future::join_all(m.observers.iter().map(|o| {
            let actor = o.actor;
            pool.first_success(order, move |c| async move { c.get_account(actor).await })
        }));
        let contract =
            pool.first_success(order, |c| c.get_abi(crate::antelope::msig::MSIG_ACCOUNT));
        Some(tokio::join!(observers, contract))
    };
    let nodes = datacenter_nodes(config, clock)?;
    let (producer, account, abi, head_block, finalizer, finalizer_keys, datacenter_nodes, msig) = tokio::join!(
        producer,
        account,
        abi,
        head_block,
        finalizer,
        finalizer_keys,
        nodes,
        msig_reads
    );

    Ok(CheckInputs {
        config_warnings: warnings,
        signer,
        producer: polled.fetched(producer),
        account: polled.fetched(account),
        abi: polled.fetched(abi),
        head_block: match head_block {
            Some(r) => polled.fetched(r),
            None => Fetched::failed("no endpoint reported a head block".into()),
        },
        finalizer: polled.fetched(finalizer),
        finalizer_keys: finalizer_keys.map(|r| polled.fetched(r)),
        msig: msig.map(|(observers, contract)| msig::MsigInputs {
            observers: observers.into_iter().map(|r| polled.fetched(r)).collect(),
            contract: polled.fetched(contract),
        }),
        view: polled.view,
        datacenter_nodes,
    })
}
