//! A node in this process: commands from an in-process producer, real counters on
//! `/metrics`, health and readiness, graceful shutdown and a restart with the same state.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use cex_config::NodeConfig;
use cex_engine::{AdjustBalance, Command, Event, EventBody, NewOrder, Side};
use cex_node::{Node, NodeError, RefdataError};
use cex_runtime::{Consumer, ConsumerOptions, Producer, SubmitError};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn config(dir: &std::path::Path) -> NodeConfig {
    let mut config = NodeConfig::default();
    config.data_dir = dir.to_path_buf();
    config.network.ops_port = free_port();
    config.network.rest_port = free_port();
    config.network.gateway_port = free_port();
    config
}

/// A GET on the ops port: (status, body).
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    request(address, &format!("GET {path} HTTP/1.1\r\nHost: cex\r\nConnection: close\r\n\r\n"))
}

/// A JSON POST: (status, body).
fn post(address: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: cex\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    request(address, &(head + body))
}

fn request(address: SocketAddr, raw: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default();
    (status, body)
}

/// The value of one sample line of a Prometheus text body, such as `name{labels}`.
fn sample(body: &str, series: &str) -> f64 {
    let line = body.lines().find(|line| line.split_once(' ').is_some_and(|(name, _)| name == series));
    line.unwrap_or_else(|| panic!("{series} not in /metrics:\n{body}")).rsplit_once(' ').unwrap().1.parse().unwrap()
}

fn submit(producer: &mut Producer, request: u64, command: Command) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut command = command;
    while let Err(SubmitError::Busy(back)) = producer.try_submit(request, command) {
        assert!(Instant::now() < deadline, "ring stayed full");
        command = back;
    }
}

/// The events of the delivery answering `request`, skipping others.
fn answer(consumer: &mut Consumer, request: u64) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no answer to request {request}");
        if let Some(delivery) = consumer.poll().unwrap() {
            if delivery.origin.request == request {
                return delivery.events.to_vec();
            }
        }
    }
}

#[test]
fn a_node_trades_reports_real_counters_and_restarts_with_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let btc = config.symbol_by_name("BTC-USDT").unwrap().clone();
    let wire = |builder: &mut cex_runtime::RuntimeBuilder| {
        Ok((builder.producer("test")?, builder.consumer("test", ConsumerOptions::default())))
    };
    let (node, (mut producer, mut consumer)) = Node::start_with(&config, wire).unwrap();
    let refdata = node.monitor().published_seq();
    assert_eq!(refdata, 5, "3 assets and 2 symbols from the embedded defaults");

    let price = btc.price_units("60000").unwrap();
    let qty = btc.qty_units("0.5").unwrap();
    let usdt = btc.quote.id;
    // Identity hands out account ids from 1; this test's own accounts stay clear of them.
    let (buyer, seller) = (5_001, 5_002);
    let commands = [
        Command::CreateAccount { account: buyer, fee_tier: 0 },
        Command::CreateAccount { account: seller, fee_tier: 0 },
        Command::AdjustBalance(AdjustBalance { account: buyer, asset: usdt, amount: price * 10, ref_id: 1 }),
        Command::AdjustBalance(AdjustBalance { account: seller, asset: btc.base.id, amount: qty * 4, ref_id: 2 }),
        Command::NewOrder(NewOrder::limit(seller, btc.id, Side::Sell, price, qty)),
        Command::NewOrder(NewOrder::limit(buyer, btc.id, Side::Buy, price, qty)),
    ];
    let mut answers = Vec::new();
    for (request, command) in commands.iter().enumerate() {
        submit(&mut producer, request as u64, *command);
        answers.push(answer(&mut consumer, request as u64));
    }
    let trades = answers[5].iter().filter(|event| matches!(event.body, EventBody::Trade(_))).count();
    assert_eq!(trades, 1, "the buy crossed the resting sell: {:?}", answers[5]);

    // Counters are copied out of the engine thread every millisecond or so, histograms when
    // a scrape is not holding them.
    let address = node.ops_address();
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let (status, body) = get(address, "/metrics");
        assert_eq!(status, 200);
        let counted = sample(&body, r#"cex_commands_total{kind="NewOrder"}"#) == 2.0;
        let timed = sample(&body, r#"cex_latency_samples_total{stage="ring_wait"}"#) == 6.0;
        if (counted && timed) || Instant::now() > deadline {
            break body;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(sample(&metrics, r#"cex_commands_total{kind="NewOrder"}"#), 2.0);
    assert_eq!(sample(&metrics, r#"cex_commands_total{kind="CreateAccount"}"#), 2.0);
    assert_eq!(sample(&metrics, r#"cex_events_total{kind="Trade"}"#), 1.0);
    assert_eq!(sample(&metrics, "cex_journal_sequence"), (refdata + 6) as f64);
    assert_eq!(sample(&metrics, "cex_durable_sequence"), (refdata + 6) as f64, "mmap: durable once appended");
    assert_eq!(sample(&metrics, r#"cex_consumer_lag_commands{consumer="test"}"#), 0.0);
    assert_eq!(sample(&metrics, r#"cex_latency_samples_total{stage="ring_wait"}"#), 6.0);
    assert_eq!(sample(&metrics, "cex_engine_up"), 1.0);
    let (status, health) = get(address, "/health");
    assert_eq!((status, health.contains(r#""engine":"running""#)), (200, true), "{health}");
    assert_eq!(get(address, "/ready").0, 200);
    assert_eq!(get(address, "/nowhere").0, 404);

    // A bad command is answered with a reject and changes nothing.
    submit(&mut producer, 99, Command::NewOrder(NewOrder::limit(buyer, btc.id, Side::Buy, price + 1, qty)));
    let rejected = answer(&mut consumer, 99);
    assert!(matches!(rejected[..], [Event { body: EventBody::Rejected(_), .. }]), "{rejected:?}");

    let exit = node.shutdown().unwrap();
    assert_eq!(exit.last_seq, refdata + 7);
    assert!(get_fails(address), "the ops port closes on shutdown");

    let node = Node::start(&config).unwrap();
    assert_eq!(node.monitor().published_seq(), exit.last_seq, "no reference data added twice");
    let again = node.shutdown().unwrap();
    assert_eq!(again, exit, "the restarted node holds the same state");
}

fn get_fails(address: SocketAddr) -> bool {
    TcpStream::connect(address).is_err()
}

#[test]
fn a_config_that_contradicts_the_journal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    Node::start(&config).unwrap().shutdown().unwrap();
    let edited = cex_config::EXAMPLE_TOML.replacen("tick_size = \"0.01\"", "tick_size = \"0.1\"", 1);
    assert_ne!(edited, cex_config::EXAMPLE_TOML, "the example lists a 0.01 tick");
    let mut changed = NodeConfig::parse(&edited).unwrap();
    changed.data_dir = config.data_dir.clone();
    changed.network.ops_port = free_port();
    match Node::start(&changed) {
        Err(NodeError::Refdata(RefdataError::Conflict(why))) => assert!(why.contains("BTC-USDT"), "{why}"),
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a changed tick size was accepted over the journal"),
    }
}

#[test]
fn a_user_registered_over_rest_gets_an_engine_account_through_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let node = Node::start(&config).unwrap();
    let before = node.monitor().published_seq();
    let body = r#"{"email": "trader@example.com", "password": "correct horse battery 9"}"#;
    let (status, reply) = post(node.rest_address(), "/api/v1/auth/register", body);
    assert_eq!(status, 201, "{reply}");
    assert_eq!(node.monitor().published_seq(), before + 1, "one CreateAccount went through the ring");
    let (status, reply) = post(node.rest_address(), "/api/v1/auth/register", r#"{"email": "x"}"#);
    assert!((400..500).contains(&status) && reply.contains(r#""code""#), "{status} {reply}");
    let exit = node.shutdown().unwrap();

    // The engine kept the account: creating it again is refused as a duplicate.
    let wire = |builder: &mut cex_runtime::RuntimeBuilder| {
        Ok((builder.producer("test")?, builder.consumer("test", ConsumerOptions::default())))
    };
    let (node, (mut producer, mut consumer)) = Node::start_with(&config, wire).unwrap();
    assert_eq!(node.monitor().published_seq(), exit.last_seq);
    submit(&mut producer, 1, Command::CreateAccount { account: 1, fee_tier: 0 });
    let events = answer(&mut consumer, 1);
    assert!(
        matches!(events[..], [Event { body: EventBody::Rejected(r), .. }] if r.reason == cex_engine::RejectReason::AccountExists),
        "{events:?}"
    );
    node.shutdown().unwrap();
}
