//! Renders the model as Rust: per message a value struct whose `encode` writes header and
//! block, and a zero-copy decoder whose accessors read in place, every read bounds-checked.
//! The byte-level work lives in the hand-written runtime, `src/wire.rs`; this file only
//! decides what goes where.

use std::fmt::Write;

use crate::model::{EnumType, Field, Message, Schema, SimpleType};

macro_rules! emit {
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).expect("writing to a String cannot fail")
    };
}

pub fn render(schema: &Schema, source: &str) -> String {
    let mut out = String::new();
    prelude(&mut out, schema, source);
    header(&mut out, schema);
    schema.simple_types.iter().for_each(|simple| simple_type(&mut out, simple));
    schema.enums.iter().for_each(|enumeration| enum_type(&mut out, enumeration));
    for message in &schema.messages {
        message_struct(&mut out, message);
        encoder(&mut out, schema, message);
        decoder(&mut out, schema, message);
    }
    catalog(&mut out, schema);
    dispatch(&mut out, schema);
    out
}

fn prelude(out: &mut String, schema: &Schema, source: &str) {
    emit!(out, "// Generated from {source} by schemas/build at build time. Do not edit.");
    emit!(out, "use crate::wire;");
    emit!(out, "pub use crate::wire::MessageHeader;");
    emit!(out, "use crate::{{DecodeError, EncodeError}};\n");
    emit!(out, "/// The schema's package name.");
    emit!(out, "pub const PACKAGE: &str = {:?};", schema.package);
    emit!(out, "/// {}\n///\n/// Every message of this schema carries this id in its header.", schema.description);
    emit!(out, "pub const SCHEMA_ID: u16 = {};", schema.id);
    emit!(out, "/// The version this code writes, and the newest whose fields it knows.");
    emit!(out, "pub const SCHEMA_VERSION: u16 = {};", schema.version);
    emit!(out, "/// Bytes of the message header.");
    emit!(out, "pub const HEADER_LENGTH: usize = {};\n", schema.header_length);
}

fn header(out: &mut String, schema: &Schema) {
    let from = from_bytes(schema);
    emit!(out, "/// Reads the message header at the start of `bytes`.");
    emit!(out, "pub fn read_header(bytes: &[u8]) -> Result<MessageHeader, DecodeError> {{");
    emit!(out, "    Ok(MessageHeader {{");
    for (name, offset) in &schema.header {
        emit!(out, "        {name}: u16::{from}(wire::read(bytes, {offset})?),");
    }
    emit!(out, "    }})\n}}\n");
    emit!(out, "/// Writes the message header at the start of `bytes`, which the caller sized.");
    emit!(out, "fn write_header(header: &MessageHeader, bytes: &mut [u8]) {{");
    for (name, offset) in &schema.header {
        emit!(out, "    wire::write(bytes, {offset}, header.{name}.{}());", to_bytes(schema));
    }
    emit!(out, "}}\n");
}

fn simple_type(out: &mut String, simple: &SimpleType) {
    emit!(out, "/// {}", simple.description);
    if let Some(null) = simple.null {
        emit!(out, "///\n/// Optional: {null} means absent.");
    }
    emit!(out, "pub type {} = {};\n", simple.name, simple.primitive.rust());
}

fn enum_type(out: &mut String, enumeration: &EnumType) {
    let (name, raw) = (&enumeration.name, enumeration.primitive.rust());
    emit!(out, "/// {}", enumeration.description);
    emit!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]");
    emit!(out, "#[repr({raw})]\npub enum {name} {{");
    for value in &enumeration.values {
        emit!(out, "    /// {}\n    {} = {},", value.description, value.name, value.value);
    }
    emit!(out, "}}\n\nimpl {name} {{");
    let all: Vec<String> = enumeration.values.iter().map(|v| format!("{name}::{}", v.name)).collect();
    emit!(out, "    pub const ALL: &'static [{name}] = &[{}];\n", all.join(", "));
    emit!(out, "    /// The value for `raw`; `None` for a value the schema does not define.");
    emit!(out, "    pub fn from_raw(raw: {raw}) -> Option<{name}> {{\n        match raw {{");
    for value in &enumeration.values {
        emit!(out, "            {} => Some({name}::{}),", value.value, value.name);
    }
    emit!(out, "            _ => None,\n        }}\n    }}\n");
    emit!(out, "    pub fn raw(self) -> {raw} {{\n        self as {raw}\n    }}\n");
    emit!(out, "    pub fn name(self) -> &'static str {{\n        match self {{");
    for value in &enumeration.values {
        emit!(out, "            {name}::{0} => {0:?},", value.name);
    }
    emit!(out, "        }}\n    }}\n}}\n");
}

fn message_struct(out: &mut String, message: &Message) {
    emit!(out, "/// {}\n///", message.description);
    emit!(out, "/// Template {}, block length {}.", message.id, message.block_length);
    emit!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq)]");
    emit!(out, "pub struct {} {{", message.name);
    for field in &message.fields {
        emit!(out, "    /// {}", field.description);
        emit!(out, "    pub {}: {},", field.name, value_type(field));
    }
    emit!(out, "}}\n");
}

fn encoder(out: &mut String, schema: &Schema, message: &Message) {
    let encoded_length = schema.header_length + message.block_length;
    emit!(out, "impl {} {{", message.name);
    emit!(out, "    pub const TEMPLATE_ID: u16 = {};", message.id);
    emit!(out, "    pub const BLOCK_LENGTH: usize = {};", message.block_length);
    emit!(out, "    /// Header and block.");
    emit!(out, "    pub const ENCODED_LENGTH: usize = {encoded_length};\n");
    emit!(out, "    /// Writes header and block to the start of `buf`; returns the bytes written.");
    emit!(out, "    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {{");
    emit!(out, "        let bytes = wire::claim(buf, Self::ENCODED_LENGTH)?;");
    emit!(out, "        let header = MessageHeader {{");
    emit!(out, "            block_length: {},", message.block_length);
    emit!(out, "            template_id: Self::TEMPLATE_ID,");
    emit!(out, "            schema_id: SCHEMA_ID,");
    emit!(out, "            version: SCHEMA_VERSION,");
    emit!(out, "        }};");
    emit!(out, "        write_header(&header, bytes);");
    for field in &message.fields {
        let offset = schema.header_length + field.offset;
        emit!(out, "        wire::write(bytes, {offset}, {}.{}());", raw_value(message, field), to_bytes(schema));
    }
    emit!(out, "        Ok(Self::ENCODED_LENGTH)\n    }}\n}}\n");
}

/// The raw value the encoder writes for a field.
fn raw_value(message: &Message, field: &Field) -> String {
    let value = format!("self.{}", field.name);
    match (field.is_enum, field.null) {
        (false, None) => value,
        (true, None) => format!("{value}.raw()"),
        (false, Some(null)) => {
            let null = field.primitive.literal(null);
            format!("wire::or_null({value}, {null}, \"{}.{}\")?", message.name, field.xml_name)
        }
        (true, Some(null)) => format!("{value}.map_or({}, {}::raw)", field.primitive.literal(null), field.rust_type),
    }
}

fn decoder(out: &mut String, schema: &Schema, message: &Message) {
    let name = &message.name;
    emit!(out, "/// Reads a {name} in place. The accessors never read beyond the slice.");
    emit!(out, "#[derive(Debug, Clone, Copy)]");
    emit!(out, "pub struct {name}Decoder<'a> {{\n    bytes: &'a [u8],\n    version: u16,\n}}\n");
    emit!(out, "impl<'a> {name}Decoder<'a> {{");
    emit!(out, "    fn wrap(bytes: &'a [u8], header: &MessageHeader) -> Result<Self, DecodeError> {{");
    emit!(out, "        let required = {};", required_length(message));
    emit!(out, "        let bytes = wire::block(bytes, header, HEADER_LENGTH, required, SCHEMA_VERSION)?;");
    emit!(out, "        Ok(Self {{ bytes, version: header.version }})\n    }}\n");
    emit!(out, "    /// The schema version the message was written with.");
    emit!(out, "    pub fn version(&self) -> u16 {{\n        self.version\n    }}");
    for field in &message.fields {
        accessor(out, schema, message, field);
    }
    emit!(out, "}}\n");
}

/// The block length the decoder demands, by the version in the header: a message written
/// before a field was added is shorter.
fn required_length(message: &Message) -> String {
    let mut versions: Vec<u16> = message.fields.iter().map(|f| f.since_version).filter(|&v| v > 0).collect();
    versions.dedup();
    let base = message.block_length_since(0);
    if versions.is_empty() {
        return base.to_string();
    }
    let mut expression = String::new();
    for version in versions.iter().rev() {
        let length = message.block_length_since(*version);
        write!(expression, "if header.version >= {version} {{ {length} }} else ").expect("writing to a String");
    }
    expression + &format!("{{ {base} }}")
}

fn accessor(out: &mut String, schema: &Schema, message: &Message, field: &Field) {
    let offset = schema.header_length + field.offset;
    let read = format!("{}::{}(wire::read(self.bytes, {offset})?)", field.primitive.rust(), from_bytes(schema));
    let path = format!("\"{}.{}\"", message.name, field.xml_name);
    emit!(out, "\n    /// {}", field.description);
    emit!(out, "    pub fn {}(&self) -> Result<{}, DecodeError> {{", field.name, value_type(field));
    if field.since_version > 0 {
        emit!(out, "        if self.version < {} {{\n            return Ok(None);\n        }}", field.since_version);
    }
    let body = match (field.is_enum, field.null) {
        (false, None) => format!("Ok({read})"),
        (false, Some(null)) => format!("Ok(wire::non_null({read}, {}))", field.primitive.literal(null)),
        (true, None) => format!("wire::enum_value({read}, {}::from_raw, {path})", field.rust_type),
        (true, Some(null)) => {
            let null = field.primitive.literal(null);
            format!("wire::optional_enum({read}, {null}, {}::from_raw, {path})", field.rust_type)
        }
    };
    emit!(out, "        {body}\n    }}");
}

fn catalog(out: &mut String, schema: &Schema) {
    emit!(out, "/// One message of the schema.");
    emit!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq)]");
    emit!(out, "pub struct MessageInfo {{");
    emit!(out, "    pub name: &'static str,\n    pub template_id: u16,\n    pub block_length: usize,\n}}\n");
    emit!(out, "/// Every message, in schema order.");
    emit!(out, "pub const MESSAGES: &[MessageInfo] = &[");
    for message in &schema.messages {
        emit!(
            out,
            "    MessageInfo {{ name: {:?}, template_id: {}, block_length: {} }},",
            message.name,
            message.id,
            message.block_length
        );
    }
    emit!(out, "];\n");
    let longest = schema.messages.iter().map(|m| m.block_length).max().unwrap_or(0);
    emit!(out, "/// The longest message: header and block.");
    emit!(out, "pub const MAX_ENCODED_LENGTH: usize = {};\n", schema.header_length + longest);
}

fn dispatch(out: &mut String, schema: &Schema) {
    emit!(out, "/// Any message of this schema, read in place.");
    emit!(out, "#[derive(Debug, Clone, Copy)]");
    emit!(out, "pub enum MessageDecoder<'a> {{");
    for message in &schema.messages {
        emit!(out, "    {0}({0}Decoder<'a>),", message.name);
    }
    emit!(out, "}}\n\nimpl<'a> MessageDecoder<'a> {{");
    emit!(out, "    /// Checks the header and the block length, and picks the message by template id.");
    emit!(out, "    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {{");
    emit!(out, "        let header = read_header(bytes)?;");
    emit!(out, "        wire::check_schema(&header, SCHEMA_ID)?;");
    emit!(out, "        match header.template_id {{");
    for message in &schema.messages {
        emit!(out, "            {0} => {1}Decoder::wrap(bytes, &header).map(Self::{1}),", message.id, message.name);
    }
    emit!(out, "            other => Err(DecodeError::UnknownTemplate(other)),\n        }}\n    }}\n");
    emit!(out, "    pub fn template_id(&self) -> u16 {{\n        match self {{");
    for message in &schema.messages {
        emit!(out, "            Self::{}(_) => {},", message.name, message.id);
    }
    emit!(out, "        }}\n    }}\n}}");
}

fn value_type(field: &Field) -> String {
    match field.null {
        Some(_) => format!("Option<{}>", field.rust_type),
        None => field.rust_type.clone(),
    }
}

fn from_bytes(schema: &Schema) -> &'static str {
    if schema.little_endian {
        "from_le_bytes"
    } else {
        "from_be_bytes"
    }
}

fn to_bytes(schema: &Schema) -> &'static str {
    if schema.little_endian {
        "to_le_bytes"
    } else {
        "to_be_bytes"
    }
}
