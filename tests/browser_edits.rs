//! Edits, deletes, reactions, replies, mentions and notifications in a real browser
//! (README "Edits, deletes, reactions, replies" and "Mentions and notifications"): what
//! one person changes shows up live on another's page, a reply quotes what it answers,
//! `@` suggests the room's people and a mention stands out, a mention in a background tab
//! or another room makes a desktop notification that opens the room when clicked, and a
//! page whose connection dropped catches up on every change. Each test starts its own
//! server in accounts mode on a fresh data directory with three people made with the
//! command line (`parley user add`) and runs one scenario of `tests/js/browser_edits.mjs`,
//! which drives Debian Chromium through playwright-core, each person in their own
//! browser context (with the notification permission granted where the scenario needs
//! it), and fails on any console error.
//!
//! As in `tests/browser.rs`, the browser is part of the suite: when it is missing these
//! tests fail and say how to install it (`scripts/test`), they never skip.
//! Screenshots land in `target/browser-artifacts/edits-*.png`.

mod support;

use support::team::browser_scenario;

/// Runs `scenario` against a fresh server whose team is `support::team::PEOPLE`.
fn run_scenario(scenario: &str) {
    browser_scenario("browser_edits.mjs", scenario);
}

#[test]
fn edits_reactions_and_deletions_show_up_live_on_the_other_page() {
    run_scenario("live-changes");
}

#[test]
fn a_reply_quotes_its_original_and_a_mention_is_suggested_and_highlighted() {
    run_scenario("reply-mention");
}

#[test]
fn a_mention_in_the_background_makes_a_notification_that_opens_the_room() {
    run_scenario("notifications");
}

#[test]
fn a_page_whose_connection_dropped_catches_up_on_every_change() {
    run_scenario("catch-up");
}
