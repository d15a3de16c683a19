//! Full-text search over the stored messages: a tantivy index in the data directory
//! (`search/`), fed after commit and never on the acknowledgement path.
//!
//! Every message the store makes durable (and every change to one) is handed to
//! [`Search::feed`], which only queues it; an indexer thread (`indexer.rs`) adds the
//! queued messages in batches, commits, and makes them searchable. Each commit records
//! the largest rev it holds, so at start the indexer first takes in whatever the store
//! committed after that (a crash loses nothing, only delays it). An index that is
//! missing, damaged or of another layout ([`LAYOUT`]) is rebuilt from the store.
//!
//! A query finds the messages that have every word of it (the last also as a prefix),
//! newest first, in the rooms the searcher may read; the messages come back from the
//! store as they are now, with the words that matched.

mod indexer;
mod tokens;

use std::collections::HashSet;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, RegexQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{DocAddress, Index, IndexReader, Order, ReloadPolicy, Term};
use thiserror::Error;

use crate::model::{Message, RoomName, Stored};
use crate::store::{Store, StoreError};
use indexer::Indexer;
use tokens::{TOKENIZER, WordTokenizer, words};

/// The index's layout; an index written with another is rebuilt.
const LAYOUT: &str = "parley-search-1";
/// The file beside the index that names its layout.
const LAYOUT_FILE: &str = "LAYOUT";
/// Where tantivy keeps the index, inside the search directory.
const INDEX_DIR: &str = "index";
/// The most results one query returns.
pub const MAX_RESULTS: usize = 100;
/// Results when a query does not say.
pub const DEFAULT_RESULTS: usize = 20;

#[derive(Debug, Error)]
pub enum SearchError {
    #[error("the search index failed: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("the search index directory failed: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("cannot prepare the search index at {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading messages for the search index failed: {0}")]
    Store(#[from] StoreError),
    #[error("the search indexer thread failed to start: {0}")]
    Spawn(std::io::Error),
}

/// The fields of the index.
#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    room: Field,
    text: Field,
}

impl Fields {
    fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::Basic),
        );
        let fields = Fields {
            id: builder.add_u64_field("id", INDEXED | STORED | FAST),
            room: builder.add_text_field("room", STRING | STORED),
            text: builder.add_text_field("text", text),
        };
        (builder.build(), fields)
    }
}

/// Which messages a search may return.
pub struct Scope {
    /// Only this room.
    pub room: Option<RoomName>,
    /// Never these rooms (the closed and direct rooms the searcher is not in).
    pub hidden: HashSet<RoomName>,
}

/// A search as asked.
pub struct SearchQuery {
    pub q: String,
    pub limit: usize,
    /// Only messages older than this id (the next page).
    pub before: Option<u64>,
}

/// One result: the message as it is now, and the words of its text that matched.
#[derive(Debug, Serialize)]
pub struct Hit {
    pub message: Message,
    pub highlights: Vec<String>,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct SearchStats {
    /// Messages and changes handed to the index.
    fed: AtomicU64,
    /// Of those, the ones searchable now.
    searchable: AtomicU64,
}

impl SearchStats {
    /// Messages committed to the store but not yet searchable.
    pub fn lag(&self) -> u64 {
        self.fed
            .load(Ordering::Relaxed)
            .saturating_sub(self.searchable.load(Ordering::Relaxed))
    }
}

pub struct Search {
    reader: IndexReader,
    fields: Fields,
    store: Arc<Store>,
    feed: Option<mpsc::Sender<Stored>>,
    indexer: Option<std::thread::JoinHandle<()>>,
    stats: Arc<SearchStats>,
    dir: PathBuf,
}

impl Search {
    /// Opens (or builds) the index of `data_dir` and starts its indexer, which first
    /// takes in what the store holds beyond the index. Blocks.
    pub fn open(data_dir: &Path, store: Arc<Store>) -> Result<Search, SearchError> {
        let dir = data_dir.join("search");
        let index = open_index(&dir)?;
        let fields = Fields::schema().1;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let stats = Arc::new(SearchStats::default());
        let (feed, queue) = mpsc::channel();
        let (for_reader, for_store, for_stats) = (reader.clone(), store.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("parley-search-indexer".into())
            .spawn(move || {
                // Before the writer exists: the threads tantivy starts inherit it.
                indexer::lower_priority();
                match Indexer::new(index, for_reader, fields, for_store, for_stats) {
                    Ok(indexer) => indexer.run(queue),
                    Err(error) => tracing::error!(
                        %error,
                        "the search indexer cannot start: new messages will not be found"
                    ),
                }
            })
            .map_err(SearchError::Spawn)?;
        Ok(Search {
            reader,
            fields,
            store,
            feed: Some(feed),
            indexer: Some(thread),
            stats,
            dir,
        })
    }

    /// Rebuilds the index of `data_dir` from `store` (the `parley reindex` command, on
    /// a stopped server). Returns how many messages it holds. Blocks.
    pub fn rebuild(data_dir: &Path, store: Arc<Store>) -> Result<u64, SearchError> {
        let dir = data_dir.join("search");
        remove_index(&dir)?;
        let index = open_index(&dir)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let stats = Arc::new(SearchStats::default());
        let mut indexer = Indexer::new(index, reader, Fields::schema().1, store, stats.clone())?;
        indexer.catch_up()?;
        Ok(stats.searchable.load(Ordering::Relaxed))
    }

    /// Queues a stored message, or a change to one, for the index. Quick; does not
    /// block (it runs where the store answers).
    pub fn feed(&self, stored: &Stored) {
        if let Some(feed) = &self.feed
            && feed.send(stored.clone()).is_ok()
        {
            self.stats.fed.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> &SearchStats {
        &self.stats
    }

    /// Bytes the index takes on disk.
    pub fn index_bytes(&self) -> u64 {
        directory_bytes(&self.dir)
    }

    /// The messages in `scope` with every word of the query, newest first. Blocks.
    pub fn search(&self, query: &SearchQuery, scope: &Scope) -> Result<Vec<Hit>, SearchError> {
        let terms = words(&query.q);
        let Some((last, rest)) = terms.split_last() else {
            return Ok(Vec::new());
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = rest
            .iter()
            .map(|word| (Occur::Must, self.term(&word.text)))
            .collect();
        // Letters and digits only: nothing in a word needs escaping in a pattern.
        let prefix = RegexQuery::from_pattern(&format!("{}.*", last.text), self.fields.text)?;
        clauses.push((Occur::Must, Box::new(prefix)));
        if let Some(room) = &scope.room {
            clauses.push((Occur::Must, self.room_term(room)));
        }
        for room in &scope.hidden {
            clauses.push((Occur::MustNot, self.room_term(room)));
        }
        if let Some(before) = query.before {
            clauses.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Excluded(Term::from_field_u64(self.fields.id, before)),
                )),
            ));
        }
        let searcher = self.reader.searcher();
        let found: Vec<(u64, DocAddress)> = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(query.limit.clamp(1, MAX_RESULTS))
                .order_by_fast_field::<u64>("id", Order::Desc),
        )?;
        let mut hits = Vec::with_capacity(found.len());
        for (id, address) in found {
            let document: tantivy::TantivyDocument = searcher.doc(address)?;
            let room = document
                .get_first(self.fields.room)
                .and_then(|value| tantivy::schema::Value::as_str(&value))
                .and_then(|room| RoomName::parse(room).ok());
            let Some(room) = room else { continue };
            // The store has the message as it is now; one deleted since it was
            // indexed is left out.
            if let Some(Stored::Message(message)) = self.store.get_blocking(&room, id)? {
                let highlights = highlights(&message, &terms);
                hits.push(Hit {
                    message,
                    highlights,
                });
            }
        }
        Ok(hits)
    }

    fn term(&self, word: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(self.fields.text, word),
            IndexRecordOption::Basic,
        ))
    }

    fn room_term(&self, room: &RoomName) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(self.fields.room, room.as_str()),
            IndexRecordOption::Basic,
        ))
    }
}

impl Drop for Search {
    fn drop(&mut self) {
        // Closing the queue ends the indexer after its last commit.
        self.feed = None;
        if let Some(thread) = self.indexer.take()
            && thread.join().is_err()
        {
            tracing::error!("the search indexer thread panicked");
        }
    }
}

/// The words of `message`'s text that a query's words match (the last as a prefix),
/// as they are written in the text.
fn highlights(message: &Message, terms: &[tokens::Word]) -> Vec<String> {
    let text = message.text.as_str();
    let Some((last, rest)) = terms.split_last() else {
        return Vec::new();
    };
    let mut marked: Vec<String> = Vec::new();
    for word in words(text) {
        let matches =
            rest.iter().any(|term| term.text == word.text) || word.text.starts_with(&last.text);
        let written = &text[word.at];
        if matches && !marked.iter().any(|seen| seen == written) {
            marked.push(written.to_owned());
        }
    }
    marked
}

/// Opens the index of the search directory `dir`, creating it, or building it anew
/// when what is there is of another layout or cannot be opened.
fn open_index(dir: &Path) -> Result<Index, SearchError> {
    let layout = std::fs::read_to_string(dir.join(LAYOUT_FILE)).ok();
    if layout.as_deref().map(str::trim) != Some(LAYOUT) {
        if dir.exists() {
            tracing::info!(dir = %dir.display(), "the search index is of another layout: rebuilding it");
        }
        remove_index(dir)?;
    }
    let index_dir = dir.join(INDEX_DIR);
    let io = |source| SearchError::Io {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(&index_dir).map_err(io)?;
    let (schema, _) = Fields::schema();
    let opened = tantivy::directory::MmapDirectory::open(&index_dir)
        .map_err(SearchError::from)
        .and_then(|directory| Ok(Index::open_or_create(directory, schema.clone())?));
    let index = match opened {
        Ok(index) => index,
        Err(error) => {
            tracing::warn!(%error, "the search index cannot be opened: rebuilding it");
            remove_index(dir)?;
            std::fs::create_dir_all(&index_dir).map_err(io)?;
            Index::create_in_dir(&index_dir, schema)?
        }
    };
    index.tokenizers().register(TOKENIZER, WordTokenizer);
    std::fs::write(dir.join(LAYOUT_FILE), LAYOUT).map_err(io)?;
    Ok(index)
}

fn remove_index(dir: &Path) -> Result<(), SearchError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(SearchError::Io {
            path: dir.to_owned(),
            source,
        }),
    }
}

fn directory_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join(INDEX_DIR))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.metadata().ok())
                .filter(|metadata| metadata.is_file())
                .map(|metadata| metadata.len())
                .sum()
        })
        .unwrap_or(0)
}
