//! docs/BINARY_PROTOCOL.md stays true: its worked NewOrderSingle example is these bytes, and
//! it lists every gateway message with its template id and every field, every session reason
//! code, and the logon signature example.
//!
//! When the example changes on purpose, run with `CEX_PRINT_DOC_EXAMPLE=1` and paste the
//! printed block between the markers.

use cex_gateway_protocol::codec::{self, MessageDecoder};
use cex_gateway_protocol::{encode_frame, sign_logon, templates};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/BINARY_PROTOCOL.md");
const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/cex.xml");
const BEGIN: &str = "<!-- worked-example:begin -->\n";
const END: &str = "<!-- worked-example:end -->";

fn doc() -> String {
    std::fs::read_to_string(DOC).unwrap()
}

fn spaced_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// The order of the example, as a frame.
fn example_frame() -> Vec<u8> {
    let order = codec::NewOrderSingle {
        client_order_id: 1001,
        symbol: 0,
        side: codec::Side::Buy,
        order_type: codec::OrderType::Limit,
        time_in_force: codec::TimeInForce::Gtc,
        price: 5_000_000_000_000,
        qty: 100_000,
        quote_qty: 0,
        stop_price: 0,
        expire_ts_ns: 0,
        post_only: codec::BooleanType::False,
        stp: codec::SelfTradePrevention::None,
    };
    let mut buf = [0u8; 128];
    let length = encode_frame(&mut buf, |message| order.encode(message)).unwrap();
    buf[..length].to_vec()
}

/// The block between the markers: a row per field, with its bytes from the encoder and its
/// value from the decoder, then the whole frame as a hex dump.
fn example() -> String {
    let frame = example_frame();
    let MessageDecoder::NewOrderSingle(m) = MessageDecoder::decode(&frame[6..]).unwrap() else { panic!() };
    let header = codec::read_header(&frame[6..]).unwrap();
    let rows: Vec<(&str, usize, String)> = vec![
        ("message_length", 4, format!("{}: the whole frame, big-endian", frame.len())),
        ("encoding_type", 2, "0x5BE0: SBE 1.0 little-endian, big-endian".to_string()),
        ("blockLength", 2, header.block_length.to_string()),
        ("templateId", 2, format!("{}: NewOrderSingle", header.template_id)),
        ("schemaId", 2, header.schema_id.to_string()),
        ("version", 2, header.version.to_string()),
        ("clientOrderId", 8, m.client_order_id().unwrap().to_string()),
        ("symbol", 4, m.symbol().unwrap().to_string()),
        ("side", 1, enum_text(m.side().unwrap().raw().into(), m.side().unwrap().name())),
        ("orderType", 1, enum_text(m.order_type().unwrap().raw().into(), m.order_type().unwrap().name())),
        ("timeInForce", 1, enum_text(m.time_in_force().unwrap().raw().into(), m.time_in_force().unwrap().name())),
        ("price", 8, format!("{}: 50,000.00 USDT", m.price().unwrap())),
        ("qty", 8, format!("{}: 0.001 BTC", m.qty().unwrap())),
        ("quoteQty", 8, m.quote_qty().unwrap().to_string()),
        ("stopPrice", 8, m.stop_price().unwrap().to_string()),
        ("expireTsNs", 8, m.expire_ts_ns().unwrap().to_string()),
        ("postOnly", 1, enum_text(m.post_only().unwrap().raw().into(), m.post_only().unwrap().name())),
        ("stp", 1, enum_text(m.stp().unwrap().raw().into(), m.stp().unwrap().name())),
    ];
    let mut out = String::from("```text\noffset  bytes                    field           value\n");
    let mut offset = 0;
    for (name, size, value) in rows {
        match offset {
            0 => out += "        -- Simple Open Framing Header --\n",
            6 => out += "        -- SBE message header --\n",
            14 => out += "        -- NewOrderSingle block --\n",
            _ => {}
        }
        let bytes = spaced_hex(&frame[offset..offset + size]);
        out += &format!("{offset:>6}  {bytes:<23}  {name:<14}  {value}\n");
        offset += size;
    }
    assert_eq!(offset, frame.len(), "the rows cover the frame");
    out += "```\n\nThe whole frame, 71 bytes:\n\n```text\n";
    for (line, chunk) in frame.chunks(16).enumerate() {
        out += &format!("{:04x}  {}\n", line * 16, spaced_hex(chunk));
    }
    out += "```\n";
    out
}

fn enum_text(raw: u64, name: &str) -> String {
    format!("{raw}: {name}")
}

#[test]
fn the_worked_example_is_what_the_encoder_writes() {
    let expected = example();
    if std::env::var_os("CEX_PRINT_DOC_EXAMPLE").is_some() {
        println!("{expected}");
    }
    let doc = doc();
    let start = doc.find(BEGIN).expect("the begin marker") + BEGIN.len();
    let end = doc.find(END).expect("the end marker");
    assert_eq!(&doc[start..end], expected, "docs/BINARY_PROTOCOL.md's worked example is stale; see this file's header");
}

#[test]
fn every_gateway_message_is_listed_with_its_template_id_and_fields() {
    let doc = doc();
    let xml = std::fs::read_to_string(SCHEMA).unwrap();
    let schema = roxmltree::Document::parse(&xml).unwrap();
    let gateway = codec::MESSAGES.iter().filter(|m| m.template_id >= *templates::SESSION.start());
    for message in gateway {
        let (name, id) = (message.name, message.template_id);
        assert!(doc.contains(&format!("| {id} | `{name}` |")), "the template table lacks {name}");
        let heading = format!("### {name} (template {id})\n");
        let start = doc.find(&heading).unwrap_or_else(|| panic!("no section for {name}"));
        let section = &doc[start + heading.len()..];
        let section = &section[..section.find("\n#").unwrap_or(section.len())];
        let node = schema
            .descendants()
            .find(|n| n.tag_name().name() == "message" && n.attribute("name") == Some(name))
            .unwrap();
        for part in node.descendants().filter(|n| matches!(n.tag_name().name(), "field" | "group" | "data")) {
            let part_name = part.attribute("name").unwrap();
            assert!(section.contains(&format!("`{part_name}` |")), "{name}.{part_name} is not documented");
        }
    }
}

#[test]
fn every_session_reason_code_is_listed() {
    let doc = doc();
    let codes = codec::SessionRejectReason::ALL.iter().map(|r| (r.raw(), r.name()));
    let codes = codes.chain(codec::LogonRejectReason::ALL.iter().map(|r| (r.raw(), r.name())));
    let codes = codes.chain(codec::LogoutReason::ALL.iter().map(|r| (r.raw(), r.name())));
    let codes = codes.chain(codec::ExecType::ALL.iter().map(|r| (r.raw(), r.name())));
    for (code, name) in codes {
        assert!(doc.contains(&format!("| {code} | `{name}` |")), "{code} {name}");
    }
}

#[test]
fn the_logon_example_signs_as_documented() {
    let doc = doc();
    let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    let api_key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
    let signature: String =
        sign_logon(secret, api_key, 1_499_827_319_559, 42).iter().map(|b| format!("{b:02x}")).collect();
    for text in [secret, api_key, &signature] {
        assert!(doc.contains(text), "{text}");
    }
}
