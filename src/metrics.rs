//! `/metrics`: the server's counters in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::chat::Chat;
use crate::engineio::Engine;
use crate::socketio::Namespace;
use crate::store::FLUSH_BUCKETS_US;

pub fn render(engine: &Engine, namespace: &Namespace, chat: &Chat) -> String {
    let mut out = String::with_capacity(2048);
    let (polling, websocket) = engine.session_counts();
    metric(
        &mut out,
        "parley_connections",
        "gauge",
        "Open Engine.IO sessions by transport.",
    );
    let _ = writeln!(out, "parley_connections{{transport=\"polling\"}} {polling}");
    let _ = writeln!(
        out,
        "parley_connections{{transport=\"websocket\"}} {websocket}"
    );

    let store = chat.store();
    let stats = chat.stats();
    single(
        &mut out,
        "parley_sockets",
        "gauge",
        "Sockets connected to the chat namespace.",
        namespace.socket_count(),
    );
    single(
        &mut out,
        "parley_rooms",
        "gauge",
        "Rooms with at least one member.",
        namespace.room_count(),
    );
    single(
        &mut out,
        "parley_messages_stored",
        "gauge",
        "Messages in the store.",
        store.message_count(),
    );
    single(
        &mut out,
        "parley_deliveries_total",
        "counter",
        "Messages queued to sockets by broadcasts.",
        stats.deliveries.load(Ordering::Relaxed),
    );

    metric(
        &mut out,
        "parley_errors_total",
        "counter",
        "Rejected requests by error code.",
    );
    for (code, count) in stats.errors() {
        let _ = writeln!(out, "parley_errors_total{{code=\"{code}\"}} {count}");
    }

    metric(
        &mut out,
        "parley_refusals_total",
        "counter",
        "Clients held back before their request was looked at, by reason.",
    );
    for (refusal, count) in stats.refusals() {
        let reason = refusal.reason();
        let _ = writeln!(out, "parley_refusals_total{{reason=\"{reason}\"}} {count}");
    }

    single(
        &mut out,
        "parley_store_queue_depth",
        "gauge",
        "Requests waiting for the store's writer.",
        store.queue_depth(),
    );
    let search = chat.search_index();
    single(
        &mut out,
        "parley_search_lag",
        "gauge",
        "Messages and changes stored but not yet searchable.",
        search.stats().lag(),
    );
    single(
        &mut out,
        "parley_search_index_bytes",
        "gauge",
        "Bytes the search index takes on disk.",
        search.index_bytes(),
    );
    single(
        &mut out,
        "parley_file_bytes",
        "gauge",
        "Bytes of file contents stored, each content once.",
        chat.files().stored_bytes(),
    );

    let flushes = store.stats();
    metric(
        &mut out,
        "parley_store_flush_seconds",
        "histogram",
        "Duration of group-commit flushes.",
    );
    let mut cumulative = 0;
    for (bound, count) in FLUSH_BUCKETS_US.iter().zip(&flushes.flush_buckets) {
        cumulative += count;
        let seconds = *bound as f64 / 1e6;
        let _ = writeln!(
            out,
            "parley_store_flush_seconds_bucket{{le=\"{seconds}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        out,
        "parley_store_flush_seconds_bucket{{le=\"+Inf\"}} {}",
        flushes.flushes
    );
    let _ = writeln!(
        out,
        "parley_store_flush_seconds_sum {}",
        flushes.flush_micros_total as f64 / 1e6
    );
    let _ = writeln!(out, "parley_store_flush_seconds_count {}", flushes.flushes);
    single(
        &mut out,
        "parley_store_messages_written_total",
        "counter",
        "Messages made durable by group commits.",
        flushes.messages_written,
    );
    out
}

/// A metric with one unlabelled value.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    metric(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}
