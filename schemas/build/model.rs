//! The schema model: the XML parsed, checked and laid out. Every offset, size, null value and
//! template id the renderer emits is computed here from the XML alone.
//!
//! The generator supports the subset of SBE 1.0 the cex schema uses, and refuses the rest
//! with an error rather than silently mis-encoding it: blocks of integer, named simple, enum,
//! set and `uint8` array fields; optional fields with a null value; repeating groups of such
//! fields (`groupSizeEncoding`); variable-length data (`length` + `varData` composites) at
//! the message's top level; and `sinceVersion` on messages, fields, groups and data. No nested
//! groups, data inside groups, composites in messages, floats or constants.

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

/// Methods the generated code defines on decoders, entries and message structs; a field,
/// group or data element of the same name would collide with one.
const GENERATED_METHODS: &[&str] =
    &["version", "value", "value_in", "validate", "wrap", "encode", "encoded_length", "write", "get"];

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
    pub sets: Vec<SetType>,
    /// Repeating group dimension composites (`blockLength`, `numInGroup`).
    pub dimensions: Vec<Dimension>,
    /// Variable-length data composites (`length`, `varData`).
    pub var_types: Vec<VarType>,
    pub messages: Vec<Message>,
}

pub struct SimpleType {
    pub name: String,
    pub primitive: Primitive,
    pub description: String,
    /// The null value, for an optional type.
    pub null: Option<i128>,
    /// For a fixed-length array (`length` above 1, `uint8` only): its length.
    pub array: Option<usize>,
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

/// A bit set: each choice is one bit of the encoding type.
pub struct SetType {
    pub name: String,
    pub primitive: Primitive,
    pub description: String,
    pub choices: Vec<Choice>,
}

pub struct Choice {
    /// As in the XML (camelCase).
    pub name: String,
    pub description: String,
    /// Bit position, from 0.
    pub bit: u32,
}

/// A group's dimension composite: the entry block length and the entry count, both `uint16`.
#[derive(Clone)]
pub struct Dimension {
    pub name: String,
    pub block_length_offset: usize,
    pub num_in_group_offset: usize,
    pub length: usize,
}

/// A variable-length data composite: an unsigned length, then that many bytes.
#[derive(Clone)]
pub struct VarType {
    pub name: String,
    pub length_primitive: Primitive,
    /// The longest data the length may declare: `maxValue`, or the length type's maximum.
    pub max: u64,
    /// `characterEncoding="UTF-8"`: the data is text.
    pub utf8: bool,
}

pub struct Message {
    pub name: String,
    pub id: u16,
    pub description: String,
    /// The schema version that added the message; 0 for the first.
    pub since_version: u16,
    pub fields: Vec<Field>,
    pub block_length: usize,
    pub groups: Vec<Group>,
    pub data: Vec<VarData>,
}

impl Message {
    /// Header and block only: no groups, no data.
    pub fn is_fixed(&self) -> bool {
        self.groups.is_empty() && self.data.is_empty()
    }
}

/// A repeating group: a dimension, then `numInGroup` entries of `blockLength` bytes.
pub struct Group {
    /// As in the XML (camelCase).
    pub xml_name: String,
    /// As in Rust (snake_case): the message's accessor and struct field.
    pub name: String,
    /// The message name and the group name: `BookUpdateLevels`. The entry struct is this plus
    /// `Entry`, the iterator this plus `Decoder`.
    pub type_name: String,
    pub description: String,
    pub since_version: u16,
    pub dimension: Dimension,
    pub fields: Vec<Field>,
    pub block_length: usize,
}

/// A variable-length data element.
pub struct VarData {
    pub xml_name: String,
    pub name: String,
    pub description: String,
    pub since_version: u16,
    pub encoding: VarType,
}

/// The end of the last field present in `version`.
pub fn block_length_since(fields: &[Field], version: u16) -> usize {
    let present = fields.iter().filter(|field| field.since_version <= version);
    present.map(|field| field.offset + field.size).max().unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Integer,
    Enum,
    Set,
    /// A fixed-length `uint8` array of this length.
    Array(usize),
}

pub struct Field {
    /// As in the XML (camelCase).
    pub xml_name: String,
    /// As in Rust (snake_case).
    pub name: String,
    pub description: String,
    /// The Rust type of one value: a type alias, an enum, a set or a primitive.
    pub rust_type: String,
    /// The primitive of one element; `uint8` for an array.
    pub primitive: Primitive,
    pub kind: FieldKind,
    /// Offset in the block.
    pub offset: usize,
    /// Bytes on the wire.
    pub size: usize,
    /// The null value, for an optional field.
    pub null: Option<i128>,
    /// The version that added the field: its own `sinceVersion`, or its container's if later.
    pub since_version: u16,
}

/// What a field's `type` attribute names.
enum TypeRef<'s> {
    Primitive(Primitive),
    Simple(&'s SimpleType),
    Enum(&'s EnumType),
    Set(&'s SetType),
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
        schema.check_rust_names()?;
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
            sets: Vec::new(),
            dimensions: Vec::new(),
            var_types: Vec::new(),
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
                    "set" => self.sets.push(set_type(node)?),
                    "composite" if node.attribute("name") == Some(header_type) => self.read_header(node)?,
                    "composite" => self.composite(node)?,
                    other => return Err(format!("{}: <{other}> is not supported", at(node))),
                }
            }
        }
        if self.header.is_empty() {
            return Err(format!("no <composite name=\"{header_type}\"> header"));
        }
        Ok(())
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

    /// A group dimension or a var data composite; composites as field types are not supported.
    fn composite(&mut self, node: Node) -> Result<()> {
        only(node, &["name", "description", "semanticType"])?;
        let name = identifier(node, "name")?;
        let parts: Vec<Node> = elements(node).collect();
        let names: Vec<&str> = parts.iter().map(|part| part.attribute("name").unwrap_or_default()).collect();
        match names.as_slice() {
            ["blockLength", "numInGroup"] | ["numInGroup", "blockLength"] => {
                for part in &parts {
                    only(*part, &["name", "primitiveType", "description"])?;
                    if attribute(*part, "primitiveType")? != "uint16" {
                        return Err(format!("{}: a group dimension's parts must be uint16", at(*part)));
                    }
                }
                let offset_of = |part: &str| if names[0] == part { 0 } else { 2 };
                self.dimensions.push(Dimension {
                    name,
                    block_length_offset: offset_of("blockLength"),
                    num_in_group_offset: offset_of("numInGroup"),
                    length: 4,
                });
            }
            ["length", "varData"] => self.var_types.push(var_type(name, parts[0], parts[1])?),
            _ => {
                return Err(format!(
                    "{}: only the message header, group dimensions (blockLength, numInGroup) and var data \
                     (length, varData) composites are supported",
                    at(node)
                ))
            }
        }
        Ok(())
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
        only(node, &["name", "id", "description", "semanticType", "sinceVersion"])?;
        let name = identifier(node, "name")?;
        let since_version = self.since_version(node, 0)?;
        let (mut fields, mut groups, mut data) = (Vec::new(), Vec::new(), Vec::new());
        let mut ids = Vec::new();
        for child in elements(node) {
            let element = child.tag_name().name();
            match element {
                "field" if groups.is_empty() && data.is_empty() => {
                    let offset = fields.last().map_or(0, |last: &Field| last.offset + last.size);
                    fields.push(self.field(child, offset, since_version)?);
                }
                "group" if data.is_empty() => groups.push(self.group(child, &name, since_version)?),
                "data" => data.push(self.var_data(child, since_version)?),
                "field" | "group" => {
                    return Err(format!("{}: fields come first, then groups, then data", at(child)));
                }
                other => return Err(format!("{}: <{other}> is not supported", at(child))),
            }
            ids.push(number::<u16>(child, "id")?);
        }
        let names =
            fields.iter().map(|f| &f.name).chain(groups.iter().map(|g| &g.name)).chain(data.iter().map(|d| &d.name));
        unique(names, &format!("field, group or data name in {name}"))?;
        unique(ids.iter(), &format!("field, group or data id in {name}"))?;
        if fields.windows(2).any(|pair| pair[1].since_version < pair[0].since_version) {
            return Err(format!("{}: fields may only be added at the end of the block", at(node)));
        }
        // Groups and data are read in sequence: a decoder of an older version stops where its
        // parts end, so anything added later must come after everything older.
        let parts: Vec<u16> =
            groups.iter().map(|g| g.since_version).chain(data.iter().map(|d| d.since_version)).collect();
        if parts.windows(2).any(|pair| pair[1] < pair[0]) {
            return Err(format!(
                "{}: groups and data may only be added at the end of the message (a group cannot be added \
                 to a message that already has data)",
                at(node)
            ));
        }
        let block_length = block_length_since(&fields, u16::MAX);
        if block_length > usize::from(u16::MAX) {
            return Err(format!("{}: the block is longer than a uint16 blockLength", at(node)));
        }
        Ok(Message {
            name,
            id: number(node, "id")?,
            description: description(node)?,
            since_version,
            fields,
            block_length,
            groups,
            data,
        })
    }

    fn group(&self, node: Node, message: &str, container_since: u16) -> Result<Group> {
        only(node, &["name", "id", "description", "dimensionType", "sinceVersion", "semanticType"])?;
        let xml_name = self.part_name(node)?;
        let dimension_name = node.attribute("dimensionType").unwrap_or("groupSizeEncoding");
        let dimension = self.dimensions.iter().find(|d| d.name == dimension_name).cloned().ok_or_else(|| {
            format!("{}: dimensionType {dimension_name} is not a (blockLength, numInGroup) composite", at(node))
        })?;
        let since_version = self.since_version(node, container_since)?;
        let mut fields: Vec<Field> = Vec::new();
        let mut ids = Vec::new();
        for child in elements(node) {
            if child.tag_name().name() != "field" {
                return Err(format!("{}: nested groups and data inside a group are not supported", at(child)));
            }
            let offset = fields.last().map_or(0, |last| last.offset + last.size);
            ids.push(number::<u16>(child, "id")?);
            fields.push(self.field(child, offset, since_version)?);
        }
        unique(fields.iter().map(|f| &f.name), &format!("field name in group {xml_name}"))?;
        unique(ids.iter(), &format!("field id in group {xml_name}"))?;
        if fields.windows(2).any(|pair| pair[1].since_version < pair[0].since_version) {
            return Err(format!("{}: fields may only be added at the end of an entry", at(node)));
        }
        let block_length = block_length_since(&fields, u16::MAX);
        if block_length > usize::from(u16::MAX) {
            return Err(format!("{}: the entry is longer than a uint16 blockLength", at(node)));
        }
        Ok(Group {
            name: snake_case(&xml_name),
            type_name: format!("{message}{}", upper_camel(&xml_name)),
            xml_name,
            description: description(node)?,
            since_version,
            dimension,
            fields,
            block_length,
        })
    }

    fn var_data(&self, node: Node, container_since: u16) -> Result<VarData> {
        only(node, &["name", "id", "type", "description", "sinceVersion", "semanticType"])?;
        let xml_name = self.part_name(node)?;
        let type_name = attribute(node, "type")?;
        let encoding =
            self.var_types.iter().find(|t| t.name == type_name).cloned().ok_or_else(|| {
                format!("{}: type {type_name} is not a var data composite (length, varData)", at(node))
            })?;
        Ok(VarData {
            name: snake_case(&xml_name),
            xml_name,
            description: description(node)?,
            since_version: self.since_version(node, container_since)?,
            encoding,
        })
    }

    /// The `sinceVersion` of an element, at least its container's, at most the schema's.
    fn since_version(&self, node: Node, container_since: u16) -> Result<u16> {
        let own: u16 = node.attribute("sinceVersion").map_or(Ok(0), |_| number(node, "sinceVersion"))?;
        if own > self.version {
            return Err(format!("{}: sinceVersion is above the schema version", at(node)));
        }
        Ok(own.max(container_since))
    }

    /// The name of a field, group or data element: an identifier that is no keyword and no
    /// generated method.
    fn part_name(&self, node: Node) -> Result<String> {
        let xml_name = identifier(node, "name")?;
        let name = snake_case(&xml_name);
        if RESERVED.contains(&name.as_str()) || RESERVED.contains(&xml_name.as_str()) {
            return Err(format!("{}: {xml_name} is a keyword in a language SBE generates", at(node)));
        }
        if GENERATED_METHODS.contains(&name.as_str()) {
            return Err(format!("{}: {xml_name} collides with a generated method", at(node)));
        }
        Ok(xml_name)
    }

    fn field(&self, node: Node, offset: usize, container_since: u16) -> Result<Field> {
        only(node, &["name", "id", "type", "description", "presence", "sinceVersion", "semanticType"])?;
        let xml_name = self.part_name(node)?;
        let name = snake_case(&xml_name);
        let since_version = self.since_version(node, container_since)?;
        let optional = presence(node)?;
        let (rust_type, primitive, kind, null) = match self.resolve(node, attribute(node, "type")?)? {
            TypeRef::Primitive(p) => (p.rust().to_string(), p, FieldKind::Integer, optional.then(|| p.default_null())),
            TypeRef::Simple(t) if t.array.is_some() => {
                if optional {
                    return Err(format!("{}: an array field cannot be optional", at(node)));
                }
                (t.name.clone(), t.primitive, FieldKind::Array(t.array.unwrap_or_default()), None)
            }
            TypeRef::Simple(t) => (
                t.name.clone(),
                t.primitive,
                FieldKind::Integer,
                t.null.or(optional.then(|| t.primitive.default_null())),
            ),
            TypeRef::Enum(e) => (e.name.clone(), e.primitive, FieldKind::Enum, optional.then_some(e.null)),
            TypeRef::Set(s) => {
                if optional {
                    return Err(format!("{}: a set field cannot be optional", at(node)));
                }
                (s.name.clone(), s.primitive, FieldKind::Set, None)
            }
        };
        let size = match kind {
            FieldKind::Array(length) => length,
            _ => primitive.size(),
        };
        let field = Field {
            xml_name,
            name,
            description: description(node)?,
            rust_type,
            primitive,
            kind,
            offset,
            size,
            null,
            since_version,
        };
        // A field added after its container must be optional: older messages lack it, and
        // decode it as null.
        if field.since_version > container_since && field.null.is_none() {
            return Err(format!("{}: a field with sinceVersion must be optional", at(node)));
        }
        Ok(field)
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
        if let Some(set) = self.sets.iter().find(|s| s.name == name) {
            return Ok(TypeRef::Set(set));
        }
        Err(format!("{}: type {name} is not a primitive, simple type, enum or set of this schema", at(node)))
    }

    /// Every Rust item the renderer emits has a distinct name.
    fn check_rust_names(&self) -> Result<()> {
        let mut names: Vec<String> = Vec::new();
        names.extend(self.simple_types.iter().map(|t| t.name.clone()));
        names.extend(self.enums.iter().map(|t| t.name.clone()));
        names.extend(self.sets.iter().map(|t| t.name.clone()));
        names.extend(self.dimensions.iter().map(|t| t.name.clone()));
        names.extend(self.var_types.iter().map(|t| t.name.clone()));
        for message in &self.messages {
            names.push(message.name.clone());
            names.push(format!("{}Decoder", message.name));
            for group in &message.groups {
                for suffix in ["Entry", "Decoder", "EntryDecoder"] {
                    names.push(format!("{}{suffix}", group.type_name));
                }
            }
        }
        unique(names.iter(), "type name")
    }
}

fn simple_type(node: Node) -> Result<SimpleType> {
    only(node, &["name", "primitiveType", "description", "presence", "nullValue", "semanticType", "length"])?;
    let primitive = primitive(node, "primitiveType")?;
    let optional = presence(node)?;
    let null = match (optional, node.attribute("nullValue")) {
        (true, Some(text)) => Some(primitive.parse_value(text).map_err(|e| format!("{}: {e}", at(node)))?),
        (true, None) => Some(primitive.default_null()),
        (false, Some(_)) => return Err(format!("{}: nullValue needs presence=\"optional\"", at(node))),
        (false, None) => None,
    };
    let length: usize = node.attribute("length").map_or(Ok(1), |_| number(node, "length"))?;
    let array = match length {
        1 => None,
        0 => return Err(format!("{}: length 0 is only for varData in a var data composite", at(node))),
        _ if primitive != Primitive::U8 || optional => {
            return Err(format!("{}: only required uint8 arrays are supported", at(node)));
        }
        length => Some(length),
    };
    Ok(SimpleType { name: identifier(node, "name")?, primitive, description: description(node)?, null, array })
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

fn set_type(node: Node) -> Result<SetType> {
    only(node, &["name", "encodingType", "description", "semanticType"])?;
    let primitive = primitive(node, "encodingType")?;
    if primitive.signed() {
        return Err(format!("{}: a set's encodingType must be unsigned", at(node)));
    }
    let mut choices = Vec::new();
    for choice in elements(node) {
        only(choice, &["name", "description"])?;
        let text = choice.text().unwrap_or_default().trim();
        let bit: u32 = text.parse().map_err(|_| format!("{}: {text:?} is not a bit position", at(choice)))?;
        if bit >= primitive.size() as u32 * 8 {
            return Err(format!("{}: bit {bit} does not fit {}", at(choice), primitive.rust()));
        }
        let name = identifier(choice, "name")?;
        if GENERATED_METHODS.contains(&snake_case(&name).as_str()) || RESERVED.contains(&snake_case(&name).as_str()) {
            return Err(format!("{}: choice {name} collides with a keyword or a generated method", at(choice)));
        }
        choices.push(Choice { name, description: description(choice)?, bit });
    }
    let name = identifier(node, "name")?;
    if choices.is_empty() {
        return Err(format!("{}: set {name} has no choices", at(node)));
    }
    unique(choices.iter().map(|c| snake_case(&c.name)), &format!("choice name in {name}"))?;
    unique(choices.iter().map(|c| c.bit), &format!("bit in {name}"))?;
    Ok(SetType { name, primitive, description: description(node)?, choices })
}

/// A var data composite: `length`, an unsigned integer with an optional `maxValue`, then
/// `varData`, `uint8` with `length="0"` and optionally `characterEncoding="UTF-8"`.
fn var_type(name: String, length: Node, data: Node) -> Result<VarType> {
    only(length, &["name", "primitiveType", "maxValue", "description"])?;
    only(data, &["name", "primitiveType", "length", "characterEncoding", "description"])?;
    let length_primitive = primitive(length, "primitiveType")?;
    if !matches!(length_primitive, Primitive::U8 | Primitive::U16 | Primitive::U32) {
        return Err(format!("{}: a var data length must be uint8, uint16 or uint32", at(length)));
    }
    let type_max = length_primitive.range().1 as u64;
    let max = match length.attribute("maxValue") {
        Some(text) => {
            let value = length_primitive.parse_value(text).map_err(|e| format!("{}: {e}", at(length)))?;
            value as u64
        }
        None => type_max,
    };
    if attribute(data, "primitiveType")? != "uint8" || attribute(data, "length")? != "0" {
        return Err(format!("{}: varData must be uint8 with length=\"0\"", at(data)));
    }
    let utf8 = match data.attribute("characterEncoding") {
        None => false,
        Some(encoding) if encoding.eq_ignore_ascii_case("UTF-8") => true,
        Some(other) => return Err(format!("{}: characterEncoding {other:?} is not supported (UTF-8 only)", at(data))),
    };
    Ok(VarType { name, length_primitive, max, utf8 })
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

/// `quotes` → `Quotes`.
pub fn upper_camel(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}
