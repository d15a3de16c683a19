/*
 * setup.js: the setup page (/setup), which exists while the server has no administrator:
 * it creates the first account, an admin, and signs it in. A browser on the server's own
 * machine needs nothing more; anyone else needs the one-time code the server printed at
 * start (`setup: open http://…/setup?code=…`), which that link carries in its address.
 */

import { requestJson } from './http.js';
import { $ } from './page.js';
import {
  addNewAccountFields, clearErrorsOnInput, failureText, fieldError, formStatus, readNewAccount, whileBusy,
} from './forms.js';
import { trimmed } from './rules.js';
import './app.js';

const form = $('setup-form');
const status = $('setup-status');
const codeField = $('code-field');
const codeInput = $('code');

function askForCode() {
  codeField.hidden = false;
  if (!codeInput.value) codeInput.value = new URLSearchParams(window.location.search).get('code') || '';
}

async function submit(event) {
  event.preventDefault();
  formStatus(status, 'error', null);
  const account = readNewAccount();
  if (!account) return;
  const code = trimmed(codeInput.value);
  if (!codeField.hidden && !fieldError('code', code ? null : 'Please enter the setup code.')) {
    codeInput.focus();
    return;
  }
  try {
    await whileBusy($('setup-submit'), () => requestJson('POST', '/api/setup', code ? { ...account, code } : account));
  } catch (err) {
    if (err.status === 403) {
      askForCode();
      fieldError('code', code ? 'That is not the code the server printed.' : 'This browser is not on the server’s machine: the setup code is needed.');
      codeInput.focus();
    } else if (err.status === 409) {
      form.replaceChildren($('already-set-up'));
      $('already-set-up').hidden = false;
    } else {
      formStatus(status, 'error', failureText(err, 'Could not create the account'));
    }
    return;
  }
  window.location.assign('/');
}

addNewAccountFields($('account-fields'), { username: 'alice', name: 'Alice Martin' });
clearErrorsOnInput(form);
form.addEventListener('submit', submit);
$('username').focus();

requestJson('GET', '/api/setup').then((setup) => {
  if (!setup.needed) window.location.replace('/');
  else if (setup.code_required) askForCode();
}, () => {
  // The form still works: a refusal for want of the code brings the field up then.
});
