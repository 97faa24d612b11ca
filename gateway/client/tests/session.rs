//! The client against a scripted fake gateway: logon, heartbeats, every server message, order
//! entry on the wire, and what the gateway can do wrong.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cex_engine::{Amend, Cancel, CancelAll, Command, MassQuote, NewOrder, OrderType, Side, TimeInForce};
use cex_gateway_client::codec::{
    self, BookUpdateLevelsEntry, BookUpdateType, ExecType, KeyPermissions, LogonRejectReason, LogoutReason,
    MessageDecoder, SessionRejectReason,
};
use cex_gateway_client::{BookUpdate, ClientError, LogonInfo, ServerMessage, Session};
use cex_gateway_protocol::{decode_client_message, order_entry_commands, sign_logon, DecodeError, FrameError};

use common::{accepted, credentials, options, report, FakeGateway, Peer, ACCOUNT, API_KEY, SECRET};

const WAIT: Duration = Duration::from_secs(5);

fn logged_on(gateway: &FakeGateway, heartbeat_interval_ms: u32) -> Session {
    Session::logon(gateway.addr, &credentials(), &options(heartbeat_interval_ms)).unwrap()
}

fn template_of(message: &[u8]) -> u16 {
    codec::read_header(message).unwrap().template_id
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn logon_sends_a_signed_logon_and_returns_what_the_gateway_granted() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        let logon = peer.accept_logon();
        assert_eq!(logon.api_key, API_KEY);
        assert_eq!(logon.signature, sign_logon(SECRET, API_KEY, logon.timestamp_ms, logon.nonce), "signed");
        assert!(logon.timestamp_ms.abs_diff(now_ms()) < 5_000, "the client's clock, in ms");
        assert_eq!(logon.heartbeat_interval_ms, 2_500);
        assert!(logon.options.cancel_on_disconnect());
        let second = peer.read_message();
        assert_eq!(template_of(&second), codec::Heartbeat::TEMPLATE_ID);
    });
    let options = cex_gateway_client::SessionOptions { cancel_on_disconnect: true, ..options(2_500) };
    let mut session = Session::logon(gateway.addr, &credentials(), &options).unwrap();
    let expected = LogonInfo {
        session_id: 7,
        account: ACCOUNT,
        permissions: KeyPermissions::READ.with(KeyPermissions::TRADE),
        options: codec::LogonOptions::CANCEL_ON_DISCONNECT,
        heartbeat_interval_ms: 2_500,
        next_inbound_seq_num: 2,
        last_txid: 1234,
    };
    assert_eq!(*session.info(), expected);
    assert_eq!(session.next_seq_num(), 2);
    assert_eq!(session.heartbeat().unwrap(), 2, "the message after the Logon is number 2");
    gateway.join();
}

#[test]
fn each_logon_signs_a_fresh_nonce() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let gateway = std::thread::spawn(move || {
        let mut nonces = Vec::new();
        for _ in 0..3 {
            let (stream, _) = listener.accept().unwrap();
            let mut peer = Peer::new(stream);
            let logon = peer.read_logon();
            assert_eq!(logon.signature, sign_logon(SECRET, API_KEY, logon.timestamp_ms, logon.nonce));
            nonces.push(logon.nonce);
            let rejected = codec::LogonRejected { reason: LogonRejectReason::ReplayedLogon, text: "" };
            peer.send(|buf| rejected.encode(buf));
        }
        nonces
    });
    for _ in 0..3 {
        let error = Session::logon(addr, &credentials(), &options(1_000)).unwrap_err();
        assert!(matches!(error, ClientError::LogonRejected { reason: LogonRejectReason::ReplayedLogon, .. }));
    }
    let mut nonces = gateway.join().unwrap();
    nonces.sort_unstable();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a signature is accepted once, so each logon needs its own nonce");
}

#[test]
fn a_rejected_logon_is_an_error_with_the_reason() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        peer.read_logon();
        let rejected = codec::LogonRejected { reason: LogonRejectReason::InvalidSignature, text: "no match" };
        peer.send(|buf| rejected.encode(buf));
    });
    let error = Session::logon(gateway.addr, &credentials(), &options(1_000)).unwrap_err();
    match &error {
        ClientError::LogonRejected { reason, text } => {
            assert_eq!((*reason, text.as_str()), (LogonRejectReason::InvalidSignature, "no match"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.to_string(), "logon rejected: InvalidSignature: no match");
    gateway.join();
}

#[test]
fn a_silent_gateway_times_the_logon_out() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        peer.read_logon();
        assert!(peer.client_closed(), "the client hangs up after its logon timeout");
    });
    let options = cex_gateway_client::SessionOptions { logon_timeout: Duration::from_millis(200), ..options(1_000) };
    let started = Instant::now();
    let error = Session::logon(gateway.addr, &credentials(), &options).unwrap_err();
    assert!(matches!(error, ClientError::Timeout), "{error:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    gateway.join();
}

#[test]
fn a_closed_port_is_an_io_error() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = Session::logon(("127.0.0.1", port), &credentials(), &options(1_000)).unwrap_err();
    assert!(matches!(&error, ClientError::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused), "{error:?}");
}

#[test]
fn an_idle_session_sends_heartbeats_at_the_interval() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        peer.accept_logon();
        let accepted_at = Instant::now();
        let mut arrivals = Vec::new();
        for _ in 0..2 {
            let message = peer.read_message();
            assert_eq!(template_of(&message), codec::Heartbeat::TEMPLATE_ID);
            arrivals.push(accepted_at.elapsed());
            peer.send(|buf| codec::Heartbeat {}.encode(buf));
        }
        assert!(arrivals[0] >= Duration::from_millis(150), "not before the interval: {arrivals:?}");
        assert!(arrivals[1] - arrivals[0] >= Duration::from_millis(150), "one per interval: {arrivals:?}");
    });
    let mut session = logged_on(&gateway, 200);
    for _ in 0..2 {
        assert_eq!(session.recv(WAIT).unwrap(), Some(ServerMessage::Heartbeat));
    }
    gateway.join();
}

#[test]
fn a_gateway_silent_for_three_intervals_is_given_up() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        peer.accept_logon();
        loop {
            let message = peer.read_message();
            if template_of(&message) == codec::Logout::TEMPLATE_ID {
                let MessageDecoder::Logout(logout) = MessageDecoder::decode(&message).unwrap() else { unreachable!() };
                assert_eq!(logout.reason().unwrap(), LogoutReason::IdleTimeout);
                break;
            }
            assert_eq!(template_of(&message), codec::Heartbeat::TEMPLATE_ID);
        }
    });
    let mut session = logged_on(&gateway, 50);
    let started = Instant::now();
    let error = session.recv(WAIT).unwrap_err();
    assert!(matches!(error, ClientError::Closed { reason: Some(LogoutReason::IdleTimeout), .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "after about 150 ms, not the receive timeout");
    assert!(session.is_closed());
    gateway.join();
}

/// One of every message a gateway sends after the logon, as the client should see it.
fn every_server_message() -> Vec<ServerMessage> {
    let new = codec::ExecutionReport {
        order_id: 5,
        client_order_id: 1,
        symbol: Some(0),
        side: Some(codec::Side::Buy),
        order_type: Some(codec::OrderType::Limit),
        time_in_force: Some(codec::TimeInForce::Gtc),
        price: Some(3_000_000_000),
        order_qty: Some(50_000_000),
        leaves_qty: Some(50_000_000),
        cum_qty: Some(0),
        ..report(17, ExecType::New)
    };
    let rejected = codec::ExecutionReport {
        client_order_id: 2,
        reject_reason: Some(codec::RejectReason::InsufficientFunds),
        rejected_command: Some(codec::CommandKind::NewOrder),
        ..report(18, ExecType::Rejected)
    };
    let trade = codec::TradeReport {
        txid: 19,
        trade_id: 3,
        order_id: 5,
        client_order_id: 1,
        symbol: 0,
        side: codec::Side::Buy,
        liquidity: codec::LiquidityIndicator::Maker,
        price: 3_000_000_000,
        qty: 10_000_000,
        notional: 3_000_000_000,
        fee: 10_000,
        fee_asset: codec::FeeAsset::Base,
        leaves_qty: 40_000_000,
    };
    let balance = codec::BalanceUpdate {
        txid: 19,
        asset: 1,
        cause: codec::BalanceCause::TradeSettlement,
        reference: 3,
        available_before: 0,
        frozen_before: 0,
        available_after: 9_990_000,
        frozen_after: 0,
    };
    let tick = codec::TradeTick {
        txid: 19,
        trade_id: 3,
        symbol: 0,
        price: 3_000_000_000,
        qty: 10_000_000,
        taker_side: codec::Side::Sell,
    };
    let levels = vec![
        BookUpdateLevelsEntry { side: codec::Side::Buy, price: 2_999_000_000, qty: 7, order_count: 2 },
        BookUpdateLevelsEntry { side: codec::Side::Sell, price: 3_001_000_000, qty: 0, order_count: 0 },
    ];
    vec![
        ServerMessage::Execution(new),
        ServerMessage::Execution(rejected),
        ServerMessage::Trade(trade),
        ServerMessage::Balance(balance),
        ServerMessage::TradeTick(tick),
        ServerMessage::BookUpdate(BookUpdate { txid: 20, symbol: 0, update_type: BookUpdateType::Incremental, levels }),
        ServerMessage::SessionReject {
            ref_seq_num: 4,
            ref_template_id: 300,
            reason: SessionRejectReason::RateLimitExceeded,
            text: "slow down".into(),
        },
        ServerMessage::Heartbeat,
        ServerMessage::RetransmitComplete { from_txid: 1, to_txid: 20, messages: 6 },
        ServerMessage::Logout { reason: LogoutReason::ServerShutdown, text: "maintenance".into() },
    ]
}

/// Writes `message` as the gateway would.
fn send_server_message(peer: &mut Peer, message: &ServerMessage) {
    match message {
        ServerMessage::Execution(report) => peer.send(|buf| report.encode(buf)),
        ServerMessage::Trade(report) => peer.send(|buf| report.encode(buf)),
        ServerMessage::Balance(update) => peer.send(|buf| update.encode(buf)),
        ServerMessage::TradeTick(tick) => peer.send(|buf| tick.encode(buf)),
        ServerMessage::BookUpdate(update) => {
            let wire = codec::BookUpdate {
                txid: update.txid,
                symbol: update.symbol,
                update_type: update.update_type,
                levels: &update.levels,
            };
            peer.send(|buf| wire.encode(buf))
        }
        ServerMessage::SessionReject { ref_seq_num, ref_template_id, reason, text } => {
            let wire = codec::SessionReject {
                ref_seq_num: *ref_seq_num,
                ref_template_id: *ref_template_id,
                reason: *reason,
                text,
            };
            peer.send(|buf| wire.encode(buf))
        }
        ServerMessage::Heartbeat => peer.send(|buf| codec::Heartbeat {}.encode(buf)),
        ServerMessage::RetransmitComplete { from_txid, to_txid, messages } => {
            let wire = codec::RetransmitComplete { from_txid: *from_txid, to_txid: *to_txid, messages: *messages };
            peer.send(|buf| wire.encode(buf))
        }
        ServerMessage::Logout { reason, text } => peer.send(|buf| codec::Logout { reason: *reason, text }.encode(buf)),
        other => panic!("not sent after a logon: {other:?}"),
    }
}

#[test]
fn every_server_message_is_received_owned_and_a_logout_ends_the_session() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        peer.accept_logon();
        for message in every_server_message() {
            send_server_message(&mut peer, &message);
        }
        assert!(peer.client_closed(), "the client closes after the gateway's Logout");
    });
    let mut session = logged_on(&gateway, 5_000);
    for expected in every_server_message() {
        let received = session.recv(WAIT).unwrap();
        assert_eq!(received.as_ref(), Some(&expected));
        assert_eq!(received.map(|m| m.template_id()), Some(expected.template_id()));
    }
    assert!(session.is_closed());
    let closed = |error: &ClientError| matches!(error, ClientError::Closed { reason: Some(LogoutReason::ServerShutdown), text } if text == "maintenance");
    let order = Command::NewOrder(NewOrder::limit(0, 0, Side::Buy, 1, 1));
    assert!(closed(&session.send(&order).unwrap_err()));
    assert!(closed(&session.recv(WAIT).unwrap_err()));
    assert!(closed(&session.try_recv().unwrap_err()));
    gateway.join();
}

#[test]
fn a_message_trickling_in_byte_by_byte_is_reassembled() {
    let tick = codec::TradeTick { txid: 9, trade_id: 1, symbol: 2, price: 3, qty: 4, taker_side: codec::Side::Buy };
    let gateway = FakeGateway::start(move |mut peer: Peer| {
        peer.accept_logon();
        let mut frame = vec![0u8; 64];
        let length = cex_gateway_protocol::encode_frame(&mut frame, |buf| tick.encode(buf)).unwrap();
        for byte in &frame[..length] {
            peer.send_raw(std::slice::from_ref(byte));
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let mut session = logged_on(&gateway, 5_000);
    assert_eq!(session.recv(WAIT).unwrap(), Some(ServerMessage::TradeTick(tick)));
    gateway.join();
}

#[test]
fn order_entry_reaches_the_gateway_as_the_commands_sent() {
    let order = NewOrder {
        client_order_id: 11,
        time_in_force: TimeInForce::Ioc,
        order_type: OrderType::Limit,
        ..NewOrder::limit(0, 1, Side::Sell, 3_000_000_000, 5_000)
    };
    let commands = vec![
        Command::NewOrder(order),
        Command::Cancel(Cancel { account: 0, order_id: 5, client_order_id: 0 }),
        Command::CancelAll(CancelAll { account: 0, symbol: Some(1), side: Some(Side::Buy) }),
        Command::Amend(Amend { account: 0, order_id: 0, client_order_id: 11, new_price: 2_000, new_qty: 3_000 }),
        Command::MassQuote(MassQuote { account: 0, symbol: 1, bid_price: 1, bid_qty: 2, ask_price: 3, ask_qty: 4 }),
    ];
    let expected = commands.clone();
    let gateway = FakeGateway::start(move |mut peer: Peer| {
        peer.accept_logon();
        for want in &expected {
            let message = peer.read_message();
            let decoded = decode_client_message(&message).unwrap();
            let mut got = Vec::new();
            order_entry_commands(ACCOUNT, &decoded, |command| got.push(command)).unwrap();
            assert_eq!(got, vec![with_account(*want, ACCOUNT)]);
        }
        let message = peer.read_message();
        let MessageDecoder::RetransmitRequest(request) = decode_client_message(&message).unwrap() else {
            panic!("a RetransmitRequest");
        };
        assert_eq!((request.from_txid().unwrap(), request.count().unwrap()), (100, 50));
        let reject = codec::SessionReject {
            ref_seq_num: 3,
            ref_template_id: codec::CancelOrder::TEMPLATE_ID,
            reason: SessionRejectReason::TooManyInFlight,
            text: "wait",
        };
        peer.send(|buf| reject.encode(buf));
    });
    let mut session = logged_on(&gateway, 5_000);
    let seq_nums: Vec<u64> = commands.iter().map(|command| session.send(command).unwrap()).collect();
    assert_eq!(seq_nums, vec![2, 3, 4, 5, 6]);
    assert_eq!(session.retransmit(100, 50).unwrap(), 7);
    let Some(ServerMessage::SessionReject { ref_seq_num, ref_template_id, .. }) = session.recv(WAIT).unwrap() else {
        panic!("a SessionReject");
    };
    assert_eq!((ref_seq_num, ref_template_id), (seq_nums[1], codec::CancelOrder::TEMPLATE_ID), "names the cancel");
    gateway.join();
}

fn with_account(command: Command, account: u32) -> Command {
    match command {
        Command::NewOrder(c) => Command::NewOrder(NewOrder { account, ..c }),
        Command::Cancel(c) => Command::Cancel(Cancel { account, ..c }),
        Command::CancelAll(c) => Command::CancelAll(CancelAll { account, ..c }),
        Command::Amend(c) => Command::Amend(Amend { account, ..c }),
        Command::MassQuote(c) => Command::MassQuote(MassQuote { account, ..c }),
        other => other,
    }
}

#[test]
fn a_command_a_client_cannot_send_is_an_encode_error() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        peer.accept_logon();
        let message = peer.read_message();
        assert_eq!(template_of(&message), codec::Heartbeat::TEMPLATE_ID, "nothing was sent for the refused command");
    });
    let mut session = logged_on(&gateway, 5_000);
    let deposit = Command::AdjustBalance(cex_engine::AdjustBalance { account: 1, asset: 0, amount: 5, ref_id: 1 });
    assert!(matches!(session.send(&deposit), Err(ClientError::Encode(_))));
    assert_eq!(session.heartbeat().unwrap(), 2, "the refused command took no sequence number");
    gateway.join();
}

#[test]
fn a_framing_error_from_the_gateway_is_an_error_and_ends_the_session() {
    for (bytes, expected) in [
        (vec![0, 0, 0, 14, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0], FrameError::UnknownEncoding(0x1234)),
        (vec![0, 0, 0, 3, 0x5B, 0xE0], FrameError::TooShort { length: 3 }),
        (vec![0xFF, 0xFF, 0xFF, 0xFF], FrameError::TooLong { length: u32::MAX as usize, max: 4 << 20 }),
    ] {
        let gateway = FakeGateway::start(move |mut peer: Peer| {
            peer.accept_logon();
            peer.send_raw(&bytes);
            let message = peer.read_message();
            let MessageDecoder::Logout(logout) = MessageDecoder::decode(&message).unwrap() else { panic!("a Logout") };
            assert_eq!(logout.reason().unwrap(), LogoutReason::ProtocolViolation);
            assert!(peer.client_closed());
        });
        let mut session = logged_on(&gateway, 5_000);
        let error = session.recv(WAIT).unwrap_err();
        assert!(matches!(error, ClientError::Frame(e) if e == expected), "{error:?}");
        let after = session.heartbeat().unwrap_err();
        assert!(
            matches!(after, ClientError::Closed { reason: Some(LogoutReason::ProtocolViolation), .. }),
            "{after:?}"
        );
        gateway.join();
    }
}

#[test]
fn an_undecodable_message_is_an_error_and_the_session_goes_on() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        peer.accept_logon();
        // A well-framed message of an unknown template.
        peer.send(|buf| {
            buf[..8].copy_from_slice(&[0, 0, 0xE7, 0x03, 1, 0, 2, 0]);
            Ok(8)
        });
        // An execution report cut short.
        peer.send(|buf| {
            let length = report(1, ExecType::New).encode(buf)?;
            Ok(length - 10)
        });
        // A message only a client sends.
        peer.send(|buf| codec::CancelOrder { order_id: 1, client_order_id: 0 }.encode(buf));
        // An undefined enum value.
        peer.send(|buf| {
            let length = codec::Logout { reason: LogoutReason::IdleTimeout, text: "" }.encode(buf)?;
            buf[8] = 200;
            Ok(length)
        });
        peer.send(|buf| codec::Heartbeat {}.encode(buf));
    });
    let mut session = logged_on(&gateway, 5_000);
    let error = session.recv(WAIT).unwrap_err();
    assert!(matches!(error, ClientError::Decode(DecodeError::UnknownTemplate(999))), "{error:?}");
    let error = session.recv(WAIT).unwrap_err();
    assert!(matches!(error, ClientError::Decode(DecodeError::Truncated { .. })), "{error:?}");
    let error = session.recv(WAIT).unwrap_err();
    assert!(matches!(error, ClientError::UnexpectedMessage { template_id: 301 }), "{error:?}");
    let error = session.recv(WAIT).unwrap_err();
    assert!(matches!(error, ClientError::Decode(DecodeError::InvalidEnum { .. })), "{error:?}");
    assert!(!session.is_closed(), "an undefined reason is not a Logout");
    assert_eq!(session.recv(WAIT).unwrap(), Some(ServerMessage::Heartbeat));
    gateway.join();
}

#[test]
fn a_dropped_connection_ends_the_session() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        peer.accept_logon();
        peer.send(|buf| codec::Heartbeat {}.encode(buf));
    });
    let mut session = logged_on(&gateway, 5_000);
    gateway.join();
    assert_eq!(session.recv(WAIT).unwrap(), Some(ServerMessage::Heartbeat), "what came before the close is kept");
    let error = session.recv(WAIT).unwrap_err();
    assert!(matches!(error, ClientError::Closed { reason: None, .. }), "{error:?}");
    assert!(session.is_closed());
}

#[test]
fn logout_sends_client_requested_and_closes() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        peer.accept_logon();
        let message = peer.read_message();
        let MessageDecoder::Logout(logout) = MessageDecoder::decode(&message).unwrap() else { panic!("a Logout") };
        assert_eq!((logout.reason().unwrap(), logout.text().unwrap()), (LogoutReason::ClientRequested, "done"));
        assert!(peer.client_closed());
    });
    let mut session = logged_on(&gateway, 5_000);
    session.logout("done").unwrap();
    assert!(session.is_closed());
    assert!(matches!(
        session.heartbeat(),
        Err(ClientError::Closed { reason: Some(LogoutReason::ClientRequested), .. })
    ));
    gateway.join();
}

#[test]
fn raw_bytes_go_out_unchanged() {
    let gateway = FakeGateway::start(|mut peer: Peer| {
        peer.accept_logon();
        assert_eq!(peer.read_raw(9), [0, 0, 0, 9, 0x5B, 0xE0, 1, 2, 3], "one frame around the message");
        assert_eq!(peer.read_raw(3), [0xDE, 0xAD, 0xBE], "as they are");
        let heartbeat = [0, 0, 0, 14, 0x5B, 0xE0, 0, 0, 203, 0, 1, 0, 2, 0];
        assert_eq!(peer.read_raw(14), heartbeat);
    });
    let mut session = logged_on(&gateway, 5_000);
    assert_eq!(session.send_message_bytes(&[1, 2, 3]).unwrap(), 2);
    session.send_frame_bytes(&[0xDE, 0xAD, 0xBE]).unwrap();
    assert_eq!(session.next_seq_num(), 3, "no complete frame in those bytes");
    session.send_frame_bytes(&[0, 0, 0, 14, 0x5B, 0xE0, 0, 0, 203, 0, 1, 0, 2, 0]).unwrap();
    assert_eq!(session.next_seq_num(), 4, "one frame: one message for the gateway");
    gateway.join();
}

#[test]
fn try_recv_does_not_wait() {
    let (sent_tx, sent_rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let gateway = FakeGateway::start(move |mut peer: Peer| {
        peer.accept_logon();
        go_rx.recv().unwrap();
        peer.send(|buf| codec::Heartbeat {}.encode(buf));
        sent_tx.send(()).unwrap();
        // Holds the connection open until the client drops it.
        assert!(peer.try_read_message(WAIT).is_none());
    });
    let mut session = logged_on(&gateway, 5_000);
    let started = Instant::now();
    assert_eq!(session.try_recv().unwrap(), None);
    assert!(started.elapsed() < Duration::from_millis(100), "returned at once");
    go_tx.send(()).unwrap();
    sent_rx.recv().unwrap();
    let deadline = Instant::now() + WAIT;
    let message = loop {
        if let Some(message) = session.try_recv().unwrap() {
            break message;
        }
        assert!(Instant::now() < deadline, "the heartbeat never arrived");
        std::thread::sleep(Duration::from_millis(1));
    };
    assert_eq!(message, ServerMessage::Heartbeat);
    // A blocking receive after non-blocking ones still waits.
    let started = Instant::now();
    assert_eq!(session.recv(Duration::from_millis(100)).unwrap(), None);
    assert!(started.elapsed() >= Duration::from_millis(100));
    drop(session);
    gateway.join();
}

#[test]
fn credentials_debug_hides_the_secret() {
    let shown = format!("{:?}", credentials());
    assert!(shown.contains(API_KEY) && !shown.contains(SECRET), "{shown}");
    let gateway = FakeGateway::start(|mut peer: Peer| {
        let logon = peer.read_logon();
        peer.send(|buf| accepted(&logon).encode(buf));
    });
    let session = logged_on(&gateway, 5_000);
    assert!(!format!("{session:?}").contains(SECRET));
    gateway.join();
}
