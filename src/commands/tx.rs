//! `bp-failover tx regproducer --offline`: build and sign the key-switch transaction
//! with no network access, for air-gapped signing and drills.

use std::process::ExitCode;

use anyhow::Context;

use crate::antelope::abi::eosio_system_abi;
use crate::antelope::TimePointSec;
use crate::cli::RegproducerArgs;
use crate::keyfile;
use crate::keyswitch::{sign_checked, KeySwitch};

pub fn regproducer(args: RegproducerArgs) -> anyhow::Result<ExitCode> {
    let key = keyfile::read_key_file(&args.key_file)?;
    let expiration = match args.expiration {
        Some(t) => t,
        None => {
            let now = chrono::Utc::now().timestamp();
            let secs = u32::try_from(now + i64::from(args.expire_secs))
                .context("the local clock is outside the range of a transaction expiration")?;
            TimePointSec::from_unix_secs(secs)
        }
    };
    let switch = KeySwitch {
        producer: args.producer,
        permission: args.permission,
        action: args.action,
        signing_key: args.signing_key,
        url: args.url,
        location: args.location,
        finalizer_key: args.finalizer_key,
    };
    let tx = switch.transaction(eosio_system_abi(), &args.ref_block_id, expiration)?;
    let body = sign_checked(&tx, &args.chain_id, &key)?;
    println!("{}", serde_json::to_string(&body)?);
    eprintln!(
        "signed eosio::{action} for {producer}@{permission}: signing key {new_key}, url {url:?}, \
         location {location}\ntransaction id {id}, expires {expiration} UTC, ref block {ref_block} \
         (TAPOS is only valid on that chain's fork for ~9 hours)\nsigner {signer}: it must be a key \
         of {producer}@{permission}, and that permission must be linked to eosio::{action}",
        action = switch.action.name(),
        producer = switch.producer,
        permission = switch.permission,
        new_key = switch.signing_key,
        url = switch.url,
        location = switch.location,
        id = tx.id(),
        ref_block = args.ref_block_id.block_num(),
        signer = key.public_key(),
    );
    Ok(ExitCode::SUCCESS)
}
