//! The binary op file: a 128-byte header, then the prefill and the timed ops as 64-byte
//! little-endian records. Reading validates everything, so a damaged or foreign file is an
//! error, never a panic.
//!
//! Header: magic `CEXOPS01`, version u32, profile u8 (b'A'..b'D'), 3 reserved bytes,
//! symbols u32, accounts u32, max_live_orders u32, replays u32, prefill count u64, op count
//! u64, expected trades u64, volume u64, depth hash u64, state hash u64, zero padding.
//! Record: seq u64, order_id u64, target_order_id u64, price_ticks i64, qty_lots i64,
//! account u32, symbol u32, kind u8, side u8 (0 buy, 1 sell), 14 reserved bytes.

use std::io::{self, Read, Write};

use crate::op::{Op, OpKind, OpSide};
use crate::workload::{Expected, Profile, Workload};

const MAGIC: &[u8; 8] = b"CEXOPS01";
const VERSION: u32 = 1;
const HEADER_BYTES: usize = 128;
pub const RECORD_BYTES: usize = 64;
/// Refuse headers that promise more records than any profile makes.
const MAX_RECORDS: u64 = 1 << 32;

pub fn write(workload: &Workload, out: &mut impl Write) -> io::Result<()> {
    let mut header = Vec::with_capacity(HEADER_BYTES);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&[workload.profile.letter() as u8, 0, 0, 0]);
    for value in [workload.symbols, workload.accounts, workload.max_live_orders, workload.replays] {
        header.extend_from_slice(&value.to_le_bytes());
    }
    let expected = workload.expected;
    let counts = [workload.prefill.len() as u64, workload.ops.len() as u64];
    for value in
        counts.into_iter().chain([expected.trades, expected.volume_lots, expected.depth_hash, expected.state_hash])
    {
        header.extend_from_slice(&value.to_le_bytes());
    }
    header.resize(HEADER_BYTES, 0);
    out.write_all(&header)?;
    for op in workload.prefill.iter().chain(&workload.ops) {
        out.write_all(&encode(op))?;
    }
    out.flush()
}

fn encode(op: &Op) -> [u8; RECORD_BYTES] {
    let mut record = [0u8; RECORD_BYTES];
    let words = [op.seq, op.order_id, op.target_order_id, op.price_ticks as u64, op.qty_lots as u64];
    for (index, word) in words.iter().enumerate() {
        record[index * 8..index * 8 + 8].copy_from_slice(&word.to_le_bytes());
    }
    record[40..44].copy_from_slice(&op.account.to_le_bytes());
    record[44..48].copy_from_slice(&op.symbol.to_le_bytes());
    record[48] = op.kind as u8;
    record[49] = (op.side == OpSide::Sell) as u8;
    record
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let field = self.bytes[self.at..self.at + N].try_into().expect("field within the header");
        self.at += N;
        field
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

pub fn read(input: &mut impl Read) -> io::Result<Workload> {
    let mut header = [0u8; HEADER_BYTES];
    input.read_exact(&mut header)?;
    let mut fields = Fields { bytes: &header, at: 0 };
    if &fields.take::<8>() != MAGIC {
        return Err(invalid("not a cex op file (bad magic)".into()));
    }
    let version = fields.u32();
    if version != VERSION {
        return Err(invalid(format!("op file version {version}, expected {VERSION}")));
    }
    let [letter, ..] = fields.take::<4>();
    let profile = Profile::parse(&(letter as char).to_string()).ok_or_else(|| invalid("unknown profile".into()))?;
    let (symbols, accounts, max_live_orders, replays) = (fields.u32(), fields.u32(), fields.u32(), fields.u32());
    let (prefill_count, op_count) = (fields.u64(), fields.u64());
    if prefill_count.saturating_add(op_count) > MAX_RECORDS || symbols == 0 || accounts == 0 || replays == 0 {
        return Err(invalid("implausible op file header".into()));
    }
    let expected = Expected {
        trades: fields.u64(),
        volume_lots: fields.u64(),
        depth_hash: fields.u64(),
        state_hash: fields.u64(),
    };
    let prefill = read_ops(input, prefill_count, symbols, accounts)?;
    let ops = read_ops(input, op_count, symbols, accounts)?;
    Ok(Workload { profile, symbols, accounts, max_live_orders, prefill, ops, replays, expected })
}

fn read_ops(input: &mut impl Read, count: u64, symbols: u32, accounts: u32) -> io::Result<Vec<Op>> {
    let mut ops = Vec::with_capacity(count.min(1 << 24) as usize);
    let mut record = [0u8; RECORD_BYTES];
    for _ in 0..count {
        input.read_exact(&mut record)?;
        ops.push(decode(&record, symbols, accounts)?);
    }
    Ok(ops)
}

fn decode(record: &[u8; RECORD_BYTES], symbols: u32, accounts: u32) -> io::Result<Op> {
    let word = |index: usize| u64::from_le_bytes(record[index * 8..index * 8 + 8].try_into().expect("8 bytes"));
    let account = u32::from_le_bytes(record[40..44].try_into().expect("4 bytes"));
    let symbol = u32::from_le_bytes(record[44..48].try_into().expect("4 bytes"));
    let kind = OpKind::from_u8(record[48]).ok_or_else(|| invalid(format!("unknown op kind {}", record[48])))?;
    let side = match record[49] {
        0 => OpSide::Buy,
        1 => OpSide::Sell,
        other => return Err(invalid(format!("unknown side {other}"))),
    };
    if account >= accounts || symbol >= symbols {
        return Err(invalid(format!("op names account {account} or symbol {symbol} outside the workload")));
    }
    let op = Op {
        kind,
        side,
        seq: word(0),
        order_id: word(1),
        target_order_id: word(2),
        price_ticks: word(3) as i64,
        qty_lots: word(4) as i64,
        account,
        symbol,
    };
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let workload = Workload::generate(Profile::A, 2_000, 1);
        let mut bytes = Vec::new();
        write(&workload, &mut bytes).unwrap();
        assert_eq!(bytes.len(), HEADER_BYTES + RECORD_BYTES * (workload.prefill.len() + workload.ops.len()));
        assert_eq!(read(&mut bytes.as_slice()).unwrap(), workload);
        let mut truncated = bytes.clone();
        truncated.truncate(bytes.len() - 10);
        assert!(read(&mut truncated.as_slice()).is_err());
        let mut bad_kind = bytes.clone();
        bad_kind[HEADER_BYTES + 48] = 9;
        assert!(read(&mut bad_kind.as_slice()).is_err());
        let mut bad_magic = bytes;
        bad_magic[0] = b'X';
        assert!(read(&mut bad_magic.as_slice()).is_err());
    }
}
