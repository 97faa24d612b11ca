//! Every gateway message round-trips, and every way its bytes can be wrong is an error, never
//! a panic: cut short at every length, lying group counts and entry lengths, lying data
//! lengths, text that is not UTF-8, another schema, an unsupported version, an unknown
//! template. A client's message is answered with the documented SessionReject reason.

mod common;

use cex_gateway_protocol::codec::{self, MessageDecoder, SessionRejectReason};
use cex_gateway_protocol::*;
use common::{gateway_messages, message, set_u16, u16_at};

#[test]
fn every_gateway_message_round_trips() {
    for (name, bytes) in gateway_messages() {
        assert_eq!(codec::check_round_trip(&bytes), Ok(()), "{name}");
        let decoded = MessageDecoder::decode(&bytes).unwrap();
        assert_eq!(decoded.name(), name);
    }
}

#[test]
fn every_truncation_of_every_message_is_an_error() {
    for (name, bytes) in gateway_messages() {
        for length in 0..bytes.len() {
            let cut = &bytes[..length];
            match MessageDecoder::decode(cut) {
                Err(DecodeError::Truncated { needed, available }) => {
                    assert!(needed > available && available == length, "{name} cut at {length}")
                }
                other => panic!("{name} cut at {length}: {other:?}"),
            }
        }
    }
}

const MASS_QUOTE_DIMENSION: usize = 8; // header, then an empty block
const ENTRY: usize = 36;

#[test]
fn a_group_count_beyond_the_bytes_is_truncated() {
    let bytes = message("MassQuoteRequest");
    assert_eq!(u16_at(&bytes, MASS_QUOTE_DIMENSION + 2), 2);
    for count in [3, 100, u16::MAX] {
        let mut lying = bytes.clone();
        set_u16(&mut lying, MASS_QUOTE_DIMENSION + 2, count);
        let needed = MASS_QUOTE_DIMENSION + 4 + count as usize * ENTRY;
        let expected = DecodeError::Truncated { needed, available: bytes.len() };
        assert_eq!(MessageDecoder::decode(&lying).unwrap_err(), expected, "count {count}");
    }
    let mut fewer = bytes.clone();
    set_u16(&mut fewer, MASS_QUOTE_DIMENSION + 2, 1);
    assert_eq!(MessageDecoder::decode(&fewer).unwrap_err(), DecodeError::TrailingBytes { extra: ENTRY });
}

#[test]
fn an_entry_length_that_lies_is_an_error() {
    let bytes = message("MassQuoteRequest");
    assert_eq!(u16_at(&bytes, MASS_QUOTE_DIMENSION), ENTRY as u16);
    let mut short = bytes.clone();
    set_u16(&mut short, MASS_QUOTE_DIMENSION, ENTRY as u16 - 1);
    let expected =
        DecodeError::GroupBlockLengthTooShort { group: "MassQuoteRequest.quotes", block_length: 35, required: 36 };
    assert_eq!(MessageDecoder::decode(&short).unwrap_err(), expected);
    for block_length in [37, 1000, u16::MAX] {
        let mut long = bytes.clone();
        set_u16(&mut long, MASS_QUOTE_DIMENSION, block_length);
        let needed = MASS_QUOTE_DIMENSION + 4 + 2 * block_length as usize;
        let expected = DecodeError::Truncated { needed, available: bytes.len() };
        assert_eq!(MessageDecoder::decode(&long).unwrap_err(), expected, "block length {block_length}");
    }
    // The largest claim there is: 65535 entries of 65535 bytes, against a few bytes.
    let mut both = bytes.clone();
    set_u16(&mut both, MASS_QUOTE_DIMENSION, u16::MAX);
    set_u16(&mut both, MASS_QUOTE_DIMENSION + 2, u16::MAX);
    assert!(matches!(MessageDecoder::decode(&both), Err(DecodeError::Truncated { .. })));
}

#[test]
fn an_entry_length_of_zero_is_refused_rather_than_giving_empty_entries() {
    let mut bytes = message("MassQuoteRequest");
    set_u16(&mut bytes, MASS_QUOTE_DIMENSION, 0);
    let expected =
        DecodeError::GroupBlockLengthTooShort { group: "MassQuoteRequest.quotes", block_length: 0, required: 36 };
    assert_eq!(MessageDecoder::decode(&bytes).unwrap_err(), expected);
}

const LOGON_API_KEY: usize = 8 + 53;

#[test]
fn a_data_length_beyond_the_bytes_is_truncated() {
    let bytes = message("Logon");
    let length = u16_at(&bytes, LOGON_API_KEY) as usize;
    assert_eq!(bytes.len(), LOGON_API_KEY + 2 + length);
    for lie in [length as u16 + 1, 1000, u16::MAX] {
        let mut lying = bytes.clone();
        set_u16(&mut lying, LOGON_API_KEY, lie);
        let expected = DecodeError::Truncated { needed: LOGON_API_KEY + 2 + lie as usize, available: bytes.len() };
        assert_eq!(MessageDecoder::decode(&lying).unwrap_err(), expected);
    }
    let mut shorter = bytes.clone();
    set_u16(&mut shorter, LOGON_API_KEY, length as u16 - 1);
    assert_eq!(MessageDecoder::decode(&shorter).unwrap_err(), DecodeError::TrailingBytes { extra: 1 });
}

#[test]
fn text_that_is_not_utf8_is_refused_by_its_accessor() {
    let mut bytes = message("Logon");
    *bytes.last_mut().unwrap() = 0xFF;
    let MessageDecoder::Logon(logon) = MessageDecoder::decode(&bytes).unwrap() else { panic!() };
    assert_eq!(logon.api_key(), Err(DecodeError::InvalidUtf8 { field: "Logon.apiKey" }));
    assert_eq!(logon.validate(), Err(DecodeError::InvalidUtf8 { field: "Logon.apiKey" }));
    let refusal = decode_client_message(&bytes).unwrap_err();
    assert_eq!((refusal.ref_template_id, refusal.reason), (200, SessionRejectReason::InvalidFieldValue));
}

#[test]
fn another_schema_an_old_version_and_an_unknown_template_are_refused() {
    let bytes = message("NewOrderSingle");
    let mut other_schema = bytes.clone();
    set_u16(&mut other_schema, 4, 2);
    assert_eq!(MessageDecoder::decode(&other_schema).unwrap_err(), DecodeError::WrongSchema(2));
    for version in [0, 1] {
        let mut old = bytes.clone();
        set_u16(&mut old, 6, version);
        assert_eq!(MessageDecoder::decode(&old).unwrap_err(), DecodeError::UnsupportedVersion(version));
    }
    let mut unknown = bytes.clone();
    set_u16(&mut unknown, 2, 399);
    assert_eq!(MessageDecoder::decode(&unknown).unwrap_err(), DecodeError::UnknownTemplate(399));
}

#[test]
fn a_newer_version_with_a_longer_block_and_more_after_it_is_read() {
    let bytes = message("Logout");
    let mut newer = bytes[..8].to_vec();
    set_u16(&mut newer, 0, 3); // a block of 3: the reason and two bytes of a field added later
    set_u16(&mut newer, 6, codec::SCHEMA_VERSION + 1);
    newer.extend_from_slice(&[bytes[8], 0xAA, 0xBB]);
    newer.extend_from_slice(&bytes[9..]);
    newer.extend_from_slice(&[0xCC; 7]);
    let MessageDecoder::Logout(logout) = MessageDecoder::decode(&newer).unwrap() else { panic!() };
    assert_eq!(
        (logout.reason(), logout.text()),
        (Ok(codec::LogoutReason::IdleTimeout), Ok("nothing received for 3000 ms"))
    );
}

#[test]
fn undefined_enum_values_and_set_bits_are_refused() {
    let mut order = message("NewOrderSingle");
    let side_at = 8 + 8 + 4;
    assert_eq!(order[side_at], 1);
    order[side_at] = 7;
    let refusal = decode_client_message(&order).unwrap_err();
    assert_eq!(
        (refusal.reason, refusal.text.as_str()),
        (SessionRejectReason::InvalidFieldValue, "NewOrderSingle.side: 7 is not a valid value")
    );

    let mut logon = message("Logon");
    let options_at = 8 + 20;
    assert_eq!(logon[options_at], 1);
    logon[options_at] = 0x81;
    let MessageDecoder::Logon(decoded) = MessageDecoder::decode(&logon).unwrap() else { panic!() };
    assert_eq!(decoded.options(), Err(DecodeError::InvalidSet { field: "Logon.options", value: 0x81 }));
}

#[test]
fn a_client_message_is_refused_with_the_documented_reason() {
    let refused = |bytes: &[u8]| decode_client_message(bytes).map(|m| m.name()).unwrap_err();
    let order = message("NewOrderSingle");

    let cut = refused(&order[..20]);
    assert_eq!((cut.ref_template_id, cut.reason), (300, SessionRejectReason::Truncated));
    let header_cut = refused(&order[..3]);
    assert_eq!((header_cut.ref_template_id, header_cut.reason), (0, SessionRejectReason::Truncated));

    let mut trailing = order.clone();
    trailing.push(0);
    assert_eq!(refused(&trailing).reason, SessionRejectReason::TrailingBytes);

    let mut short_block = order.clone();
    set_u16(&mut short_block, 0, 10);
    assert_eq!(refused(&short_block).reason, SessionRejectReason::InvalidBlockLength);

    let mut other_schema = order.clone();
    set_u16(&mut other_schema, 4, 9);
    assert_eq!(refused(&other_schema).reason, SessionRejectReason::WrongSchema);

    let mut old = order.clone();
    set_u16(&mut old, 6, 1);
    assert_eq!(refused(&old).reason, SessionRejectReason::UnsupportedVersion);

    let mut unknown = order.clone();
    set_u16(&mut unknown, 2, 999);
    let unknown = refused(&unknown);
    assert_eq!((unknown.ref_template_id, unknown.reason), (999, SessionRejectReason::UnknownTemplate));

    for name in ["LogonAccepted", "ExecutionReport", "BookUpdate", "SessionReject"] {
        let refusal = refused(&message(name));
        assert_eq!(refusal.reason, SessionRejectReason::UnexpectedMessage, "{name}");
    }
    let mut buf = [0u8; 32];
    let journal_command = encode_command_for_test(&mut buf);
    assert_eq!(refused(journal_command).reason, SessionRejectReason::UnexpectedMessage, "an engine command");

    // Every message a client may send, by the catalog, decodes: a new client message must be
    // read by `decode_client_message` too.
    let from_clients = codec::MESSAGES.iter().filter(|m| inbound::client_may_send(m.template_id));
    let names: Vec<&str> = from_clients.map(|m| m.name).collect();
    let session = ["Logon", "Heartbeat", "Logout", "RetransmitRequest"];
    let order_entry = ["NewOrderSingle", "CancelOrder", "CancelAllOrders", "AmendOrder", "MassQuoteRequest"];
    assert_eq!(names, session.iter().chain(&order_entry).copied().collect::<Vec<_>>());
    for name in names {
        assert_eq!(decode_client_message(&message(name)).map(|m| m.name()), Ok(name));
    }
}

fn encode_command_for_test(buf: &mut [u8]) -> &[u8] {
    let length = codec::AdminCancel { order_id: 1 }.encode(buf).unwrap();
    &buf[..length]
}

#[test]
fn a_refusal_becomes_a_session_reject() {
    let refusal = decode_client_message(&message("ExecutionReport")).unwrap_err();
    let reject = refusal.session_reject(7);
    let mut buf = vec![0u8; reject.encoded_length()];
    reject.encode(&mut buf).unwrap();
    let MessageDecoder::SessionReject(decoded) = MessageDecoder::decode(&buf).unwrap() else { panic!() };
    assert_eq!(decoded.ref_seq_num(), Ok(7));
    assert_eq!(decoded.ref_template_id(), Ok(400));
    assert_eq!(decoded.reason(), Ok(SessionRejectReason::UnexpectedMessage));
    assert_eq!(decoded.text(), Ok("ExecutionReport is not a message a client sends"));
}

#[test]
fn encoding_refuses_more_entries_than_a_group_counts_and_longer_text_than_a_length_holds() {
    let quote = codec::MassQuoteRequestQuotesEntry { symbol: 1, bid_price: 1, bid_qty: 1, ask_price: 2, ask_qty: 1 };
    let quotes = vec![quote; 65_536];
    let message = codec::MassQuoteRequest { quotes: &quotes };
    let mut buf = vec![0u8; message.encoded_length()];
    let expected = EncodeError::TooManyEntries { group: "MassQuoteRequest.quotes", count: 65_536, max: 65_535 };
    assert_eq!(message.encode(&mut buf), Err(expected));
    let text = "x".repeat(65_536);
    let logout = codec::Logout { reason: codec::LogoutReason::ServerShutdown, text: &text };
    let mut buf = vec![0u8; logout.encoded_length()];
    assert_eq!(
        logout.encode(&mut buf),
        Err(EncodeError::DataTooLong { field: "Logout.text", length: 65_536, max: 65_535 })
    );
    let fits = codec::Logout { text: &text[1..], ..logout };
    assert_eq!(fits.encode(&mut buf), Ok(8 + 1 + 2 + 65_535));
}

#[test]
fn a_buffer_one_byte_short_is_refused_and_the_exact_length_suffices() {
    fn check(name: &str, length: usize, encode: impl Fn(&mut [u8]) -> Result<usize, EncodeError>) {
        let mut buf = vec![0u8; length];
        let short = EncodeError::BufferTooSmall { needed: length, available: length - 1 };
        assert_eq!(encode(&mut buf[..length - 1]), Err(short), "{name}");
        assert_eq!(encode(&mut buf), Ok(length), "{name}");
        assert_eq!(buf, message(name), "{name}");
    }
    let bytes = message("Logon");
    let MessageDecoder::Logon(logon) = MessageDecoder::decode(&bytes).unwrap() else { panic!() };
    let logon = logon.value().unwrap();
    check("Logon", logon.encoded_length(), |buf| logon.encode(buf));
    let bytes = message("MassQuoteRequest");
    let MessageDecoder::MassQuoteRequest(quote) = MessageDecoder::decode(&bytes).unwrap() else { panic!() };
    let mut quotes = Vec::new();
    let quote = quote.value_in(&mut quotes).unwrap();
    check("MassQuoteRequest", quote.encoded_length(), |buf| quote.encode(buf));
    let bytes = message("ExecutionReport");
    let MessageDecoder::ExecutionReport(report) = MessageDecoder::decode(&bytes).unwrap() else { panic!() };
    let report = report.value().unwrap();
    check("ExecutionReport", codec::ExecutionReport::ENCODED_LENGTH, |buf| report.encode(buf));
}
