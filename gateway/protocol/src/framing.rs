//! The Simple Open Framing Header (FIX SOFH 1.0) around each SBE message on a byte stream:
//!
//! ```text
//! offset 0  message_length  u32 big-endian   the whole frame: these 6 bytes and the SBE message
//! offset 4  encoding_type   u16 big-endian   0x5BE0: SBE 1.0, little-endian
//! offset 6  the SBE message (its 8-byte header, block, groups and data)
//! ```
//!
//! A frame error leaves no trustworthy boundary for the next frame, so a receiver answers it
//! by closing the connection; an error inside a well-framed message is answered with a
//! SessionReject and the stream goes on.

use std::fmt;

use cex_schema::{codec, EncodeError};

/// Bytes of the framing header.
pub const FRAME_HEADER_LENGTH: usize = 6;
/// The encoding type of SBE 1.0 little-endian messages.
pub const SBE_1_0_LITTLE_ENDIAN: u16 = 0x5BE0;
/// The shortest frame: the framing header and an SBE message header.
pub const MIN_FRAME_LENGTH: usize = FRAME_HEADER_LENGTH + codec::HEADER_LENGTH;
/// The longest frame a gateway accepts from a client unless configured otherwise. The longest
/// client message is a MassQuoteRequest: 113 quotes fit.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = 4096;

/// Why a byte stream cannot be framed. The stream has no known next boundary after any of
/// these: close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The declared frame length is below [`MIN_FRAME_LENGTH`].
    TooShort { length: usize },
    /// The declared frame length is above the decoder's maximum.
    TooLong { length: usize, max: usize },
    /// The encoding type is not [`SBE_1_0_LITTLE_ENDIAN`].
    UnknownEncoding(u16),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooShort { length } => {
                write!(f, "frame length {length} is shorter than the minimum, {MIN_FRAME_LENGTH}")
            }
            FrameError::TooLong { length, max } => write!(f, "frame length {length} is above the maximum, {max}"),
            FrameError::UnknownEncoding(encoding) => {
                write!(f, "encoding type {encoding:#06x} is not SBE 1.0 little-endian ({SBE_1_0_LITTLE_ENDIAN:#06x})")
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// One complete frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The SBE message: the frame without its framing header.
    pub message: &'a [u8],
    /// Bytes of the whole frame, framing header included.
    pub length: usize,
}

/// Finds frames in a byte stream, refusing any longer than a maximum before its bytes arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameDecoder {
    max_frame_length: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_FRAME_LENGTH)
    }
}

impl FrameDecoder {
    /// A decoder refusing frames longer than `max_frame_length` bytes, framing header
    /// included. The maximum is raised to [`MIN_FRAME_LENGTH`] and lowered to `u32::MAX`.
    pub fn new(max_frame_length: usize) -> Self {
        let max_frame_length = max_frame_length.clamp(MIN_FRAME_LENGTH, u32::MAX as usize);
        FrameDecoder { max_frame_length }
    }

    pub fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }

    /// The frame at the start of `bytes`; `Ok(None)` while it is incomplete. The length and the
    /// encoding type are checked as soon as their bytes are there, so an oversized or foreign
    /// frame is refused without waiting for (or buffering) its body.
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Result<Option<Frame<'a>>, FrameError> {
        let Some(length) = bytes.first_chunk::<4>() else {
            return Ok(None);
        };
        let length = u32::from_be_bytes(*length) as usize;
        if length < MIN_FRAME_LENGTH {
            return Err(FrameError::TooShort { length });
        }
        if length > self.max_frame_length {
            return Err(FrameError::TooLong { length, max: self.max_frame_length });
        }
        let Some(encoding) = bytes.get(4..FRAME_HEADER_LENGTH) else {
            return Ok(None);
        };
        let encoding = u16::from_be_bytes([encoding[0], encoding[1]]);
        if encoding != SBE_1_0_LITTLE_ENDIAN {
            return Err(FrameError::UnknownEncoding(encoding));
        }
        Ok(bytes.get(FRAME_HEADER_LENGTH..length).map(|message| Frame { message, length }))
    }

    /// The complete frames at the start of `bytes`, in order. The iterator stops at the first
    /// incomplete frame, or after yielding an error; [`Frames::consumed`] then tells how many
    /// bytes the complete frames took.
    pub fn frames<'a>(&self, bytes: &'a [u8]) -> Frames<'a> {
        Frames { decoder: *self, bytes, consumed: 0, failed: false }
    }
}

/// The complete frames of a byte slice; see [`FrameDecoder::frames`].
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    decoder: FrameDecoder,
    bytes: &'a [u8],
    consumed: usize,
    failed: bool,
}

impl Frames<'_> {
    /// Bytes of the frames yielded so far.
    pub fn consumed(&self) -> usize {
        self.consumed
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let rest = self.bytes.get(self.consumed..).unwrap_or_default();
        match self.decoder.decode(rest) {
            Ok(Some(frame)) => {
                self.consumed += frame.length;
                Some(Ok(frame))
            }
            Ok(None) => None,
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

/// A receive buffer: bytes go in as they arrive, complete frames come out. It holds at most
/// one incomplete frame, which the decoder's maximum bounds.
#[derive(Debug, Clone, Default)]
pub struct FrameBuffer {
    decoder: FrameDecoder,
    bytes: Vec<u8>,
    start: usize,
}

impl FrameBuffer {
    pub fn new(decoder: FrameDecoder) -> Self {
        FrameBuffer { decoder, bytes: Vec::new(), start: 0 }
    }

    /// Appends received bytes, first dropping the frames already taken.
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        self.bytes.extend_from_slice(bytes);
    }

    /// The next complete frame's SBE message; `Ok(None)` until one is complete. After an error
    /// the buffer is of no further use.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let Some(frame) = self.decoder.decode(&self.bytes[self.start..])? else {
            return Ok(None);
        };
        let message_at = self.start + FRAME_HEADER_LENGTH;
        self.start += frame.length;
        Ok(Some(&self.bytes[message_at..self.start]))
    }

    /// Bytes received and not yet taken as frames.
    pub fn buffered(&self) -> usize {
        self.bytes.len() - self.start
    }
}

/// Writes the framing header of a frame whose SBE message is `message_length` bytes at the
/// start of `buf`.
pub fn write_frame_header(buf: &mut [u8], message_length: usize) -> Result<(), EncodeError> {
    let available = buf.len();
    let header = buf
        .get_mut(..FRAME_HEADER_LENGTH)
        .ok_or(EncodeError::BufferTooSmall { needed: FRAME_HEADER_LENGTH, available })?;
    let length = message_length.saturating_add(FRAME_HEADER_LENGTH);
    let length = u32::try_from(length).map_err(|_| EncodeError::DataTooLong {
        field: "frame",
        length,
        max: u64::from(u32::MAX),
    })?;
    header[..4].copy_from_slice(&length.to_be_bytes());
    header[4..].copy_from_slice(&SBE_1_0_LITTLE_ENDIAN.to_be_bytes());
    Ok(())
}

/// Writes a frame at the start of `buf`: `encode` writes the SBE message after the framing
/// header and returns its length (a generated `encode`, for instance). Returns the frame's
/// length.
///
/// ```
/// use cex_gateway_protocol::{codec, encode_frame, FrameDecoder};
///
/// let mut buf = [0u8; 64];
/// let length = encode_frame(&mut buf, |message| codec::Heartbeat {}.encode(message)).unwrap();
/// let frame = FrameDecoder::default().decode(&buf[..length]).unwrap().unwrap();
/// assert!(matches!(codec::MessageDecoder::decode(frame.message), Ok(codec::MessageDecoder::Heartbeat(_))));
/// ```
pub fn encode_frame(
    buf: &mut [u8],
    encode: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
) -> Result<usize, EncodeError> {
    let available = buf.len();
    let message = buf
        .get_mut(FRAME_HEADER_LENGTH..)
        .ok_or(EncodeError::BufferTooSmall { needed: FRAME_HEADER_LENGTH, available })?;
    let message_length = encode(message).map_err(|error| match error {
        EncodeError::BufferTooSmall { needed, available } => EncodeError::BufferTooSmall {
            needed: needed + FRAME_HEADER_LENGTH,
            available: available + FRAME_HEADER_LENGTH,
        },
        other => other,
    })?;
    write_frame_header(buf, message_length)?;
    Ok(FRAME_HEADER_LENGTH + message_length)
}
