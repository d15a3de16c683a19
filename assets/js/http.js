/*
 * http.js: the one way the pages call Parley's JSON API. Every call has a timeout (a
 * request held by a proxy must not leave a button spinning for ever), sends the session
 * cookie, and fails the same way: an ApiError with the HTTP status and the server's
 * error code, so that a page can word "wrong password" and "too many attempts"
 * differently without parsing anything.
 */

const TIMEOUT_MS = 10000;

/** A failed call: `status` 0 when the server was not reached at all. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// What a status means when the body does not say (a proxy's error page, say).
function codeFor(status) {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'too_large';
  if (status === 429) return 'rate_limited';
  return 'internal';
}

/**
 * `method path` with `body` as JSON, if given. Resolves to the parsed reply ({} when
 * there is none, as for 204), or throws an ApiError.
 */
export async function requestJson(method, path, body) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
      signal: ctrl.signal,
    });
  } catch (err) {
    throw new ApiError(0, ctrl.signal.aborted ? 'timeout' : 'network', 'Could not reach the server.');
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = await res.json(); } catch (err) { data = null; }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || codeFor(res.status), e.message || 'HTTP ' + res.status);
  }
  return data || {};
}
