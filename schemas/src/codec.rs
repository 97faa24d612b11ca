//! The codecs generated from `cex.xml` by `build/` at build time: a struct per message whose
//! `encode` writes it, a `…Decoder` per message that reads it in place, the schema's enums and
//! named types, and `MessageDecoder`, which picks the message by template id.

include!(concat!(env!("OUT_DIR"), "/cex_codec.rs"));
