//! The generator's model: the layout it computes from `cex.xml`, and the schemas it refuses
//! rather than mis-encodes. (The build runs the same code; here it runs on doctored copies.)

#[allow(dead_code)] // the renderer's half of the model is not exercised here
#[path = "../build/model.rs"]
mod model;

use model::Schema;

fn cex_xml() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/cex.xml")).unwrap()
}

/// `cex.xml` with `from` replaced by `to` once; the generator's error.
fn refused(from: &str, to: &str) -> String {
    let xml = cex_xml();
    assert!(xml.contains(from), "{from}");
    Schema::parse(&xml.replacen(from, to, 1)).err().expect("the doctored schema must be refused")
}

#[test]
fn fields_are_laid_out_back_to_back_in_xml_order() {
    let schema = Schema::parse(&cex_xml()).unwrap();
    assert_eq!((schema.header_length, schema.id, schema.version), (8, 1, 2));
    let cancel_all = schema.messages.iter().find(|m| m.name == "CancelAll").unwrap();
    let layout: Vec<(&str, usize, Option<i128>)> =
        cancel_all.fields.iter().map(|f| (f.name.as_str(), f.offset, f.null)).collect();
    assert_eq!(layout, [("account", 0, None), ("symbol", 4, Some(u32::MAX.into())), ("side", 8, Some(255))]);
    assert_eq!(cancel_all.block_length, 9);
}

#[test]
fn duplicate_template_ids_are_refused() {
    let error = refused(r#"name="AdminCancel" id="15""#, r#"name="AdminCancel" id="14""#);
    assert!(error.contains("duplicate template id"), "{error}");
}

#[test]
fn unknown_types_are_refused() {
    let error = refused(r#"type="AccountId""#, r#"type="AccountNumber""#);
    assert!(error.contains("AccountNumber"), "{error}");
}

#[test]
fn groups_and_data_follow_the_block() {
    let schema = Schema::parse(&cex_xml()).unwrap();
    let book = schema.messages.iter().find(|m| m.name == "BookUpdate").unwrap();
    assert_eq!((book.block_length, book.since_version, book.groups.len(), book.data.len()), (13, 2, 1, 0));
    let levels = &book.groups[0];
    let layout: Vec<(&str, usize)> = levels.fields.iter().map(|f| (f.name.as_str(), f.offset)).collect();
    assert_eq!(layout, [("side", 0), ("price", 1), ("qty", 9), ("order_count", 17)]);
    assert_eq!((levels.block_length, levels.type_name.as_str(), levels.dimension.length), (21, "BookUpdateLevels", 4));
    let logon = schema.messages.iter().find(|m| m.name == "Logon").unwrap();
    let signature = logon.fields.iter().find(|f| f.name == "signature").unwrap();
    assert_eq!((signature.offset, signature.size), (21, 32));
    assert_eq!(logon.block_length, 53);
    let api_key = &logon.data[0];
    assert_eq!((api_key.name.as_str(), api_key.encoding.max, api_key.encoding.utf8), ("api_key", 65535, true));
}

#[test]
fn nested_groups_and_data_inside_groups_are_refused() {
    let nested = r#"<group name="legs" id="6" description="x"><data name="note" id="1" type="varStringEncoding" description="x"/></group>"#;
    let error = refused(r#"<field name="orderCount" id="4""#, &format!(r#"{nested}<field name="orderCount" id="4""#));
    assert!(error.contains("inside a group are not supported"), "{error}");
}

#[test]
fn fields_groups_and_data_come_in_that_order() {
    let data = r#"<data name="note" id="9" type="varStringEncoding" description="x"/>"#;
    let error = refused(r#"<group name="levels""#, &format!(r#"{data}<group name="levels""#));
    assert!(error.contains("fields come first, then groups, then data"), "{error}");
}

#[test]
fn a_group_cannot_be_added_to_a_message_that_already_has_data() {
    // Schema version 3, and a group added in it before Logout's existing text: a version-2
    // decoder would read the new group's dimension as the text's length.
    let xml = cex_xml().replacen(r#"version="2""#, r#"version="3""#, 1);
    let later = r#"<group name="extra" id="3" sinceVersion="3" description="x"><field name="a" id="1" type="uint8" description="x"/></group>"#;
    let at = r#"<data name="text" id="2" type="varStringEncoding" description="Details for a person"/>
    </sbe:message>

    <sbe:message name="RetransmitRequest""#;
    assert!(xml.contains(at));
    let error = Schema::parse(&xml.replacen(at, &format!("{later}{at}"), 1)).err().unwrap();
    assert!(error.contains("only be added at the end of the message"), "{error}");
}

#[test]
fn a_group_entry_field_added_later_must_be_optional() {
    let xml = cex_xml().replacen(r#"version="2""#, r#"version="3""#, 1);
    let at = r#"<field name="orderCount" id="4" type="OrderCount" description="Orders at the level"/>"#;
    let later = r#"<field name="extra" id="5" type="uint8" sinceVersion="3" description="x"/>"#;
    let error = Schema::parse(&xml.replacen(at, &format!("{at}{later}"), 1)).err().unwrap();
    assert!(error.contains("must be optional"), "{error}");
}

#[test]
fn composites_other_than_header_dimension_and_var_data_are_refused() {
    let error = refused(
        r#"<composite name="varDataEncoding""#,
        r#"<composite name="decimal" description="x"><type name="mantissa" primitiveType="int64" description="x"/></composite><composite name="varDataEncoding""#,
    );
    assert!(error.contains("composites are supported"), "{error}");
}

#[test]
fn a_set_bit_outside_its_encoding_type_is_refused() {
    let error = refused(
        r#"<choice name="cancelOnDisconnect" description="Cancel every open order of the account when the session ends without a Logout">0</choice>"#,
        r#"<choice name="cancelOnDisconnect" description="x">8</choice>"#,
    );
    assert!(error.contains("does not fit"), "{error}");
}

#[test]
fn names_that_collide_with_generated_methods_are_refused() {
    let error = refused(r#"<field name="scale" id="2""#, r#"<field name="version" id="2""#);
    assert!(error.contains("collides with a generated method"), "{error}");
}

#[test]
fn an_unknown_dimension_type_is_refused() {
    let error = refused(r#"dimensionType="groupSizeEncoding""#, r#"dimensionType="messageHeader""#);
    assert!(error.contains("dimensionType messageHeader"), "{error}");
}

#[test]
fn a_field_added_in_a_later_version_must_be_optional() {
    let later = r#"<field name="extra" id="3" type="Price" sinceVersion="1" description="x"/></sbe:message>"#;
    let error = refused("</sbe:message>", later);
    assert!(error.contains("must be optional"), "{error}");
}

#[test]
fn an_enum_value_equal_to_the_null_value_is_refused() {
    let error = refused(
        r#"<validValue name="Sell" description="Ask">1</validValue>"#,
        r#"<validValue name="Sell" description="Ask">255</validValue>"#,
    );
    assert!(error.contains("reserved for null"), "{error}");
}

#[test]
fn attributes_the_generator_does_not_implement_are_refused() {
    let error = refused(r#"<field name="scale" id="2""#, r#"<field name="scale" id="2" offset="4""#);
    assert!(error.contains("attribute offset is not supported"), "{error}");
}

#[test]
fn keywords_are_refused_as_field_names() {
    let error = refused(r#"<field name="scale" id="2""#, r#"<field name="type" id="2""#);
    assert!(error.contains("keyword"), "{error}");
}

#[test]
fn a_missing_description_is_refused() {
    let error = refused(r#" description="The new asset""#, "");
    assert!(error.contains("description is missing"), "{error}");
}
