//! Answers a RetransmitRequest from the event journal: the account's responses of a range of
//! journal sequences, with their original txids.

use std::path::Path;

use cex_engine::{AccountId, Event};
use cex_gateway_protocol::{Response, ResponseMapper};
use cex_journal::{decode_events_into, JournalReader};

/// The journal sequences a request may scan, or why it is refused.
pub fn checked_range(from_txid: u64, count: u32, last_txid: u64, max_count: u32) -> Result<(u64, u64), String> {
    if count == 0 {
        return Err("count must be at least 1".into());
    }
    if count > max_count {
        return Err(format!("count {count} is above the gateway's limit, {max_count}"));
    }
    if from_txid == 0 || from_txid > last_txid {
        return Err(format!("fromTxid {from_txid} is outside 1..={last_txid}, the journal before this session"));
    }
    let to_txid = from_txid.saturating_add(u64::from(count) - 1).min(last_txid);
    Ok((from_txid, to_txid))
}

/// Reads journal sequences `from..=to` from `events_dir` and passes `account`'s responses to
/// `emit`, in order. A fresh mapper reads the range: orders accepted before `from` are
/// reported with client order id 0 (docs/BINARY_PROTOCOL.md, "Responses").
pub fn scan(
    events_dir: &Path,
    account: AccountId,
    from: u64,
    to: u64,
    mut emit: impl FnMut(&Response),
) -> Result<(), String> {
    let mut reader = JournalReader::open(events_dir, from).map_err(|error| error.to_string())?;
    let mut mapper = ResponseMapper::new(account);
    let mut events: Vec<Event> = Vec::new();
    let mut expected = from;
    while expected <= to {
        let record = reader.try_next().map_err(|error| error.to_string())?;
        let record = record.ok_or_else(|| format!("journal sequence {expected} is not in the journal"))?;
        if record.seq != expected {
            return Err(format!("journal sequence {expected} is no longer in the journal (found {})", record.seq));
        }
        events.clear();
        decode_events_into(record.payload, &mut events)
            .map_err(|error| format!("journal sequence {expected} does not decode: {error}"))?;
        for event in &events {
            mapper.map(event, |response| emit(&response)).map_err(|error| error.to_string())?;
        }
        expected += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_capped_at_the_sessions_start_and_refused_outside_it() {
        assert_eq!(checked_range(5, 10, 100, 1_000), Ok((5, 14)));
        assert_eq!(checked_range(95, 10, 100, 1_000), Ok((95, 100)), "capped at lastTxid");
        assert_eq!(checked_range(1, 1, 1, 1), Ok((1, 1)));
        assert!(checked_range(0, 10, 100, 1_000).is_err(), "sequences start at 1");
        assert!(checked_range(101, 1, 100, 1_000).is_err(), "live, not retransmitted");
        assert!(checked_range(1, 0, 100, 1_000).is_err());
        assert!(checked_range(1, 1_001, 100_000, 1_000).is_err());
        assert_eq!(checked_range(u64::MAX - 1, u32::MAX, u64::MAX, u32::MAX), Ok((u64::MAX - 1, u64::MAX)));
    }
}
