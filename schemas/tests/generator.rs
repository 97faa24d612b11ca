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
    assert_eq!((schema.header_length, schema.id, schema.version), (8, 1, 1));
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
fn groups_and_var_data_are_refused() {
    let group = r#"<group name="legs" id="9" dimensionType="groupSizeEncoding" description="x"/></sbe:message>"#;
    let error = refused("</sbe:message>", group);
    assert!(error.contains("only fixed-size fields"), "{error}");
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
