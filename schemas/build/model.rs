//! The schema model: the XML parsed, checked and laid out. Every offset, size, null value and
//! template id the renderer emits is computed here from the XML alone.
//!
//! The generator supports the subset of SBE 1.0 the cex schema uses, and refuses the rest
//! with an error rather than silently mis-encoding it: fixed-size blocks of primitive, named
//! simple and enum fields, optional fields with a null value, and `sinceVersion` for fields
//! added later. No groups, var data, sets, composites in messages, arrays or constants.

use roxmltree::{Document, Node};

const SBE_NAMESPACE: &str = "http://fixprotocol.io/2016/sbe";
/// The standard header, in any order: the runtime (`src/wire.rs`) relies on exactly these.
const HEADER_FIELDS: [&str; 4] = ["blockLength", "templateId", "schemaId", "version"];
/// Names a field may not take: keywords of Rust, and of the languages sbe-tool generates.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "base",
    "break",
    "case",
    "class",
    "const",
    "continue",
    "crate",
    "default",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "func",
    "if",
    "impl",
    "in",
    "interface",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "new",
    "object",
    "package",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "string",
    "struct",
    "super",
    "switch",
    "this",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "yield",
];

pub type Result<T> = std::result::Result<T, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
}

impl Primitive {
    fn from_sbe(name: &str) -> Option<Primitive> {
        Some(match name {
            "int8" => Primitive::I8,
            "uint8" => Primitive::U8,
            "int16" => Primitive::I16,
            "uint16" => Primitive::U16,
            "int32" => Primitive::I32,
            "uint32" => Primitive::U32,
            "int64" => Primitive::I64,
            "uint64" => Primitive::U64,
            _ => return None,
        })
    }

    pub fn rust(self) -> &'static str {
        match self {
            Primitive::I8 => "i8",
            Primitive::U8 => "u8",
            Primitive::I16 => "i16",
            Primitive::U16 => "u16",
            Primitive::I32 => "i32",
            Primitive::U32 => "u32",
            Primitive::I64 => "i64",
            Primitive::U64 => "u64",
        }
    }

    pub fn size(self) -> usize {
        match self {
            Primitive::I8 | Primitive::U8 => 1,
            Primitive::I16 | Primitive::U16 => 2,
            Primitive::I32 | Primitive::U32 => 4,
            Primitive::I64 | Primitive::U64 => 8,
        }
    }

    fn signed(self) -> bool {
        matches!(self, Primitive::I8 | Primitive::I16 | Primitive::I32 | Primitive::I64)
    }

    fn range(self) -> (i128, i128) {
        let bits = self.size() as u32 * 8;
        if self.signed() {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        }
    }

    /// SBE's default null: the minimum of a signed type, the maximum of an unsigned one.
    fn default_null(self) -> i128 {
        let (min, max) = self.range();
        if self.signed() {
            min
        } else {
            max
        }
    }

    fn parse_value(self, text: &str) -> Result<i128> {
        let value: i128 = text.trim().parse().map_err(|_| format!("{text:?} is not an integer"))?;
        let (min, max) = self.range();
        if value < min || value > max {
            return Err(format!("{value} does not fit {}", self.rust()));
        }
        Ok(value)
    }

    /// A Rust literal of this type.
    pub fn literal(self, value: i128) -> String {
        format!("{value}{}", self.rust())
    }
}

pub struct Schema {
    pub package: String,
    pub id: u16,
    pub version: u16,
    pub description: String,
    pub little_endian: bool,
    /// The header's fields in wire order, as (Rust name, offset); all `uint16`.
    pub header: Vec<(String, usize)>,
    pub header_length: usize,
    pub simple_types: Vec<SimpleType>,
    pub enums: Vec<EnumType>,
    pub messages: Vec<Message>,
}

pub struct SimpleType {
    pub name: String,
    pub primitive: Primitive,
    pub description: String,
    /// The null value, for an optional type.
    pub null: Option<i128>,
}

pub struct EnumType {
    pub name: String,
    pub primitive: Primitive,
    pub description: String,
    pub values: Vec<ValidValue>,
    /// Encodes "absent" where a field of this enum is optional.
    pub null: i128,
}

pub struct ValidValue {
    pub name: String,
    pub value: i128,
    pub description: String,
}

pub struct Message {
    pub name: String,
    pub id: u16,
    pub description: String,
    pub fields: Vec<Field>,
    pub block_length: usize,
}

impl Message {
    /// The block length a message of `version` needs: the end of every field it has.
    pub fn block_length_since(&self, version: u16) -> usize {
        let present = self.fields.iter().filter(|field| field.since_version <= version);
        present.map(|field| field.offset + field.primitive.size()).max().unwrap_or(0)
    }
}

pub struct Field {
    /// As in the XML (camelCase).
    pub xml_name: String,
    /// As in Rust (snake_case).
    pub name: String,
    pub description: String,
    /// The Rust type of one value: a type alias, an enum or a primitive.
    pub rust_type: String,
    pub primitive: Primitive,
    pub is_enum: bool,
    /// Offset in the block.
    pub offset: usize,
    /// The null value, for an optional field.
    pub null: Option<i128>,
    pub since_version: u16,
}

/// What a field's `type` attribute names.
enum TypeRef<'s> {
    Primitive(Primitive),
    Simple(&'s SimpleType),
    Enum(&'s EnumType),
}

impl Schema {
    pub fn parse(xml: &str) -> Result<Schema> {
        let document = Document::parse(xml).map_err(|e| e.to_string())?;
        let root = document.root_element();
        if root.tag_name().name() != "messageSchema" || root.tag_name().namespace() != Some(SBE_NAMESPACE) {
            return Err(format!("the root element must be messageSchema in namespace {SBE_NAMESPACE}"));
        }
        only(root, &["package", "id", "version", "semanticVersion", "description", "byteOrder", "headerType"])?;
        let mut schema = Schema::attributes(root)?;
        schema.read_types(root)?;
        schema.read_messages(root)?;
        Ok(schema)
    }

    fn attributes(root: Node) -> Result<Schema> {
        let little_endian = match root.attribute("byteOrder").unwrap_or("littleEndian") {
            "littleEndian" => true,
            "bigEndian" => false,
            other => return Err(format!("unknown byteOrder {other:?}")),
        };
        Ok(Schema {
            package: identifier(root, "package")?,
            id: number(root, "id")?,
            version: root.attribute("version").map_or(Ok(0), |_| number(root, "version"))?,
            description: description(root)?,
            little_endian,
            header: Vec::new(),
            header_length: 0,
            simple_types: Vec::new(),
            enums: Vec::new(),
            messages: Vec::new(),
        })
    }

    fn read_types(&mut self, root: Node) -> Result<()> {
        let header_type = root.attribute("headerType").unwrap_or("messageHeader");
        for types in elements(root).filter(|node| node.tag_name().name() == "types") {
            for node in elements(types) {
                match node.tag_name().name() {
                    "type" => self.simple_types.push(simple_type(node)?),
                    "enum" => self.enums.push(enum_type(node)?),
                    "composite" if node.attribute("name") == Some(header_type) => self.read_header(node)?,
                    // Standard composites (group and var data dimensions) that no message uses:
                    // a field naming one is refused in `resolve`.
                    "composite" => {}
                    other => return Err(format!("{}: <{other}> is not supported", at(node))),
                }
            }
        }
        if self.header.is_empty() {
            return Err(format!("no <composite name=\"{header_type}\"> header"));
        }
        unique(self.simple_types.iter().map(|t| &t.name).chain(self.enums.iter().map(|e| &e.name)), "type name")
    }

    fn read_header(&mut self, node: Node) -> Result<()> {
        only(node, &["name", "description"])?;
        for field in elements(node) {
            only(field, &["name", "primitiveType", "description"])?;
            let name = attribute(field, "name")?;
            if !HEADER_FIELDS.contains(&name) || attribute(field, "primitiveType")? != "uint16" {
                return Err(format!("{}: the header holds exactly {HEADER_FIELDS:?}, all uint16", at(field)));
            }
            self.header.push((snake_case(name), self.header_length));
            self.header_length += Primitive::U16.size();
        }
        if self.header.len() != HEADER_FIELDS.len() {
            return Err(format!("{}: the header holds exactly {HEADER_FIELDS:?}", at(node)));
        }
        unique(self.header.iter().map(|(name, _)| name), "header field")
    }

    fn read_messages(&mut self, root: Node) -> Result<()> {
        for node in elements(root).filter(|node| node.tag_name().name() == "message") {
            let message = self.message(node)?;
            self.messages.push(message);
        }
        if self.messages.is_empty() {
            return Err("the schema has no messages".into());
        }
        unique(self.messages.iter().map(|m| &m.name), "message name")?;
        unique(self.messages.iter().map(|m| &m.id), "template id")
    }

    fn message(&self, node: Node) -> Result<Message> {
        only(node, &["name", "id", "description", "semanticType"])?;
        let mut fields: Vec<Field> = Vec::new();
        let mut field_ids = Vec::new();
        for child in elements(node) {
            if child.tag_name().name() != "field" {
                return Err(format!("{}: only fixed-size fields are supported", at(child)));
            }
            let offset = fields.last().map_or(0, |last| last.offset + last.primitive.size());
            field_ids.push(number::<u16>(child, "id")?);
            fields.push(self.field(child, offset)?);
        }
        let name = identifier(node, "name")?;
        unique(fields.iter().map(|f| &f.name), &format!("field name in {name}"))?;
        unique(field_ids.iter(), &format!("field id in {name}"))?;
        if fields.windows(2).any(|pair| pair[1].since_version < pair[0].since_version) {
            return Err(format!("{}: fields may only be added at the end of the block", at(node)));
        }
        let block_length = fields.last().map_or(0, |last| last.offset + last.primitive.size());
        if block_length > usize::from(u16::MAX) {
            return Err(format!("{}: the block is longer than a uint16 blockLength", at(node)));
        }
        Ok(Message { name, id: number(node, "id")?, description: description(node)?, fields, block_length })
    }

    fn field(&self, node: Node, offset: usize) -> Result<Field> {
        only(node, &["name", "id", "type", "description", "presence", "sinceVersion", "semanticType"])?;
        let xml_name = identifier(node, "name")?;
        let name = snake_case(&xml_name);
        if RESERVED.contains(&name.as_str()) || RESERVED.contains(&xml_name.as_str()) {
            return Err(format!("{}: {xml_name} is a keyword in a language SBE generates", at(node)));
        }
        let since_version = node.attribute("sinceVersion").map_or(Ok(0), |_| number(node, "sinceVersion"))?;
        let optional = presence(node)?;
        let (rust_type, primitive, is_enum, type_null) = match self.resolve(node, attribute(node, "type")?)? {
            TypeRef::Primitive(p) => (p.rust().to_string(), p, false, optional.then(|| p.default_null())),
            TypeRef::Simple(t) => {
                (t.name.clone(), t.primitive, false, t.null.or(optional.then(|| t.primitive.default_null())))
            }
            TypeRef::Enum(e) => (e.name.clone(), e.primitive, true, optional.then_some(e.null)),
        };
        let field = Field {
            xml_name,
            name,
            description: description(node)?,
            rust_type,
            primitive,
            is_enum,
            offset,
            null: type_null,
            since_version,
        };
        self.check_versioning(node, &field)?;
        Ok(field)
    }

    /// A field added after the first version must be optional: older messages lack it, and
    /// decode it as null.
    fn check_versioning(&self, node: Node, field: &Field) -> Result<()> {
        if field.since_version > self.version {
            return Err(format!("{}: sinceVersion is above the schema version", at(node)));
        }
        if field.since_version > 0 && field.null.is_none() {
            return Err(format!("{}: a field with sinceVersion must be optional", at(node)));
        }
        Ok(())
    }

    fn resolve(&self, node: Node, name: &str) -> Result<TypeRef<'_>> {
        if let Some(primitive) = Primitive::from_sbe(name) {
            return Ok(TypeRef::Primitive(primitive));
        }
        if let Some(simple) = self.simple_types.iter().find(|t| t.name == name) {
            return Ok(TypeRef::Simple(simple));
        }
        if let Some(enumeration) = self.enums.iter().find(|e| e.name == name) {
            return Ok(TypeRef::Enum(enumeration));
        }
        Err(format!("{}: type {name} is not a primitive, simple type or enum of this schema", at(node)))
    }
}

fn simple_type(node: Node) -> Result<SimpleType> {
    only(node, &["name", "primitiveType", "description", "presence", "nullValue", "semanticType"])?;
    let primitive = primitive(node, "primitiveType")?;
    let optional = presence(node)?;
    let null = match (optional, node.attribute("nullValue")) {
        (true, Some(text)) => Some(primitive.parse_value(text).map_err(|e| format!("{}: {e}", at(node)))?),
        (true, None) => Some(primitive.default_null()),
        (false, Some(_)) => return Err(format!("{}: nullValue needs presence=\"optional\"", at(node))),
        (false, None) => None,
    };
    Ok(SimpleType { name: identifier(node, "name")?, primitive, description: description(node)?, null })
}

fn enum_type(node: Node) -> Result<EnumType> {
    only(node, &["name", "encodingType", "description", "semanticType"])?;
    let primitive = primitive(node, "encodingType")?;
    if !matches!(primitive, Primitive::U8 | Primitive::U16) {
        return Err(format!("{}: an enum's encodingType must be uint8 or uint16", at(node)));
    }
    let mut values = Vec::new();
    for value in elements(node) {
        only(value, &["name", "description"])?;
        let text = value.text().unwrap_or_default();
        let parsed = primitive.parse_value(text).map_err(|e| format!("{}: {e}", at(value)))?;
        if parsed == primitive.default_null() {
            return Err(format!("{}: {parsed} is reserved for null", at(value)));
        }
        values.push(ValidValue { name: identifier(value, "name")?, value: parsed, description: description(value)? });
    }
    let name = identifier(node, "name")?;
    if values.is_empty() {
        return Err(format!("{}: enum {name} has no values", at(node)));
    }
    unique(values.iter().map(|v| &v.name), &format!("value name in {name}"))?;
    unique(values.iter().map(|v| &v.value), &format!("value in {name}"))?;
    Ok(EnumType { name, primitive, description: description(node)?, values, null: primitive.default_null() })
}

/// Whether the node is optional; constants are not supported.
fn presence(node: Node) -> Result<bool> {
    match node.attribute("presence").unwrap_or("required") {
        "required" => Ok(false),
        "optional" => Ok(true),
        other => Err(format!("{}: presence {other:?} is not supported", at(node))),
    }
}

fn primitive(node: Node, attribute_name: &str) -> Result<Primitive> {
    let name = attribute(node, attribute_name)?;
    Primitive::from_sbe(name).ok_or_else(|| format!("{}: {name} is not a supported integer type", at(node)))
}

fn elements<'a, 'input>(node: Node<'a, 'input>) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children().filter(Node::is_element)
}

fn attribute<'a>(node: Node<'a, '_>, name: &str) -> Result<&'a str> {
    node.attribute(name).ok_or_else(|| format!("{}: attribute {name} is missing", at(node)))
}

fn number<T: std::str::FromStr>(node: Node, name: &str) -> Result<T> {
    let text = attribute(node, name)?;
    text.parse().map_err(|_| format!("{}: {name}={text:?} is out of range", at(node)))
}

/// Every message, field, type and value documents itself.
fn description(node: Node) -> Result<String> {
    match attribute(node, "description")?.trim() {
        "" => Err(format!("{}: the description is empty", at(node))),
        text => Ok(text.to_string()),
    }
}

/// An attribute that becomes part of a Rust identifier.
fn identifier(node: Node, name: &str) -> Result<String> {
    let text = attribute(node, name)?;
    let mut chars = text.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric());
    if !valid || text == "Self" {
        return Err(format!("{}: {name}={text:?} is not a valid identifier", at(node)));
    }
    Ok(text.to_string())
}

/// Refuses attributes the generator does not implement, rather than ignoring their meaning.
fn only(node: Node, allowed: &[&str]) -> Result<()> {
    match node.attributes().find(|a| a.namespace().is_none() && !allowed.contains(&a.name())) {
        Some(unsupported) => Err(format!("{}: attribute {} is not supported", at(node), unsupported.name())),
        None => Ok(()),
    }
}

fn unique<T: PartialEq + std::fmt::Debug>(items: impl Iterator<Item = T>, what: &str) -> Result<()> {
    let items: Vec<T> = items.collect();
    match items.iter().enumerate().find(|(i, item)| items[..*i].contains(item)) {
        Some((_, duplicate)) => Err(format!("duplicate {what}: {duplicate:?}")),
        None => Ok(()),
    }
}

/// Where a node is, for error messages.
fn at(node: Node) -> String {
    let position = node.document().text_pos_at(node.range().start);
    let name = node.attribute("name").map(|name| format!(" {name}")).unwrap_or_default();
    format!("line {}: <{}{name}>", position.row, node.tag_name().name())
}

/// `clientOrderId` → `client_order_id`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
