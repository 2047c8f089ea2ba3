//! A tiny HTTP/1.1 server on 127.0.0.1 for tests: each connection reads one request and
//! answers it from a handler, then closes. Enough to play a nodeos API (or a broken one:
//! slow, hanging, garbage, oversized) without any network beyond loopback.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub enum Reply {
    Json(u16, String),
    /// Arbitrary bytes with a status.
    Raw(u16, Vec<u8>),
    /// Answer after a delay.
    Slow(Duration, Box<Reply>),
    /// Chunked body of `total` bytes of JSON-ish filler, no Content-Length.
    Endless {
        total: usize,
    },
    /// A Content-Length header far above any limit, then a few bytes.
    HugeLength,
}

pub type Handler = Arc<dyn Fn(&str, &serde_json::Value) -> Reply + Send + Sync>;

pub struct MockServer {
    pub url: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    bodies: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    task: JoinHandle<()>,
}

impl MockServer {
    pub async fn start(handler: Handler) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let bodies: Arc<Mutex<Vec<(String, serde_json::Value)>>> = Arc::default();
        let (h2, b2) = (hits.clone(), bodies.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (handler, hits, bodies) = (handler.clone(), h2.clone(), b2.clone());
                tokio::spawn(async move {
                    let mut sock = BufReader::new(sock);
                    let mut line = String::new();
                    if sock.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if sock.read_line(&mut h).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0u8; len];
                    if sock.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let json: serde_json::Value =
                        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                    let path = target.split('?').next().unwrap_or("").to_string();
                    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
                    bodies.lock().unwrap().push((target.clone(), json.clone()));
                    let reply = handler(&path, &json);
                    let mut sock = sock.into_inner();
                    write_reply(&mut sock, reply).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        MockServer {
            url,
            hits,
            bodies,
            task,
        }
    }

    /// Requests seen for a path such as `/v1/chain/get_info`.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Every request target (path and query) with its JSON body.
    pub fn requests(&self) -> Vec<(String, serde_json::Value)> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

async fn write_reply(sock: &mut tokio::net::TcpStream, reply: Reply) {
    match reply {
        Reply::Json(status, body) => write_plain(sock, status, body.as_bytes()).await,
        Reply::Raw(status, body) => write_plain(sock, status, &body).await,
        Reply::Slow(d, inner) => {
            tokio::time::sleep(d).await;
            Box::pin(write_reply(sock, *inner)).await
        }
        Reply::Endless { total } => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
            if sock.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < total {
                let frame = format!("{:x}\r\n", chunk.len());
                if sock.write_all(frame.as_bytes()).await.is_err()
                    || sock.write_all(&chunk).await.is_err()
                    || sock.write_all(b"\r\n").await.is_err()
                {
                    return;
                }
                sent += chunk.len();
            }
            let _ = sock.write_all(b"0\r\n\r\n").await;
        }
        Reply::HugeLength => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n{\"a\":";
            let _ = sock.write_all(head.as_bytes()).await;
        }
    }
}

async fn write_plain(sock: &mut tokio::net::TcpStream, status: u16, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body).await;
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub const JUNGLE4: &str = "73e4385a2708e6d7048834fbc1079f2fabb17b3c125b146af438971e90716c4d";
pub const WAX: &str = "1064487b3cd1a897ce03ae5b6a865651747e2e152090f99c1d19d44e01aea5a4";

/// Unix ms of block `BASE`'s timestamp in simulated chains.
pub const T_BASE: i64 = 1_750_687_719_000; // 2025-06-23T14:08:39Z, the spring fixture's head
pub const BASE: u32 = 209_671_574;

pub fn block_time_ms(num: u32) -> i64 {
    T_BASE + (i64::from(num) - i64::from(BASE)) * 500
}

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

/// Block id of `num` on `fork` (0 = the main chain). Forks share every block below
/// `fork_point`.
pub fn block_id(num: u32, fork: u8, fork_point: u32) -> String {
    let f = if num >= fork_point { fork } else { 0 };
    format!("{num:08x}{}", format!("{f:02x}").repeat(28))
}

/// A simulated nodeos: the recorded Spring get_info with the head moved, on a fork.
#[derive(Clone)]
pub struct Chain {
    pub chain_id: String,
    pub head: u32,
    pub lib_lag: u32,
    pub fork: u8,
    pub fork_point: u32,
    /// Serve get_block_info (Leap ≥ 3.1) or only get_block.
    pub block_info: bool,
}

impl Chain {
    pub fn new(head: u32) -> Self {
        Chain {
            chain_id: JUNGLE4.into(),
            head,
            lib_lag: 2,
            fork: 0,
            fork_point: u32::MAX,
            block_info: true,
        }
    }

    pub fn get_info(&self) -> String {
        let mut v: serde_json::Value =
            serde_json::from_str(&fixture("jungle4_get_info_spring120rc3_savanna_2025.json"))
                .unwrap();
        let lib = self.head - self.lib_lag;
        v["chain_id"] = self.chain_id.clone().into();
        v["head_block_num"] = self.head.into();
        v["head_block_id"] = self.id(self.head).into();
        v["head_block_time"] = time_text(block_time_ms(self.head)).into();
        v["fork_db_head_block_num"] = self.head.into();
        v["fork_db_head_block_id"] = self.id(self.head).into();
        v["last_irreversible_block_num"] = lib.into();
        v["last_irreversible_block_id"] = self.id(lib).into();
        v["last_irreversible_block_time"] = time_text(block_time_ms(lib)).into();
        v.to_string()
    }

    pub fn id(&self, num: u32) -> String {
        block_id(num, self.fork, self.fork_point)
    }

    pub fn block(&self, num: u32) -> String {
        serde_json::json!({
            "block_num": num,
            "ref_block_num": num & 0xffff,
            "id": self.id(num),
            "timestamp": time_text(block_time_ms(num)),
            "producer": "eosriobrazil",
            "confirmed": 0,
            "previous": self.id(num - 1),
            "transaction_mroot": "0".repeat(64),
            "action_mroot": "0".repeat(64),
            "schedule_version": 2147483648u32,
            "producer_signature": "SIG_K1_K4aAYXpPkK795PN5Um9gHZquvmrkN8cTaW7NuevQMGbByR3UZubFFux1xBZ2SvLcKdefYRopN5CjwvvpuCKN9iEDohMXfX",
            "ref_block_prefix": 1,
            "transactions": []
        })
        .to_string()
    }

    /// A handler answering like this node.
    pub fn handler(self) -> Handler {
        Arc::new(move |path, body| self.answer(path, body))
    }

    pub fn answer(&self, path: &str, body: &serde_json::Value) -> Reply {
        match path {
            "/v1/chain/get_info" => Reply::Json(200, self.get_info()),
            "/v1/chain/get_block_info" if self.block_info => {
                let num = body["block_num"].as_u64().unwrap_or(0) as u32;
                if num > self.head {
                    Reply::Json(400, unknown_block(num))
                } else {
                    Reply::Json(200, self.block(num))
                }
            }
            "/v1/chain/get_block" => {
                let num: u32 = body["block_num_or_id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                Reply::Json(200, self.block(num))
            }
            _ => Reply::Json(404, NOT_FOUND.into()),
        }
    }
}

pub const NOT_FOUND: &str = r#"{"code":404,"message":"Not Found","error":{"code":0,"name":"exception","what":"unspecified","details":[{"message":"Unknown Endpoint","file":"http_plugin.cpp","line_number":1,"method":"handle_http_request"}]}}"#;

pub fn unknown_block(num: u32) -> String {
    format!(
        r#"{{"code":400,"message":"Unknown Block","error":{{"code":3100002,"name":"unknown_block_exception","what":"Unknown block","details":[{{"message":"Could not find block: {num}"}}]}}}}"#
    )
}
