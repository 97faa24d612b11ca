//! Renders the model as Rust: per message a value struct whose `encode` writes header, block,
//! groups and data, and a zero-copy decoder whose accessors read in place, every read
//! bounds-checked. The byte-level work lives in the hand-written runtime, `src/wire.rs`; this
//! file only decides what goes where.

use std::fmt::Write;

use crate::model::{EnumType, Field, FieldKind, Group, Message, Schema, SetType, SimpleType, VarData};

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
    schema.sets.iter().for_each(|set| set_type(&mut out, set));
    for message in &schema.messages {
        message_struct(&mut out, message);
        for group in &message.groups {
            entry_struct(&mut out, schema, message, group);
        }
        encoder(&mut out, schema, message);
        decoder(&mut out, schema, message);
        for group in &message.groups {
            group_decoder(&mut out, schema, message, group);
        }
    }
    catalog(&mut out, schema);
    dispatch(&mut out, schema);
    round_trip_check(&mut out, schema);
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
    match simple.array {
        Some(length) => emit!(out, "pub type {} = [{}; {length}];\n", simple.name, simple.primitive.rust()),
        None => emit!(out, "pub type {} = {};\n", simple.name, simple.primitive.rust()),
    }
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

fn set_type(out: &mut String, set: &SetType) {
    let (name, raw) = (&set.name, set.primitive.rust());
    let all = set.choices.iter().fold(0u64, |mask, choice| mask | 1 << choice.bit);
    emit!(out, "/// {}", set.description);
    emit!(out, "///\n/// A bit set; a bit the schema does not define is refused on decode.");
    emit!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]");
    emit!(out, "pub struct {name}({raw});\n\nimpl {name} {{");
    for choice in &set.choices {
        emit!(out, "    /// {} (bit {})", choice.description, choice.bit);
        emit!(out, "    pub const {}: {name} = {name}({:#x});", screaming_snake(&choice.name), 1u64 << choice.bit);
    }
    emit!(out, "    /// No choice.\n    pub const NONE: {name} = {name}(0);");
    emit!(out, "    /// Every choice the schema defines.\n    pub const ALL: {name} = {name}({all:#x});\n");
    emit!(out, "    /// The set for `raw`; `None` when a bit the schema does not define is set.");
    emit!(out, "    pub fn from_raw(raw: {raw}) -> Option<{name}> {{");
    emit!(out, "        (raw & !Self::ALL.0 == 0).then_some({name}(raw))\n    }}\n");
    emit!(out, "    pub fn raw(self) -> {raw} {{\n        self.0\n    }}\n");
    emit!(out, "    /// Whether every choice of `other` is set.");
    emit!(out, "    pub fn contains(self, other: {name}) -> bool {{\n        self.0 & other.0 == other.0\n    }}\n");
    emit!(out, "    /// This set and the choices of `other`.");
    emit!(out, "    pub fn with(self, other: {name}) -> {name} {{\n        {name}(self.0 | other.0)\n    }}\n");
    emit!(out, "    /// This set without the choices of `other`.");
    emit!(out, "    pub fn without(self, other: {name}) -> {name} {{\n        {name}(self.0 & !other.0)\n    }}");
    for choice in &set.choices {
        emit!(out, "\n    /// {}", choice.description);
        emit!(out, "    pub fn {}(self) -> bool {{", snake(&choice.name));
        emit!(out, "        self.contains(Self::{})\n    }}", screaming_snake(&choice.name));
    }
    emit!(out, "}}\n");
}

/// `<'a>` for a message that borrows groups or data; nothing for a fixed one.
fn lifetime(message: &Message) -> &'static str {
    if message.is_fixed() {
        ""
    } else {
        "<'a>"
    }
}

fn message_struct(out: &mut String, message: &Message) {
    emit!(out, "/// {}\n///", message.description);
    let mut layout = format!("Template {}, block length {}", message.id, message.block_length);
    for group in &message.groups {
        write!(layout, ", group `{}`", group.xml_name).expect("writing to a String");
    }
    for data in &message.data {
        write!(layout, ", data `{}`", data.xml_name).expect("writing to a String");
    }
    emit!(out, "/// {layout}.");
    if message.since_version > 0 {
        emit!(out, "/// Since schema version {}.", message.since_version);
    }
    emit!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq)]");
    emit!(out, "pub struct {}{} {{", message.name, lifetime(message));
    for field in &message.fields {
        emit!(out, "    /// {}", field.description);
        emit!(out, "    pub {}: {},", field.name, value_type(field));
    }
    for group in &message.groups {
        emit!(out, "    /// {}", group.description);
        emit!(out, "    pub {}: &'a [{}Entry],", group.name, group.type_name);
    }
    for data in &message.data {
        emit!(out, "    /// {}", data.description);
        emit!(out, "    pub {}: {},", data.name, data_type(data));
    }
    emit!(out, "}}\n");
}

fn entry_struct(out: &mut String, schema: &Schema, message: &Message, group: &Group) {
    let name = format!("{}Entry", group.type_name);
    emit!(out, "/// One entry of {}.{}: {}", message.name, group.xml_name, group.description);
    emit!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq)]");
    emit!(out, "pub struct {name} {{");
    for field in &group.fields {
        emit!(out, "    /// {}", field.description);
        emit!(out, "    pub {}: {},", field.name, value_type(field));
    }
    emit!(out, "}}\n\nimpl {name} {{");
    emit!(out, "    pub const BLOCK_LENGTH: usize = {};\n", group.block_length);
    emit!(out, "    /// Writes the entry at `offset`, inside the message the encoder claimed.");
    let bytes = if group.fields.is_empty() { "_bytes" } else { "bytes" };
    let offset = if group.fields.is_empty() { "_offset" } else { "offset" };
    emit!(out, "    fn write(&self, {bytes}: &mut [u8], {offset}: usize) -> Result<(), EncodeError> {{");
    let owner = format!("{}.{}", message.name, group.xml_name);
    for field in &group.fields {
        let at = if field.offset == 0 { "offset".to_string() } else { format!("offset + {}", field.offset) };
        emit!(out, "        wire::write(bytes, {at}, {});", encoded_value(schema, &owner, field));
    }
    emit!(out, "        Ok(())\n    }}\n}}\n");
}

fn encoder(out: &mut String, schema: &Schema, message: &Message) {
    let name = &message.name;
    let lifetime = lifetime(message);
    emit!(out, "impl{lifetime} {name}{lifetime} {{");
    emit!(out, "    pub const TEMPLATE_ID: u16 = {};", message.id);
    emit!(out, "    pub const BLOCK_LENGTH: usize = {};", message.block_length);
    emit!(out, "    /// The schema version that added the message.");
    emit!(out, "    pub const SINCE_VERSION: u16 = {};", message.since_version);
    if message.is_fixed() {
        emit!(out, "    /// Header and block.");
        emit!(out, "    pub const ENCODED_LENGTH: usize = {};\n", schema.header_length + message.block_length);
        emit!(out, "    /// Bytes `encode` writes.");
        emit!(out, "    pub fn encoded_length(&self) -> usize {{\n        Self::ENCODED_LENGTH\n    }}\n");
    } else {
        emit!(out, "");
        emit!(out, "    /// Bytes `encode` writes: header, block, groups and data.");
        emit!(out, "    pub fn encoded_length(&self) -> usize {{");
        emit!(out, "        let mut length = HEADER_LENGTH + Self::BLOCK_LENGTH;");
        for group in &message.groups {
            emit!(
                out,
                "        length = length.saturating_add({}).saturating_add(self.{}.len().saturating_mul({}));",
                group.dimension.length,
                group.name,
                group.block_length
            );
        }
        for data in &message.data {
            let prefix = data.encoding.length_primitive.size();
            emit!(out, "        length = length.saturating_add({prefix}).saturating_add(self.{}.len());", data.name);
        }
        emit!(out, "        length\n    }}\n");
    }
    emit!(out, "    /// Writes the message to the start of `buf`; returns the bytes written.");
    emit!(out, "    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {{");
    for group in &message.groups {
        emit!(
            out,
            "        let {0}_count = wire::entry_count(self.{0}.len(), \"{name}.{1}\")?;",
            group.name,
            group.xml_name
        );
    }
    for data in &message.data {
        emit!(
            out,
            "        let {0}_length = wire::data_length(self.{0}.len(), {1}, \"{name}.{2}\")?;",
            data.name,
            data.encoding.max,
            data.xml_name
        );
    }
    emit!(out, "        let length = self.encoded_length();");
    emit!(out, "        let bytes = wire::claim(buf, length)?;");
    emit!(out, "        let header = MessageHeader {{");
    emit!(out, "            block_length: {},", message.block_length);
    emit!(out, "            template_id: Self::TEMPLATE_ID,");
    emit!(out, "            schema_id: SCHEMA_ID,");
    emit!(out, "            version: SCHEMA_VERSION,");
    emit!(out, "        }};");
    emit!(out, "        write_header(&header, bytes);");
    for field in &message.fields {
        let offset = schema.header_length + field.offset;
        emit!(out, "        wire::write(bytes, {offset}, {});", encoded_value(schema, name, field));
    }
    if message.is_fixed() {
        emit!(out, "        Ok(length)\n    }}\n}}\n");
        return;
    }
    let to = to_bytes(schema);
    emit!(out, "        let mut offset = HEADER_LENGTH + Self::BLOCK_LENGTH;");
    for group in &message.groups {
        let dimension = &group.dimension;
        emit!(
            out,
            "        wire::write(bytes, {}, {}u16.{to}());",
            plus("offset", dimension.block_length_offset),
            group.block_length
        );
        emit!(
            out,
            "        wire::write(bytes, {}, {}_count.{to}());",
            plus("offset", dimension.num_in_group_offset),
            group.name
        );
        emit!(out, "        offset += {};", dimension.length);
        emit!(out, "        for entry in self.{} {{", group.name);
        emit!(out, "            entry.write(bytes, offset)?;");
        emit!(out, "            offset += {}Entry::BLOCK_LENGTH;\n        }}", group.type_name);
    }
    for data in &message.data {
        let length = data.encoding.length_primitive;
        emit!(out, "        wire::write(bytes, offset, ({}_length as {}).{to}());", data.name, length.rust());
        emit!(out, "        offset += {};", length.size());
        let as_bytes = if data.encoding.utf8 { ".as_bytes()" } else { "" };
        emit!(out, "        wire::write_slice(bytes, offset, self.{}{as_bytes});", data.name);
        emit!(out, "        offset += {}_length;", data.name);
    }
    emit!(out, "        debug_assert_eq!(offset, length);");
    emit!(out, "        Ok(offset)\n    }}\n}}\n");
}

/// The bytes (`[u8; N]`) the encoder writes for a field of `owner`.
fn encoded_value(schema: &Schema, owner: &str, field: &Field) -> String {
    let value = format!("self.{}", field.name);
    let to = to_bytes(schema);
    match (field.kind, field.null) {
        (FieldKind::Array(_), _) => value,
        (FieldKind::Integer, None) => format!("{value}.{to}()"),
        (FieldKind::Integer, Some(null)) => {
            let null = field.primitive.literal(null);
            format!("wire::or_null({value}, {null}, \"{owner}.{}\")?.{to}()", field.xml_name)
        }
        (FieldKind::Enum | FieldKind::Set, None) => format!("{value}.raw().{to}()"),
        (FieldKind::Enum | FieldKind::Set, Some(null)) => {
            format!("{value}.map_or({}, {}::raw).{to}()", field.primitive.literal(null), field.rust_type)
        }
    }
}

fn decoder(out: &mut String, schema: &Schema, message: &Message) {
    let name = &message.name;
    emit!(out, "/// Reads a {name} in place. The accessors never read beyond the slice.");
    emit!(out, "#[derive(Debug, Clone, Copy)]");
    if message.fields.is_empty() {
        emit!(out, "#[allow(dead_code)] // no field reads the block");
    }
    emit!(out, "pub struct {name}Decoder<'a> {{\n    bytes: &'a [u8],\n    version: u16,");
    for group in &message.groups {
        emit!(out, "    {}: wire::Entries<'a>,", group.name);
    }
    for data in &message.data {
        emit!(out, "    {}: &'a [u8],", data.name);
    }
    emit!(out, "}}\n");
    emit!(out, "impl<'a> {name}Decoder<'a> {{");
    emit!(out, "    fn wrap(bytes: &'a [u8], header: &MessageHeader) -> Result<Self, DecodeError> {{");
    if message.since_version > 1 {
        emit!(out, "        if header.version < {} {{", message.since_version);
        emit!(out, "            return Err(DecodeError::UnsupportedVersion(header.version));\n        }}");
    }
    emit!(out, "        let required = {};", required_length(&message.fields, message.since_version));
    if message.is_fixed() {
        emit!(out, "        let bytes = wire::block(bytes, header, HEADER_LENGTH, required, SCHEMA_VERSION)?;");
        emit!(out, "        Ok(Self {{ bytes, version: header.version }})\n    }}\n");
    } else {
        emit!(out, "        let (bytes, mut cursor) = wire::root(bytes, header, HEADER_LENGTH, required)?;");
        for group in &message.groups {
            read_group(out, schema, message, group);
        }
        for data in &message.data {
            read_data(out, schema, message, data);
        }
        emit!(out, "        cursor.finish(header.version, SCHEMA_VERSION)?;");
        let mut parts = vec!["bytes".to_string(), "version: header.version".to_string()];
        parts.extend(message.groups.iter().map(|g| g.name.clone()));
        parts.extend(message.data.iter().map(|d| d.name.clone()));
        emit!(out, "        Ok(Self {{ {} }})\n    }}\n", parts.join(", "));
    }
    emit!(out, "    /// The schema version the message was written with.");
    emit!(out, "    pub fn version(&self) -> u16 {{\n        self.version\n    }}");
    for field in &message.fields {
        accessor(out, schema, name, field, schema.header_length, message.since_version);
    }
    for group in &message.groups {
        emit!(out, "\n    /// {}", group.description);
        emit!(out, "    pub fn {}(&self) -> {}Decoder<'a> {{", group.name, group.type_name);
        emit!(
            out,
            "        {}Decoder {{ entries: self.{}, index: 0, version: self.version }}\n    }}",
            group.type_name,
            group.name
        );
    }
    for data in &message.data {
        emit!(out, "\n    /// {}", data.description);
        if data.encoding.utf8 {
            emit!(out, "    pub fn {}(&self) -> Result<&'a str, DecodeError> {{", data.name);
            emit!(out, "        wire::utf8(self.{}, \"{name}.{}\")\n    }}", data.name, data.xml_name);
        } else {
            emit!(out, "    pub fn {0}(&self) -> &'a [u8] {{\n        self.{0}\n    }}", data.name);
        }
    }
    validate_function(out, &message.fields, &message.groups, &message.data);
    value_function(out, message);
    emit!(out, "}}\n");
}

/// `validate`: reads every field, entry and data element without keeping anything.
fn validate_function(out: &mut String, fields: &[Field], groups: &[Group], data: &[VarData]) {
    emit!(out, "\n    /// Reads every field, group entry and data element, keeping nothing: `Ok` when all are");
    emit!(out, "    /// valid. Allocates nothing.");
    emit!(out, "    pub fn validate(&self) -> Result<(), DecodeError> {{");
    for field in fields {
        emit!(out, "        self.{}()?;", field.name);
    }
    for group in groups {
        emit!(out, "        for entry in self.{}() {{\n            entry.validate()?;\n        }}", group.name);
    }
    for data in data.iter().filter(|d| d.encoding.utf8) {
        emit!(out, "        self.{}()?;", data.name);
    }
    emit!(out, "        Ok(())\n    }}");
}

fn read_group(out: &mut String, schema: &Schema, message: &Message, group: &Group) {
    let from = from_bytes(schema);
    let conditional = group.since_version > message.since_version;
    let indent = "            ";
    if conditional {
        emit!(out, "        let {} = if header.version >= {} {{", group.name, group.since_version);
    } else {
        emit!(out, "        let {} = {{", group.name);
    }
    let dimension = &group.dimension;
    emit!(out, "{indent}let dimension = cursor.take({})?;", dimension.length);
    emit!(
        out,
        "{indent}let block_length = usize::from(u16::{from}(wire::read(dimension, {})?));",
        dimension.block_length_offset
    );
    emit!(
        out,
        "{indent}let count = usize::from(u16::{from}(wire::read(dimension, {})?));",
        dimension.num_in_group_offset
    );
    emit!(out, "{indent}let required = {};", required_length(&group.fields, group.since_version));
    emit!(out, "{indent}cursor.entries(block_length, count, required, \"{}.{}\")?", message.name, group.xml_name);
    if conditional {
        emit!(out, "        }} else {{\n            wire::Entries::EMPTY\n        }};");
    } else {
        emit!(out, "        }};");
    }
}

fn read_data(out: &mut String, schema: &Schema, message: &Message, data: &VarData) {
    let from = from_bytes(schema);
    let conditional = data.since_version > message.since_version;
    let indent = "            ";
    if conditional {
        emit!(out, "        let {} = if header.version >= {} {{", data.name, data.since_version);
    } else {
        emit!(out, "        let {} = {{", data.name);
    }
    let length = data.encoding.length_primitive;
    emit!(out, "{indent}let prefix = cursor.take({})?;", length.size());
    emit!(out, "{indent}let length = wire::length({}::{from}(wire::read(prefix, 0)?));", length.rust());
    emit!(out, "{indent}cursor.data(length, {}, \"{}.{}\")?", data.encoding.max, message.name, data.xml_name);
    if conditional {
        emit!(out, "        }} else {{\n            &[]\n        }};");
    } else {
        emit!(out, "        }};");
    }
}

/// `value` (or, with groups, `value_in`): every field, entry and data element read into the
/// message struct, in wire order (fields, groups, data), as `validate` reads them.
fn value_function(out: &mut String, message: &Message) {
    let name = &message.name;
    let mut parts: Vec<String> = Vec::new();
    if message.groups.is_empty() {
        let lifetime = if message.is_fixed() { "" } else { "<'a>" };
        emit!(out, "\n    /// Reads every field and data element: the message as a value.");
        emit!(out, "    pub fn value(&self) -> Result<{name}{lifetime}, DecodeError> {{");
        parts.extend(message.fields.iter().map(|f| format!("{0}: self.{0}()?", f.name)));
    } else {
        let storage: Vec<String> =
            message.groups.iter().map(|g| format!("{}: &'s mut Vec<{}Entry>", g.name, g.type_name)).collect();
        emit!(out, "\n    /// Reads every field and data element, and each group's entries into its `Vec`");
        emit!(out, "    /// (cleared first): the message as a value.");
        emit!(out, "    pub fn value_in<'s>(&self, {}) -> Result<{name}<'s>, DecodeError>", storage.join(", "));
        emit!(out, "    where\n        'a: 's,\n    {{");
        for field in &message.fields {
            emit!(out, "        let {0} = self.{0}()?;", field.name);
            parts.push(field.name.clone());
        }
        for group in &message.groups {
            emit!(out, "        {}.clear();", group.name);
            emit!(
                out,
                "        for entry in self.{}() {{\n            {}.push(entry.value()?);\n        }}",
                group.name,
                group.name
            );
            parts.push(format!("{0}: {0}.as_slice()", group.name));
        }
    }
    for data in &message.data {
        let read = if data.encoding.utf8 { format!("self.{}()?", data.name) } else { format!("self.{}()", data.name) };
        parts.push(format!("{}: {read}", data.name));
    }
    if parts.is_empty() {
        emit!(out, "        Ok({name} {{}})\n    }}");
    } else {
        emit!(out, "        Ok({name} {{\n            {},\n        }})\n    }}", parts.join(",\n            "));
    }
}

fn group_decoder(out: &mut String, schema: &Schema, message: &Message, group: &Group) {
    let name = &group.type_name;
    emit!(out, "/// The entries of {}.{}, read in place: an iterator of entry decoders.", message.name, group.xml_name);
    emit!(out, "#[derive(Debug, Clone, Copy)]");
    emit!(
        out,
        "pub struct {name}Decoder<'a> {{\n    entries: wire::Entries<'a>,\n    index: usize,\n    version: u16,\n}}\n"
    );
    emit!(out, "impl<'a> {name}Decoder<'a> {{");
    emit!(out, "    /// Entry `index`, counting from the first whatever has been iterated.");
    emit!(out, "    pub fn get(&self, index: usize) -> Option<{name}EntryDecoder<'a>> {{");
    emit!(out, "        let bytes = self.entries.entry(index)?;");
    emit!(out, "        Some({name}EntryDecoder {{ bytes, version: self.version }})\n    }}\n}}\n");
    emit!(out, "impl<'a> Iterator for {name}Decoder<'a> {{");
    emit!(out, "    type Item = {name}EntryDecoder<'a>;\n");
    emit!(out, "    fn next(&mut self) -> Option<Self::Item> {{");
    emit!(out, "        let entry = self.get(self.index)?;\n        self.index += 1;\n        Some(entry)\n    }}\n");
    emit!(out, "    fn size_hint(&self) -> (usize, Option<usize>) {{");
    emit!(out, "        let remaining = self.entries.count().saturating_sub(self.index);");
    emit!(out, "        (remaining, Some(remaining))\n    }}\n}}\n");
    emit!(out, "impl ExactSizeIterator for {name}Decoder<'_> {{}}\n");

    emit!(out, "/// One entry of {}.{}, read in place.", message.name, group.xml_name);
    emit!(out, "#[derive(Debug, Clone, Copy)]");
    if group.fields.is_empty() {
        emit!(out, "#[allow(dead_code)] // no field reads the entry");
    }
    emit!(out, "pub struct {name}EntryDecoder<'a> {{\n    bytes: &'a [u8],\n    version: u16,\n}}\n");
    emit!(out, "impl<'a> {name}EntryDecoder<'a> {{");
    emit!(out, "    /// The schema version the message was written with.");
    emit!(out, "    pub fn version(&self) -> u16 {{\n        self.version\n    }}");
    let owner = format!("{}.{}", message.name, group.xml_name);
    for field in &group.fields {
        accessor(out, schema, &owner, field, 0, group.since_version);
    }
    validate_function(out, &group.fields, &[], &[]);
    let parts: Vec<String> = group.fields.iter().map(|f| format!("{0}: self.{0}()?", f.name)).collect();
    emit!(out, "\n    /// Reads every field: the entry as a value.");
    emit!(out, "    pub fn value(&self) -> Result<{name}Entry, DecodeError> {{");
    if parts.is_empty() {
        emit!(out, "        Ok({name}Entry {{}})\n    }}");
    } else {
        emit!(out, "        Ok({name}Entry {{\n            {},\n        }})\n    }}", parts.join(",\n            "));
    }
    emit!(out, "}}\n");
}

/// The block length the decoder demands, by the version in the header: a block written
/// before a field was added is shorter. `since` is the container's version.
fn required_length(fields: &[Field], since: u16) -> String {
    let mut versions: Vec<u16> = fields.iter().map(|f| f.since_version).filter(|&v| v > since).collect();
    versions.dedup();
    let base = crate::model::block_length_since(fields, since);
    if versions.is_empty() {
        return base.to_string();
    }
    let mut expression = String::new();
    for version in versions.iter().rev() {
        let length = crate::model::block_length_since(fields, *version);
        write!(expression, "if header.version >= {version} {{ {length} }} else ").expect("writing to a String");
    }
    expression + &format!("{{ {base} }}")
}

/// An accessor reading `field` at `base + field.offset` of the decoder's bytes. `since` is the
/// container's version: a field added later reads as absent in an older message.
fn accessor(out: &mut String, schema: &Schema, owner: &str, field: &Field, base: usize, since: u16) {
    let offset = base + field.offset;
    let read = format!("{}::{}(wire::read(self.bytes, {offset})?)", field.primitive.rust(), from_bytes(schema));
    let path = format!("\"{owner}.{}\"", field.xml_name);
    emit!(out, "\n    /// {}", field.description);
    emit!(out, "    pub fn {}(&self) -> Result<{}, DecodeError> {{", field.name, value_type(field));
    if field.since_version > since {
        emit!(out, "        if self.version < {} {{\n            return Ok(None);\n        }}", field.since_version);
    }
    let body = match (field.kind, field.null) {
        (FieldKind::Array(_), _) => format!("wire::read(self.bytes, {offset})"),
        (FieldKind::Integer, None) => format!("Ok({read})"),
        (FieldKind::Integer, Some(null)) => format!("Ok(wire::non_null({read}, {}))", field.primitive.literal(null)),
        (FieldKind::Enum, None) => format!("wire::enum_value({read}, {}::from_raw, {path})", field.rust_type),
        (FieldKind::Enum, Some(null)) => {
            let null = field.primitive.literal(null);
            format!("wire::optional_enum({read}, {null}, {}::from_raw, {path})", field.rust_type)
        }
        (FieldKind::Set, _) => format!("wire::set_value({read}, {}::from_raw, {path})", field.rust_type),
    };
    emit!(out, "        {body}\n    }}");
}

fn catalog(out: &mut String, schema: &Schema) {
    emit!(out, "/// One message of the schema.");
    emit!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq)]");
    emit!(out, "pub struct MessageInfo {{");
    emit!(out, "    pub name: &'static str,\n    pub template_id: u16,\n    pub block_length: usize,");
    emit!(out, "    /// The schema version that added the message.\n    pub since_version: u16,");
    emit!(out, "    /// Header and block only: no groups and no data.\n    pub fixed: bool,\n}}\n");
    emit!(out, "/// Every message, in schema order.");
    emit!(out, "pub const MESSAGES: &[MessageInfo] = &[");
    for message in &schema.messages {
        emit!(
            out,
            "    MessageInfo {{ name: {:?}, template_id: {}, block_length: {}, since_version: {}, fixed: {} }},",
            message.name,
            message.id,
            message.block_length,
            message.since_version,
            message.is_fixed()
        );
    }
    emit!(out, "];\n");
    let longest = schema.messages.iter().filter(|m| m.is_fixed()).map(|m| m.block_length).max().unwrap_or(0);
    emit!(out, "/// The longest message without groups or data: header and block.");
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
    emit!(out, "    /// Checks the header, the block length and every group and data length, and picks the");
    emit!(out, "    /// message by template id.");
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
    emit!(out, "        }}\n    }}\n");
    emit!(out, "    pub fn name(&self) -> &'static str {{\n        match self {{");
    for message in &schema.messages {
        emit!(out, "            Self::{0}(_) => {0:?},", message.name);
    }
    emit!(out, "        }}\n    }}\n}}\n");
}

/// A checker for tests and fuzz targets: whatever decodes must re-encode to bytes that decode
/// to the same value.
fn round_trip_check(out: &mut String, schema: &Schema) {
    emit!(out, "/// For tests and fuzzing: decodes `bytes` and reads every field, entry and data element.");
    emit!(out, "/// When all of that succeeds, re-encodes the value and checks that the new bytes decode to");
    emit!(out, "/// the same value. Returns the first decode error; panics on a mismatch.");
    emit!(out, "#[doc(hidden)]");
    emit!(out, "pub fn check_round_trip(bytes: &[u8]) -> Result<(), DecodeError> {{");
    emit!(out, "    match MessageDecoder::decode(bytes)? {{");
    for message in &schema.messages {
        let name = &message.name;
        emit!(out, "        MessageDecoder::{name}(decoder) => {{");
        let (first, second) = if message.groups.is_empty() {
            ("decoder.value()".to_string(), "again.value()".to_string())
        } else {
            for group in &message.groups {
                emit!(out, "            let (mut {0}, mut {0}_again) = (Vec::new(), Vec::new());", group.name);
            }
            let first: Vec<String> = message.groups.iter().map(|g| format!("&mut {}", g.name)).collect();
            let second: Vec<String> = message.groups.iter().map(|g| format!("&mut {}_again", g.name)).collect();
            (format!("decoder.value_in({})", first.join(", ")), format!("again.value_in({})", second.join(", ")))
        };
        emit!(out, "            let validated = decoder.validate();");
        emit!(out, "            let value = {first};");
        emit!(out, "            let read = value.as_ref().map(|_| ()).map_err(|error| *error);");
        emit!(out, "            assert_eq!(validated, read, \"{name}: validate and value disagree\");");
        emit!(out, "            let value = value?;");
        emit!(out, "            let mut buf = vec![0u8; value.encoded_length()];");
        emit!(out, "            let length = value.encode(&mut buf).expect(\"a decoded {name} re-encodes\");");
        emit!(out, "            assert_eq!(length, buf.len(), \"{name}: encoded_length\");");
        emit!(out, "            let Ok(MessageDecoder::{name}(again)) = MessageDecoder::decode(&buf) else {{");
        emit!(out, "                panic!(\"a re-encoded {name} does not decode as one\");\n            }};");
        emit!(out, "            assert_eq!({second}, Ok(value), \"{name}: round trip\");");
        emit!(out, "        }}");
    }
    emit!(out, "    }}\n    Ok(())\n}}");
}

fn value_type(field: &Field) -> String {
    match field.null {
        Some(_) => format!("Option<{}>", field.rust_type),
        None => field.rust_type.clone(),
    }
}

fn data_type(data: &VarData) -> &'static str {
    if data.encoding.utf8 {
        "&'a str"
    } else {
        "&'a [u8]"
    }
}

/// `offset + n`, or `offset` for 0.
fn plus(base: &str, n: usize) -> String {
    if n == 0 {
        base.to_string()
    } else {
        format!("{base} + {n}")
    }
}

/// `cancelOnDisconnect` → `cancel_on_disconnect`.
fn snake(name: &str) -> String {
    crate::model::snake_case(name)
}

/// `cancelOnDisconnect` → `CANCEL_ON_DISCONNECT`.
fn screaming_snake(name: &str) -> String {
    snake(name).to_ascii_uppercase()
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
