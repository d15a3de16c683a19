/*
 * rules.js: the server's rules for names, usernames, passwords, chat keys and message
 * text, so that a bad value
 * is explained on the page before it is sent, and a good one is never refused by the page.
 * They must say exactly what the server says (src/model.rs), which is why they do not use
 * the shortcuts JavaScript offers:
 *   - Lengths count Unicode characters (code points), as the server counts Rust `char`s.
 *     `.length` counts UTF-16 units: an emoji is 2 of them, so with `.length` a name of
 *     40 emoji would be "80 characters" here while the server accepts it as 40.
 *   - Surrounding whitespace is the Unicode White_Space set, which is what Rust's `trim`
 *     removes. JavaScript's own `trim` differs in two characters: it removes U+FEFF (not
 *     whitespace to the server) and keeps U+0085 (whitespace to the server).
 *   - Control characters are the Unicode category Cc, Rust's `char::is_control`.
 * The HTML inputs carry no `maxlength` for names for the same reason: it counts UTF-16 units.
 */

const MAX_NAME_CHARS = 64;
const MAX_USERNAME_CHARS = 32;
const NOT_USERNAME_CHARS = /[^a-z0-9_.-]/gu;
const MIN_PASSWORD_CHARS = 8;
const MAX_PASSWORD_CHARS = 256;
const MAX_ROOM_CHARS = 128;
const NOT_ROOM_CHARS = /[^A-Za-z0-9_.:-]/gu;
const SURROUNDING_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;
const CONTROL_CHAR = /\p{Cc}/u;

/** `value` without surrounding whitespace, removed the way the server trims. */
export function trimmed(value) {
  return value.replace(SURROUNDING_SPACE, '');
}

/** How many characters the server counts in `value`. */
function charCount(value) {
  return Array.from(value).length;
}

/**
 * A name (a sender's, a display name, a token's) as the server will store it (trimmed),
 * and why it cannot be used, or null for `problem` when it can. `empty` is what to say
 * when there is none, `what` the plural that starts the other reasons.
 */
function checkNameLike(raw, empty, what) {
  const name = typeof raw === 'string' ? trimmed(raw) : '';
  let problem = null;
  if (name.length === 0) problem = empty;
  else if (charCount(name) > MAX_NAME_CHARS) problem = what + ' can be at most ' + MAX_NAME_CHARS + ' characters.';
  else if (CONTROL_CHAR.test(name)) problem = what + ' cannot contain control characters.';
  return { name, problem };
}

/** A person's name: see checkNameLike. */
export function checkName(raw) {
  return checkNameLike(raw, 'Please enter your name.', 'Names');
}

/** The name of an API token: see checkNameLike. */
export function checkTokenName(raw) {
  return checkNameLike(raw, 'Please name the token after what will use it.', 'Token names');
}

/**
 * A username as the server will store it, and why it cannot be used (null when it can).
 * Usernames are compared case-insensitively and stored lowercase, so "Alice" is taken
 * as "alice"; `toLowerCase` maps characters as Rust's `to_lowercase` does (the Kelvin
 * sign becomes a "k" in both). Surrounding spaces (a phone keyboard's autocompletion
 * adds one) are dropped: they can never be part of a username.
 */
export function checkUsername(raw) {
  const username = trimmed(typeof raw === 'string' ? raw : '').toLowerCase();
  return { username, problem: usernameProblem(username) };
}

function usernameProblem(username) {
  if (username.length === 0) return 'Please choose a username.';
  if (charCount(username) > MAX_USERNAME_CHARS) return 'Usernames can be at most ' + MAX_USERNAME_CHARS + ' characters.';
  const bad = username.match(NOT_USERNAME_CHARS);
  if (bad) return 'Usernames may only use letters, digits and _ . - (not ' + shownChars(bad) + ').';
  // Browsers collapse `.` and `..` out of addresses such as /api/users/{username}/….
  if (/^\.+$/.test(username)) return 'Usernames cannot be only dots.';
  return null;
}

/** Why `password` cannot be used, or null when it can. Passwords are taken as typed. */
export function passwordProblem(password) {
  const n = charCount(password);
  if (n < MIN_PASSWORD_CHARS) return 'Passwords need at least ' + MIN_PASSWORD_CHARS + ' characters.';
  if (n > MAX_PASSWORD_CHARS) return 'Passwords can be at most ' + MAX_PASSWORD_CHARS + ' characters.';
  return null;
}

/** The characters of `bad` (regex matches) as a short list for an error message. */
function shownChars(bad) {
  return Array.from(new Set(bad), (c) => (c === ' ' ? 'space' : '“' + c + '”')).slice(0, 5).join(', ');
}

/** Why `room` cannot be used as a chat key, or null when it can. The server does not trim keys. */
export function roomProblem(room) {
  if (room.length === 0) return 'Please enter a chat key.';
  if (charCount(room) > MAX_ROOM_CHARS) return 'Chat keys can be at most ' + MAX_ROOM_CHARS + ' characters.';
  const bad = room.match(NOT_ROOM_CHARS);
  if (bad) return 'Chat keys may only use letters, digits and _ . : - (not ' + shownChars(bad) + ').';
  // Browsers collapse `.` and `..` out of a /chat/… address.
  if (/^\.+$/.test(room)) return 'Chat keys cannot be only dots.';
  return null;
}

/** True when the server would refuse `text` as empty (it trims before it checks). */
export function isBlankText(text) {
  return trimmed(text).length === 0;
}
