//! Search in a real browser (README "Search"): the box in the sidebar finds messages as
//! one types, the results show room, author, time and the matched words marked (text,
//! never markup), and choosing one opens its room at the message with the history around
//! it, even when it is older than what the room opened with. Each test starts its own
//! server in accounts mode on a fresh data directory with three people made with the
//! command line (`parley user add`) and runs one scenario of
//! `tests/js/browser_search.mjs`, which drives Debian Chromium through playwright-core,
//! each person in their own browser context, and fails on any console error.
//!
//! As in `tests/browser.rs`, the browser is part of the suite: when it is missing these
//! tests fail and say how to install it (`scripts/test`), they never skip.
//! Screenshots land in `target/browser-artifacts/search-*.png`.

mod support;

use support::team::browser_scenario;

/// Runs `scenario` against a fresh server whose team is `support::team::PEOPLE`.
fn run_scenario(scenario: &str) {
    browser_scenario("browser_search.mjs", scenario);
}

#[test]
fn a_search_finds_messages_as_one_types_and_a_result_opens_its_room_at_the_message() {
    run_scenario("search-jump");
}

#[test]
fn on_a_phone_the_results_cover_the_conversation_and_make_way_for_the_message() {
    run_scenario("search-phone");
}
