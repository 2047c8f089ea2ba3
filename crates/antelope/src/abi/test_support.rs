//! Helpers shared by the ABI tests.

use super::*;
use crate::bytes::{Pack, Writer};
use crate::keys::PublicKey;
use serde_json::json;

macro_rules! fixture {
    ($name:literal) => {
        serde_json::from_str::<Value>(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/",
            $name
        )))
        .unwrap()
    };
}
pub(crate) use fixture;

pub(crate) fn name(s: &str) -> Name {
    Name::literal(s)
}

pub(crate) fn sys() -> &'static Abi {
    eosio_system_abi()
}

pub(crate) fn abi(json: Value) -> Abi {
    Abi::from_def(AbiDef::from_json_value(json).unwrap()).unwrap()
}

pub(crate) fn abi_err(json: Value) -> AbiError {
    Abi::from_def(AbiDef::from_json_value(json).unwrap()).unwrap_err()
}

pub(crate) const YOSEMITE_KEY: &str = "EOS66ABHVyT25wYUd2suW6JtbrwLrUdPFVDA1vjU8ttU289d2DPvJ";

pub(crate) fn regproducer2_input() -> Value {
    json!({
        "producer": "producer.d",
        "producer_authority": [0, {"threshold": 1, "keys": [{"key": YOSEMITE_KEY, "weight": 1}]}],
        "url": "",
        "location": 0
    })
}

pub(crate) fn producer_row_bytes(with_authority: bool) -> Vec<u8> {
    let key: PublicKey = YOSEMITE_KEY.parse().unwrap();
    let mut w = Writer::new();
    name("producer.d").pack(&mut w);
    w.f64(123.45);
    key.pack(&mut w);
    w.u8(1);
    w.string("http://producerd.io");
    w.u32(5);
    w.i64(1_704_164_645_500_000); // 2024-01-02T03:04:05.500
    w.u16(1);
    if with_authority {
        w.varuint32(0);
        w.u32(1);
        w.varuint32(1);
        key.pack(&mut w);
        w.u16(1);
    }
    w.into_bytes()
}
