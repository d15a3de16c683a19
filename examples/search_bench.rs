//! Measures full-text search (issue 15; goal: p99 ≤ 50 ms for a query over 10^6
//! messages): how fast the index takes in a store it has never seen, and the latency of
//! `Search::search` (limit 20, the messages read back from the store) once it has.
//!
//! `cargo run --release --example search_bench -- [messages] [queries]` (defaults:
//! 1 000 000 and 2 000). The store is filled through `Store::import`: 50 rooms, their
//! messages interleaved in time, each a random sentence of 5–20 words drawn from a
//! vocabulary of 4 000 made-up words with the frequencies of natural language (Zipf's
//! law: the commonest word is in most messages, the rarest in a handful), some
//! capitalised, with punctuation. Then `Search::open` catches up with the store, as a
//! server does at its first start or when the index is missing, and the time it takes
//! gives messages indexed per second. The queries are 1–3 words, a third of them with
//! the last word cut to a 2–4 letter prefix; half draw their words as often as the
//! messages use them (so common words are queried often: the hard case), half draw
//! them evenly from the vocabulary (the rarer words people tend to look for).
//!
//! Everything is seeded: two runs search the same text with the same queries.
//!
//! One run at the defaults on the shared 2-core development machine (load 7–10 from
//! other work): import 26 s; catch-up 166 s, 6 010 messages/s, index 31.8 MB (32 bytes
//! a message) in 20 segments; 2 000 queries p50 2.1 ms, p99 44.9 ms, max 131 ms; the
//! commonest word alone p50 23 ms, p99 42 ms.

use std::collections::HashSet;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parley::model::RoomName;
use parley::search::{Scope, Search, SearchQuery};
use parley::store::{Store, StoreOptions, SyncLevel};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const ROOMS: usize = 50;
const VOCABULARY: usize = 4_000;
const FIRST_ID: u64 = 1_700_000_000_000_000;
/// A word only the newest message of each room has: the catch-up, which goes room by
/// room and oldest first, is over when the search finds it in every room.
const SENTINEL: &str = "zzcaughtupzz";
/// How often the catch-up is checked on.
const POLL: Duration = Duration::from_millis(20);
/// The catch-up is given up on after this.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(4 * 3600);
const LIMIT: usize = 20;

fn main() -> BenchResult<()> {
    let mut args = std::env::args().skip(1);
    let mut next = |default: usize| -> BenchResult<usize> {
        Ok(args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let messages = next(1_000_000)?.max(ROOMS);
    let queries = next(2_000)?.max(1);

    let mut random = SmallRng::seed_from_u64(0x5eed_0015);
    let words = Words::new(&mut random);
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open_with(
        dir.path(),
        StoreOptions {
            sync: SyncLevel::Os,
        },
    )?);

    let started = Instant::now();
    let (imported, text_bytes) = fill(&store, messages, &words, &mut random)?;
    println!(
        "stored {imported} messages ({:.1} MB of text) in {ROOMS} rooms through Store::import in {:.1} s",
        text_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let search = Search::open(dir.path(), store.clone())?;
    caught_up(&search)?;
    let took = started.elapsed();
    println!(
        "Search::open caught up with {imported} messages in {:.1} s: {:.0} messages/s; index {:.1} MB on disk ({:.0} bytes a message), {} segments",
        took.as_secs_f64(),
        imported as f64 / took.as_secs_f64(),
        search.index_bytes() as f64 / 1e6,
        search.index_bytes() as f64 / imported as f64,
        segments(dir.path())
    );

    let everywhere = Scope {
        room: None,
        hidden: HashSet::new(),
    };
    let mut all = Vec::with_capacity(queries);
    let mut by_kind: Vec<(String, Vec<Duration>)> = Vec::new();
    let mut found = 0;
    let mut empty = 0;
    for i in 0..queries {
        let common = i % 2 == 0;
        let query = words.query(&mut random, common);
        let started = Instant::now();
        let hits = search.search(
            &SearchQuery {
                q: query.text.clone(),
                limit: LIMIT,
                before: None,
            },
            &everywhere,
        )?;
        let took = started.elapsed();
        found += hits.len();
        empty += usize::from(hits.is_empty());
        all.push(took);
        let kind = format!(
            "{} word{}{}, {}",
            query.words,
            if query.words == 1 { "" } else { "s" },
            if query.prefix {
                " (last as prefix)"
            } else {
                ""
            },
            if common {
                "as frequent as in the text"
            } else {
                "evenly drawn"
            }
        );
        match by_kind.iter_mut().find(|(name, _)| *name == kind) {
            Some((_, timings)) => timings.push(took),
            None => by_kind.push((kind, vec![took])),
        }
    }
    println!(
        "{queries} queries, limit {LIMIT}, all rooms: {:.1} results a query on average, {empty} with none",
        found as f64 / queries as f64
    );
    report("all queries", &mut all);
    by_kind.sort_by(|a, b| a.0.cmp(&b.0));
    for (kind, timings) in &mut by_kind {
        report(kind, timings);
    }
    slowest(&search, &words, &everywhere)?;
    Ok(())
}

/// Waits until the index has every room's newest message.
fn caught_up(search: &Search) -> BenchResult<()> {
    let deadline = Instant::now() + CATCH_UP_LIMIT;
    let sentinel = SearchQuery {
        q: SENTINEL.to_owned(),
        limit: ROOMS,
        before: None,
    };
    let everywhere = Scope {
        room: None,
        hidden: HashSet::new(),
    };
    while search.search(&sentinel, &everywhere)?.len() < ROOMS {
        if Instant::now() > deadline {
            return Err(format!("the index did not catch up within {CATCH_UP_LIMIT:?}").into());
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

/// The latency of the query with the commonest words, over and over: the worst case.
fn slowest(search: &Search, words: &Words, scope: &Scope) -> BenchResult<()> {
    for (what, q) in [
        ("the commonest word", words.list[0].clone()),
        (
            "the two commonest words",
            format!("{} {}", words.list[0], words.list[1]),
        ),
        ("a one-letter prefix", words.list[0][..1].to_owned()),
    ] {
        let mut timings = Vec::with_capacity(50);
        for _ in 0..50 {
            let started = Instant::now();
            search.search(
                &SearchQuery {
                    q: q.clone(),
                    limit: LIMIT,
                    before: None,
                },
                scope,
            )?;
            timings.push(started.elapsed());
        }
        report(&format!("{what} ({q:?}) ×50"), &mut timings);
    }
    Ok(())
}

/// The made-up vocabulary, commonest first, and the cumulative Zipf weights to draw
/// from it as a text would.
struct Words {
    list: Vec<String>,
    cumulative: Vec<f64>,
}

struct Query {
    text: String,
    words: usize,
    prefix: bool,
}

impl Words {
    fn new(random: &mut SmallRng) -> Words {
        const ONSETS: [&str; 20] = [
            "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br",
            "st", "tr", "sh",
        ];
        const VOWELS: [&str; 7] = ["a", "e", "i", "o", "u", "ea", "ou"];
        const CODAS: [&str; 8] = ["", "", "", "n", "r", "s", "t", "ng"];
        let mut list = Vec::with_capacity(VOCABULARY);
        let mut seen = HashSet::new();
        while list.len() < VOCABULARY {
            // Common words are short, as in natural language.
            let syllables = match list.len() {
                0..100 => 1,
                100..1000 => random.random_range(1..=2),
                _ => random.random_range(2..=4),
            };
            let mut word = String::new();
            for _ in 0..syllables {
                word.push_str(ONSETS[random.random_range(0..ONSETS.len())]);
                word.push_str(VOWELS[random.random_range(0..VOWELS.len())]);
                word.push_str(CODAS[random.random_range(0..CODAS.len())]);
            }
            if seen.insert(word.clone()) {
                list.push(word);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=VOCABULARY)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Words { list, cumulative }
    }

    /// A word as often as a text uses it.
    fn frequent(&self, random: &mut SmallRng) -> &str {
        let total = self.cumulative[VOCABULARY - 1];
        let at = random.random::<f64>() * total;
        let rank = self.cumulative.partition_point(|&c| c < at);
        &self.list[rank.min(VOCABULARY - 1)]
    }

    /// Any word, each as likely.
    fn any(&self, random: &mut SmallRng) -> &str {
        &self.list[random.random_range(0..VOCABULARY)]
    }

    /// A message: 5–20 words, capitalised at the start and now and then inside, with
    /// some punctuation.
    fn sentence(&self, random: &mut SmallRng) -> String {
        let count = random.random_range(5..=20);
        let mut text = String::new();
        for i in 0..count {
            let word = self.frequent(random);
            if i > 0 {
                text.push(' ');
            }
            if i == 0 || random.random_range(0..20) == 0 {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    text.extend(first.to_uppercase());
                    text.push_str(chars.as_str());
                }
            } else {
                text.push_str(word);
            }
            if i + 1 < count && random.random_range(0..12) == 0 {
                text.push(',');
            }
        }
        text.push(['.', '.', '.', '!', '?'][random.random_range(0..5)]);
        text
    }

    fn query(&self, random: &mut SmallRng, common: bool) -> Query {
        let words = random.random_range(1..=3);
        let mut picked: Vec<String> = (0..words)
            .map(|_| {
                if common {
                    self.frequent(random).to_owned()
                } else {
                    self.any(random).to_owned()
                }
            })
            .collect();
        let mut prefix = false;
        if random.random_range(0..3) == 0
            && let Some(last) = picked.last_mut()
            && last.len() > 2
        {
            let keep = random.random_range(2..=4).min(last.len() - 1);
            last.truncate(keep);
            prefix = true;
        }
        Query {
            text: picked.join(" "),
            words,
            prefix,
        }
    }
}

/// Imports `messages` messages into the rooms, interleaved in time, each room's newest
/// carrying the sentinel. Returns how many were stored and the bytes of their text.
fn fill(
    store: &Store,
    messages: usize,
    words: &Words,
    random: &mut SmallRng,
) -> BenchResult<(u64, u64)> {
    let per_room = messages / ROOMS;
    let mut imported = 0;
    let mut bytes = 0;
    for r in 0..ROOMS {
        let room = RoomName::parse(&format!("room-{r:02}"))?;
        let mut lines = Vec::with_capacity(per_room * 200);
        for i in 0..per_room {
            let id = FIRST_ID + (i * ROOMS + r) as u64;
            let mut text = words.sentence(random);
            if i + 1 == per_room {
                text.push(' ');
                text.push_str(SENTINEL);
            }
            bytes += text.len() as u64;
            let author = format!("user{}", random.random_range(0..40));
            let line = serde_json::json!({"id": id, "room": room, "sender": author, "user": author,
                "text": text, "ts": id / 1000, "client_id": null});
            lines.extend_from_slice(line.to_string().as_bytes());
            lines.push(b'\n');
        }
        imported += store.import(Cursor::new(lines), |_| Ok(()))?.imported;
    }
    Ok((imported, bytes))
}

/// The segments the index's last commit lists (tantivy's `meta.json`): many small ones
/// make every query visit each.
fn segments(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("search/index/meta.json"))
        .ok()
        .and_then(|meta| serde_json::from_str::<serde_json::Value>(&meta).ok())
        .and_then(|meta| meta["segments"].as_array().map(Vec::len))
        .map_or_else(|| "? (no meta.json)".to_owned(), |n| n.to_string())
}

fn report(what: &str, timings: &mut [Duration]) {
    timings.sort();
    let at = |q: f64| ms(timings[((timings.len() - 1) as f64 * q) as usize]);
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} queries)",
        at(0.5),
        at(0.99),
        at(1.0),
        timings.len()
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
