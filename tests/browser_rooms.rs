//! The team chat in a real browser (README "Rooms", "Presence"): signed in, the chat
//! page has a sidebar of rooms, direct messages and people, switches rooms without
//! reloading, counts unread messages and mentions, and shows who is online. Each test
//! starts its own server in accounts mode on a fresh data directory with three people
//! made with the command line (`parley user add`) and runs one scenario of
//! `tests/js/browser_rooms.mjs`, which drives Debian Chromium through playwright-core,
//! each person in their own browser context, and fails on any console error.
//!
//! As in `tests/browser.rs`, the browser is part of the suite: when it is missing these
//! tests fail and say how to install it (`scripts/test`), they never skip.
//! Screenshots land in `target/browser-artifacts/rooms-*.png`.

mod support;

use support::team::browser_scenario;

/// Runs `scenario` against a fresh server whose team is `support::team::PEOPLE`.
fn run_scenario(scenario: &str) {
    browser_scenario("browser_rooms.mjs", scenario);
}

#[test]
fn a_direct_message_reaches_the_other_person_and_their_dot_goes_online() {
    run_scenario("direct-message");
}

#[test]
fn a_closed_room_is_listed_for_its_members_only_and_refused_to_anyone_else() {
    run_scenario("closed-room");
}

#[test]
fn unread_badges_appear_and_clear_in_both_tabs_of_one_person() {
    run_scenario("unread-two-tabs");
}

#[test]
fn on_a_phone_the_sidebar_is_a_drawer() {
    run_scenario("phone-drawer");
}

#[test]
fn each_room_catches_up_after_the_connection_comes_back() {
    run_scenario("reconnect");
}
