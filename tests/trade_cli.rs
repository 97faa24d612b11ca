//! `cex trade` as a person runs it: decimals refused before anything is sent, a gateway that
//! is not there, a refused logon, and an order against a scripted fake gateway whose reports
//! are printed in decimals with symbol and asset names.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::thread::JoinHandle;
use std::time::Duration;

use cex_gateway_protocol::codec::{self, KeyPermissions, LogonOptions, MessageDecoder};
use cex_gateway_protocol::{encode_frame, sign_logon, EncodeError, FrameBuffer, FrameDecoder};

const API_KEY: &str = "k3y";
const SECRET: &str = "s3cret";

fn cex() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cex"))
}

/// `cex trade ARGS` with the secret in the environment and a throwaway data directory.
fn trade(dir: &Path, gateway: &str, args: &[&str]) -> Output {
    cex()
        .args(["trade", "--gateway", gateway, "--api-key", API_KEY, "--data-dir"])
        .arg(dir)
        .args(args)
        .env("CEX_API_SECRET", SECRET)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn a_gateway_that_is_not_there_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = format!("127.0.0.1:{}", closed_port());
    let output = trade(dir.path(), &gateway, &["buy", "BTC-USDT", "0.5", "--price", "30000"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&format!("cannot log on to {gateway}")) && stderr.contains("refused"), "{stderr}");
}

#[test]
fn prices_and_quantities_off_the_tick_or_lot_are_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = format!("127.0.0.1:{}", closed_port());
    let cases: [(&[&str], &str); 6] = [
        (&["buy", "BTC-USDT", "0.5", "--price", "30000.001"], "not a multiple of BTC-USDT's tick size 0.01"),
        (&["sell", "BTC-USDT", "0.00005", "--price", "30000"], "not a multiple of BTC-USDT's lot size 0.0001"),
        (&["buy", "BTC-USDT", "0", "--price", "30000"], "quantity must be above zero"),
        (&["buy", "BTC-USDT", "1", "--price", "-5"], "price must be above zero"),
        (&["buy", "DOGE-USDT", "1"], "unknown symbol \"DOGE-USDT\""),
        (&["amend", "--symbol", "ETH-USDT", "--order-id", "3", "--price", "1.5", "--qty", "one"], "not a decimal"),
    ];
    for (args, expected) in cases {
        let output = trade(dir.path(), &nowhere, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("cannot log on"), "refused before connecting: {stderr}");
    }
    let no_secret = cex()
        .args(["trade", "--gateway", &nowhere, "--api-key", API_KEY, "--data-dir"])
        .arg(dir.path())
        .args(["cancel", "--order-id", "1"])
        .env_remove("CEX_API_SECRET")
        .output()
        .unwrap();
    assert_eq!(no_secret.status.code(), Some(2));
    assert!(text(&no_secret.stderr).contains("--secret-file"), "{}", text(&no_secret.stderr));
    let both_ids = trade(dir.path(), &nowhere, &["cancel", "--order-id", "1", "--client-order-id", "2"]);
    assert_eq!(both_ids.status.code(), Some(2), "clap refuses both ids");
}

/// A one-connection fake gateway running `script`.
fn fake_gateway(script: impl FnOnce(&mut Peer) + Send + 'static) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        script(&mut Peer { stream, frames: FrameBuffer::new(FrameDecoder::default()) });
    });
    (addr, handle)
}

struct Peer {
    stream: TcpStream,
    frames: FrameBuffer,
}

impl Peer {
    fn read(&mut self) -> Vec<u8> {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(message) = self.frames.next_frame().unwrap() {
                return message.to_vec();
            }
            let read = self.stream.read(&mut buf).unwrap();
            assert!(read > 0, "the client hung up");
            self.frames.extend(&buf[..read]);
        }
    }

    fn send(&mut self, encode: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>) {
        let mut buf = [0u8; 512];
        let length = encode_frame(&mut buf, encode).unwrap();
        self.stream.write_all(&buf[..length]).unwrap();
    }

    /// Checks the Logon's signature and answers it.
    fn logon(&mut self, accept: bool) {
        let message = self.read();
        let MessageDecoder::Logon(logon) = MessageDecoder::decode(&message).unwrap() else { panic!("a Logon") };
        let logon = logon.value().unwrap();
        assert_eq!(logon.api_key, API_KEY);
        assert_eq!(logon.signature, sign_logon(SECRET, API_KEY, logon.timestamp_ms, logon.nonce));
        if !accept {
            let rejected =
                codec::LogonRejected { reason: codec::LogonRejectReason::IpNotAllowed, text: "not from here" };
            self.send(|buf| rejected.encode(buf));
            return;
        }
        let accepted = codec::LogonAccepted {
            session_id: 1,
            account: 42,
            permissions: KeyPermissions::READ.with(KeyPermissions::TRADE),
            options: logon.options,
            heartbeat_interval_ms: logon.heartbeat_interval_ms,
            next_inbound_seq_num: 2,
            last_txid: 16,
        };
        assert_eq!(logon.options, LogonOptions::CANCEL_ON_DISCONNECT, "--cancel-on-disconnect");
        self.send(|buf| accepted.encode(buf));
    }
}

fn new_report() -> codec::ExecutionReport {
    codec::ExecutionReport {
        txid: 17,
        exec_type: codec::ExecType::New,
        order_id: 5,
        client_order_id: 1,
        symbol: Some(0),
        side: Some(codec::Side::Buy),
        order_type: Some(codec::OrderType::Limit),
        time_in_force: Some(codec::TimeInForce::Gtc),
        price: Some(30_000_000_000),
        order_qty: Some(50_000_000),
        stop_price: None,
        last_px: None,
        last_qty: None,
        leaves_qty: Some(50_000_000),
        cum_qty: Some(0),
        canceled_qty: None,
        trade_id: None,
        liquidity: None,
        cancel_reason: None,
        reject_reason: None,
        rejected_command: None,
        priority_kept: None,
    }
}

#[test]
fn an_order_goes_out_in_engine_units_and_its_reports_come_back_in_decimals() {
    let (addr, gateway) = fake_gateway(|peer| {
        peer.logon(true);
        let message = peer.read();
        let MessageDecoder::NewOrderSingle(order) = MessageDecoder::decode(&message).unwrap() else {
            panic!("a NewOrderSingle")
        };
        let order = order.value().unwrap();
        assert_eq!((order.symbol, order.side, order.order_type), (0, codec::Side::Buy, codec::OrderType::Limit));
        assert_eq!((order.price, order.qty, order.client_order_id), (30_000_000_000, 50_000_000, 1));
        assert_eq!(order.time_in_force, codec::TimeInForce::Gtc);
        peer.send(|buf| new_report().encode(buf));
        let freeze = codec::BalanceUpdate {
            txid: 17,
            asset: 0,
            cause: codec::BalanceCause::OrderFreeze,
            reference: 5,
            available_before: 20_000_000_000,
            frozen_before: 0,
            available_after: 5_000_000_000,
            frozen_after: 15_000_000_000,
        };
        peer.send(|buf| freeze.encode(buf));
        let message = peer.read();
        let MessageDecoder::Logout(logout) = MessageDecoder::decode(&message).unwrap() else { panic!("a Logout") };
        assert_eq!(logout.reason().unwrap(), codec::LogoutReason::ClientRequested);
    });
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let output = cex()
        .args(["trade", "--gateway", &addr.to_string(), "--api-key", API_KEY, "--secret-file"])
        .arg(&secret_file)
        .args(["--cancel-on-disconnect", "--wait", "500", "--data-dir"])
        .arg(dir.path())
        .args(["buy", "BTC-USDT", "0.5", "--price", "30000", "--client-order-id", "1"])
        .env_remove("CEX_API_SECRET")
        .output()
        .unwrap();
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    gateway.join().unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with(&format!("LOGGED-ON {addr} session=1 account=42 permissions=read,trade")));
    assert_eq!(lines[1], "SENT NewOrderSingle seq=2");
    assert_eq!(lines[2], "txid=17 NEW order=5 coid=1 BUY BTC-USDT 0.5000 @ 30000.00 leaves=0.5000 type=Limit tif=Gtc");
    assert_eq!(
        lines[3],
        "txid=17 BALANCE USDT OrderFreeze ref=5 available=20000.000000 -> 5000.000000 frozen=0.000000 -> 15000.000000"
    );
}

#[test]
fn json_output_and_a_refused_logon() {
    let (addr, gateway) = fake_gateway(|peer| peer.logon(false));
    let dir = tempfile::tempdir().unwrap();
    let output = trade(dir.path(), &addr.to_string(), &["--json", "listen"]);
    gateway.join().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("logon rejected: IpNotAllowed: not from here"), "{stderr}");

    let (addr, gateway) = fake_gateway(|peer| {
        peer.logon(true);
        peer.send(|buf| new_report().encode(buf));
        peer.read();
    });
    let args = ["--json", "--cancel-on-disconnect", "--wait", "300", "listen"];
    let output = trade(dir.path(), &addr.to_string(), &args);
    gateway.join().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let objects: Vec<serde_json::Value> =
        text(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(objects[0]["type"], "logon");
    assert_eq!(objects[0]["lastTxid"], 16);
    assert_eq!(objects[1]["type"], "execution");
    assert_eq!((objects[1]["execType"].as_str(), objects[1]["price"].as_str()), (Some("NEW"), Some("30000.00")));
}
