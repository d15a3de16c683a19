/*
 * forms.js: the form plumbing of the account pages (setup, sign-in, join, settings).
 * Fields follow one convention: the input with id `x` shows its problem in the element
 * with id `x-error`. Every value is checked with the server's own rules (rules.js)
 * before it is sent, so that a refusal is explained beside the field it is about; what
 * only the server can know (a taken username, a wrong password) comes back as an
 * ApiError and is worded by the page that asked.
 */

import { $, element, showFieldError, showMessage } from './page.js';
import { checkName, checkUsername, passwordProblem } from './rules.js';

const COPIED_MS = 2000;

/** Shows `problem` under the field `id` (or clears it when null); true when there is none. */
export function fieldError(id, problem) {
  showFieldError($(id), $(id + '-error'), problem);
  return !problem;
}

/**
 * Shows `text` in a form's status line `el` (`.form-status`), coloured by `kind`
 * ('error' or 'ok'); null hides it.
 */
export function formStatus(el, kind, text) {
  el.dataset.kind = kind;
  showMessage(el, text);
}

/**
 * A sentence for a refusal that no field is to blame for; `what` says what failed
 * ("Could not sign in"). Too many attempts is worded the same on every page.
 */
export function failureText(err, what) {
  if (err.status === 429) return 'Too many attempts; wait a few minutes';
  return what + ': ' + err.message;
}

/** Each field's error goes away as soon as it is edited. */
export function clearErrorsOnInput(form) {
  form.addEventListener('input', (event) => {
    const id = event.target.id;
    if (id && $(id + '-error')) fieldError(id, null);
  });
}

/**
 * Shows every `[id, problem]` of `checks` and focuses the first field with one.
 * True when there is none.
 */
export function showProblems(checks) {
  let first = null;
  for (const [id, problem] of checks) {
    if (!fieldError(id, problem) && !first) first = id;
  }
  if (first) $(first).focus();
  return first === null;
}

/** The checks of a new password typed twice, in the fields `id` and `repeatId`. */
export function newPasswordChecks(id, repeatId) {
  const password = $(id).value;
  const problem = passwordProblem(password);
  const repeated = $(repeatId).value === password;
  return [[id, problem], [repeatId, problem || repeated ? null : 'The two passwords are not the same.']];
}

/**
 * One labelled input following the convention above, with its hint (strings and
 * elements) when given, and its error line.
 */
function field(id, label, { type = 'text', autocomplete, placeholder, hint }) {
  const box = element('div', 'field');
  const labelEl = element('label', 'field__label', label);
  labelEl.htmlFor = id;
  const input = element('input', 'input');
  Object.assign(input, { id, name: id, type, autocomplete });
  if (placeholder) input.placeholder = placeholder;
  box.append(labelEl, input);
  const describedBy = [];
  if (hint) {
    const hintEl = element('span', 'field__hint');
    hintEl.id = id + '-hint';
    hintEl.append(...hint);
    box.append(hintEl);
    describedBy.push(hintEl.id);
  }
  const error = element('span', 'field__error');
  error.id = id + '-error';
  error.setAttribute('role', 'alert');
  error.hidden = true;
  box.append(error);
  describedBy.push(error.id);
  input.setAttribute('aria-describedby', describedBy.join(' '));
  return box;
}

/**
 * Adds the fields of a new account to `container`: username, display name, and the
 * password twice. The setup and join pages both ask for them, and built in one place
 * they ask the same way. `examples` are the placeholders, e.g. {username: 'alice',
 * name: 'Alice Martin'}.
 */
export function addNewAccountFields(container, examples) {
  const username = field('username', 'Username', {
    autocomplete: 'username',
    placeholder: 'e.g. ' + examples.username,
    hint: ['What you sign in with and how people @mention you. Letters, digits and ', element('code', '', '_ . -'), ', up to 32.'],
  });
  const input = username.querySelector('input');
  input.setAttribute('autocapitalize', 'none');
  input.spellcheck = false;
  container.append(
    username,
    field('name', 'Display name', {
      autocomplete: 'name',
      placeholder: 'e.g. ' + examples.name,
      hint: ['Shown next to your messages. You can change it later.'],
    }),
    field('password', 'Password', { type: 'password', autocomplete: 'new-password', hint: ['At least 8 characters.'] }),
    field('password2', 'Password, once more', { type: 'password', autocomplete: 'new-password' }),
  );
}

/**
 * The fields of a new account (addNewAccountFields), checked; `{username, name, password}` when they are all fine, else null
 * with the problems shown.
 */
export function readNewAccount() {
  const { username, problem: usernameProblem } = checkUsername($('username').value);
  const { name, problem: nameProblem } = checkName($('name').value);
  const ok = showProblems([
    ['username', usernameProblem],
    ['name', nameProblem],
    ...newPasswordChecks('password', 'password2'),
  ]);
  if (!ok) return null;
  $('username').value = username;
  return { username, name, password: $('password').value };
}

/**
 * Runs `work` with `button` disabled, so that a slow answer (password hashing takes a
 * moment on purpose) cannot be asked for twice.
 */
export async function whileBusy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/**
 * Copies the value of the read-only `input`, and says so on `button` for a moment. The
 * clipboard API exists only in a secure context (HTTPS, or this machine); over plain
 * HTTP to a LAN address the text is selected instead, for the person to copy.
 */
export async function copyField(input, button) {
  if (!button.dataset.label) button.dataset.label = button.textContent;
  try {
    await navigator.clipboard.writeText(input.value);
    button.textContent = 'Copied';
  } catch (err) {
    input.focus();
    input.select();
    button.textContent = 'Selected: copy it';
  }
  clearTimeout(Number(button.dataset.timer));
  button.dataset.timer = String(setTimeout(() => { button.textContent = button.dataset.label; }, COPIED_MS));
}
