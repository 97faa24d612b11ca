//! `cex.xml` cannot drift from the engine: read it with a plain XML parser (independently of
//! the generator) and compare it with the engine's enums, command kinds and event kinds.

use std::collections::BTreeSet;

use cex_engine::*;
use cex_schema::codec;
use roxmltree::{Document, Node};

const EVENTS: [&str; 15] = [
    "Rejected",
    "OrderAccepted",
    "Trade",
    "OrderCancelled",
    "OrderAmended",
    "StopTriggered",
    "BalanceChanged",
    "AssetAdded",
    "SymbolAdded",
    "SymbolStatusChanged",
    "SymbolFeesChanged",
    "TierLimitsChanged",
    "AccountCreated",
    "AccountStatusChanged",
    "AccountFeeTierChanged",
];

fn with_schema(check: impl FnOnce(Node)) {
    let xml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/cex.xml")).unwrap();
    let document = Document::parse(&xml).unwrap();
    check(document.root_element());
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.descendants().filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn messages<'a, 'i>(root: Node<'a, 'i>) -> Vec<(u16, &'a str, Node<'a, 'i>)> {
    let parse = |m: Node<'a, 'i>| (m.attribute("id").unwrap().parse().unwrap(), m.attribute("name").unwrap(), m);
    children(root, "message").map(parse).collect()
}

/// The (name, value) pairs of the schema's enum `name`.
fn enum_values(root: Node, name: &str) -> Vec<(String, u64)> {
    let node = children(root, "enum").find(|e| e.attribute("name") == Some(name)).unwrap_or_else(|| panic!("{name}"));
    let value = |v: Node| (v.attribute("name").unwrap().to_string(), v.text().unwrap().trim().parse().unwrap());
    children(node, "validValue").map(value).collect()
}

fn engine_values<T: Copy>(all: &[T], name: fn(T) -> &'static str, value: fn(T) -> u64) -> Vec<(String, u64)> {
    all.iter().map(|&v| (name(v).to_string(), value(v))).collect()
}

#[test]
fn the_schema_is_sbe_1_0_schema_1() {
    with_schema(|root| {
        assert_eq!(root.tag_name().namespace(), Some("http://fixprotocol.io/2016/sbe"));
        assert_eq!(root.tag_name().name(), "messageSchema");
        assert_eq!(root.attribute("package"), Some("cex"));
        assert_eq!(root.attribute("byteOrder"), Some("littleEndian"));
        assert_eq!(root.attribute("id"), Some(codec::SCHEMA_ID.to_string().as_str()));
        assert_eq!(root.attribute("version"), Some(codec::SCHEMA_VERSION.to_string().as_str()));
    });
}

#[test]
fn template_ids_are_unique_and_match_the_generated_catalog() {
    with_schema(|root| {
        let messages = messages(root);
        let ids: BTreeSet<u16> = messages.iter().map(|m| m.0).collect();
        assert_eq!(ids.len(), messages.len(), "duplicate template ids");
        let generated: Vec<(u16, &str)> = codec::MESSAGES.iter().map(|m| (m.template_id, m.name)).collect();
        assert_eq!(messages.iter().map(|m| (m.0, m.1)).collect::<Vec<_>>(), generated);
    });
}

#[test]
fn commands_are_templates_1_to_15_in_command_kind_order() {
    with_schema(|root| {
        let messages = messages(root);
        for &kind in CommandKind::ALL {
            let id = kind as u16 + 1;
            assert!(messages.iter().any(|m| (m.0, m.1) == (id, kind.name())), "{kind:?} is not template {id}");
        }
    });
}

#[test]
fn events_are_templates_from_101_and_start_with_txid() {
    with_schema(|root| {
        let messages = messages(root);
        for (id, name) in (101..).zip(EVENTS) {
            let (_, _, node) = messages.iter().find(|m| m.1 == name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(node.attribute("id"), Some(id.to_string().as_str()), "{name}");
            let first = children(*node, "field").next().unwrap();
            assert_eq!((first.attribute("name"), first.attribute("type")), (Some("txid"), Some("TxId")), "{name}");
        }
        let journal = messages.iter().filter(|m| m.0 <= *cex_schema::templates::EVENTS.end()).count();
        assert_eq!(journal, CommandKind::ALL.len() + EVENTS.len());
    });
}

#[test]
fn reject_reason_codes_match_the_engine() {
    with_schema(|root| {
        let engine = engine_values(RejectReason::ALL, RejectReason::name, |r| r.code().into());
        assert_eq!(enum_values(root, "RejectReason"), engine);
    });
}

#[test]
fn every_enum_matches_the_engine() {
    with_schema(|root| {
        let check = |name: &str, engine: Vec<(String, u64)>| assert_eq!(enum_values(root, name), engine, "{name}");
        check("Side", engine_values(Side::ALL, Side::name, |v| v as u64));
        check("OrderType", engine_values(OrderType::ALL, OrderType::name, |v| v as u64));
        check("TimeInForce", engine_values(TimeInForce::ALL, TimeInForce::name, |v| v as u64));
        check("SelfTradePrevention", engine_values(SelfTradePrevention::ALL, SelfTradePrevention::name, |v| v as u64));
        check("SymbolStatus", engine_values(SymbolStatus::ALL, SymbolStatus::name, |v| v as u64));
        check("AccountStatus", engine_values(AccountStatus::ALL, AccountStatus::name, |v| v as u64));
        check("CancelReason", engine_values(CancelReason::ALL, CancelReason::name, |v| v as u64));
        check("BalanceCause", engine_values(BalanceCause::ALL, BalanceCause::name, |v| v as u64));
        check("CommandKind", engine_values(CommandKind::ALL, CommandKind::name, |v| v as u64));
        check("BooleanType", vec![("False".into(), 0), ("True".into(), 1)]);
    });
}

#[test]
fn every_message_and_field_is_described_and_field_ids_are_unique() {
    let described = |node: Node| node.attribute("description").is_some_and(|d| !d.trim().is_empty());
    with_schema(|root| {
        for (_, name, node) in messages(root) {
            assert!(described(node), "{name}");
            // Ids are unique among the direct parts of a message, and among a group's fields.
            let mut levels = vec![node];
            levels.extend(node.children().filter(|n| n.is_element() && n.tag_name().name() == "group"));
            for level in levels {
                let parts: Vec<Node> = level.children().filter(Node::is_element).collect();
                for part in &parts {
                    assert!(described(*part), "{name}.{:?}", part.attribute("name"));
                }
                let ids: BTreeSet<&str> = parts.iter().map(|f| f.attribute("id").unwrap()).collect();
                assert_eq!(ids.len(), parts.len(), "{name}: duplicate ids");
            }
        }
    });
}

#[test]
fn every_template_is_in_its_documented_range() {
    use cex_schema::templates::*;
    let ranges = [COMMANDS, EVENTS, SESSION, ORDER_ENTRY, RESPONSES, MARKET_DATA];
    for message in codec::MESSAGES {
        assert!(ranges.iter().any(|r| r.contains(&message.template_id)), "{}", message.name);
        // Version 1 had only the journal's messages; the gateway's came with version 2.
        let journal = message.template_id <= *EVENTS.end();
        assert_eq!(message.since_version, if journal { 0 } else { 2 }, "{}", message.name);
    }
}
