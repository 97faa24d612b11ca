//! Engine enums to and from the generated wire enums, by numeric value. `tests/schema.rs`
//! checks that both define the same names and values, so a failed conversion here means the
//! engine and `cex.xml` have drifted.

use cex_engine as engine;

use crate::codec;
use crate::{DecodeError, EncodeError};

pub(crate) trait Bridge: Sized {
    type Wire;
    fn to_wire(self) -> Result<Self::Wire, EncodeError>;
    fn from_wire(wire: Self::Wire) -> Result<Self, DecodeError>;
}

/// The wire value of an engine value.
pub(crate) fn wire<T: Bridge>(value: T) -> Result<T::Wire, EncodeError> {
    value.to_wire()
}

/// The engine value of a wire value.
pub(crate) fn native<T: Bridge>(wire: T::Wire) -> Result<T, DecodeError> {
    T::from_wire(wire)
}

/// For the engine's `wire_enum!` enums: `#[repr(u8)]` with `from_u8`.
macro_rules! bridge_u8 {
    ($($name:ident),+ $(,)?) => {$(
        impl Bridge for engine::$name {
            type Wire = codec::$name;

            fn to_wire(self) -> Result<codec::$name, EncodeError> {
                let value = self as u8;
                codec::$name::from_raw(value)
                    .ok_or(EncodeError::NotInSchema { enumeration: stringify!($name), value: value.into() })
            }

            fn from_wire(wire: codec::$name) -> Result<Self, DecodeError> {
                engine::$name::from_u8(wire.raw())
                    .ok_or(DecodeError::InvalidEnum { field: stringify!($name), value: wire.raw().into() })
            }
        }
    )+};
}

bridge_u8!(
    Side,
    OrderType,
    TimeInForce,
    SelfTradePrevention,
    SymbolStatus,
    AccountStatus,
    CancelReason,
    BalanceCause,
    CommandKind,
);

impl Bridge for engine::RejectReason {
    type Wire = codec::RejectReason;

    fn to_wire(self) -> Result<codec::RejectReason, EncodeError> {
        codec::RejectReason::from_raw(self.code())
            .ok_or(EncodeError::NotInSchema { enumeration: "RejectReason", value: self.code().into() })
    }

    fn from_wire(wire: codec::RejectReason) -> Result<Self, DecodeError> {
        engine::RejectReason::from_code(wire.raw())
            .ok_or(DecodeError::InvalidEnum { field: "RejectReason", value: wire.raw().into() })
    }
}

impl Bridge for bool {
    type Wire = codec::BooleanType;

    fn to_wire(self) -> Result<codec::BooleanType, EncodeError> {
        Ok(if self { codec::BooleanType::True } else { codec::BooleanType::False })
    }

    fn from_wire(wire: codec::BooleanType) -> Result<Self, DecodeError> {
        Ok(wire == codec::BooleanType::True)
    }
}
