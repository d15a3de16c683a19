//! Reading a room: a page of its messages by id, and what changed after a rev. Both
//! read sled directly, on the caller's (blocking) thread.

use sled::Tree;

use super::codec::{change_key, decode_entry, decode_u64, message_key, split_message_key};
use super::error::{StoreError, corrupt, sled_err};
use super::{Changes, PageQuery};
use crate::model::{RoomName, Stored};

/// Reads what [`Store::changes_since`] describes. Two ranges of keys, merged by rev:
/// the messages created after `since` that never changed (their rev is their id), and
/// the change entries after `since` (every changed message, at its current rev).
///
/// The caller holds the writer off (`Shared::hold_writer_off`), so sled is as it was after
/// some batch: every change of it is there whole, and no later one has begun. Read
/// any other way, a change made during the read could show while an earlier one does
/// not.
pub(super) fn read_changes(
    messages: &Tree,
    room: &RoomName,
    since: u64,
    limit: usize,
) -> Result<Changes, StoreError> {
    let read = sled_err("reading changes");
    let decode = |entry: sled::Result<(sled::IVec, sled::IVec)>| {
        let (key, value) = entry.map_err(&read)?;
        decode_entry(&key, &value)
    };
    let first = since.saturating_add(1);
    let mut created = messages
        .range(message_key(room, first)..=message_key(room, u64::MAX))
        .map(decode)
        .filter(|stored| !matches!(stored, Ok(stored) if stored.rev() != stored.id()))
        .peekable();
    let mut changed = messages
        .range(change_key(room, first)..=change_key(room, u64::MAX))
        .map(|entry| {
            let (key, id) = entry.map_err(&read)?;
            let key = message_key(room, decode_u64(&key, &id)?);
            let value = messages
                .get(&key)
                .map_err(&read)?
                .ok_or_else(|| corrupt(&key, "a change entry points to a missing message"))?;
            decode_entry(&key, &value)
        })
        .peekable();
    let mut found = Vec::new();
    while found.len() < limit {
        let take_created = match (created.peek(), changed.peek()) {
            (None, None) => break,
            (Some(Ok(a)), Some(Ok(b))) => a.rev() < b.rev(),
            (Some(_), None) | (Some(Err(_)), _) => true,
            (None, Some(_)) | (Some(Ok(_)), Some(Err(_))) => false,
        };
        let next = if take_created {
            created.next()
        } else {
            changed.next()
        };
        if let Some(stored) = next {
            found.push(stored?);
        }
    }
    // A full page may have more after it: the client goes on from its last rev.
    Ok(Changes {
        messages: found,
        rev: latest_rev(messages, room)?,
    })
}

/// The room's largest rev: of its newest message, or of its latest change.
fn latest_rev(messages: &Tree, room: &RoomName) -> Result<u64, StoreError> {
    let read = sled_err("reading changes");
    let newest_created = messages
        .range(message_key(room, 0)..=message_key(room, u64::MAX))
        .next_back()
        .map(|entry| entry.map_err(&read).map(|(key, _)| key))
        .transpose()?
        .map(|key| split_message_key(&key).map(|(_, id)| id))
        .transpose()?
        .unwrap_or(0);
    let newest_change = messages
        .range(change_key(room, 0)..=change_key(room, u64::MAX))
        .next_back()
        .map(|entry| entry.map_err(&read).map(|(key, _)| key))
        .transpose()?
        .map(|key| decode_u64(&key, &key[key.len() - 8..]))
        .transpose()?
        .unwrap_or(0);
    Ok(newest_created.max(newest_change))
}

/// Reads one page of `room` from sled, as [`Store::page`] describes.
pub(super) fn read_page(
    messages: &Tree,
    room: &RoomName,
    query: PageQuery,
) -> Result<Vec<Stored>, StoreError> {
    let lowest = match query.after {
        Some(after) => match after.checked_add(1) {
            Some(lowest) => lowest,
            None => return Ok(Vec::new()),
        },
        None => 0,
    };
    let highest = match query.before {
        Some(before) => match before.checked_sub(1) {
            Some(highest) => highest,
            None => return Ok(Vec::new()),
        },
        None => u64::MAX,
    };
    if query.limit == 0 || lowest > highest {
        return Ok(Vec::new());
    }
    let range = messages.range(message_key(room, lowest)..=message_key(room, highest));
    let read = sled_err("reading a page");
    let decode = |entry: sled::Result<(sled::IVec, sled::IVec)>| {
        let (key, value) = entry.map_err(&read)?;
        decode_entry(&key, &value)
    };
    if query.after.is_some() {
        range.take(query.limit).map(decode).collect()
    } else {
        // The newest `limit`: walk backwards from the top of the range, then restore
        // oldest-first order.
        let mut page = range
            .rev()
            .take(query.limit)
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        page.reverse();
        Ok(page)
    }
}
