// Passkeys on Tessera's pages (WebAuthn). Loaded by URL: the pages allow
// script only from this server, never inline. Every passkey control is
// hidden until this script finds a browser that can use passkeys, so the
// pages work the same without it.
//
// A control is a button (or form) with data-passkey="register | sign-in |
// second-factor", data-start and data-finish (the server's two steps of the
// ceremony). The fields it sends come from its form: csrf_token, return_to,
// and for a registration the passkey's name.
'use strict';

(() => {
  // The server speaks base64url; the browser's credential API, bytes.
  const bytes = (text) => {
    const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const padded = b64 + '==='.slice((b64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };
  const text = (buffer) => {
    let binary = '';
    for (const b of new Uint8Array(buffer)) binary += String.fromCharCode(b);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };

  const creationOptions = (pk) => {
    pk.challenge = bytes(pk.challenge);
    pk.user.id = bytes(pk.user.id);
    for (const c of pk.excludeCredentials || []) c.id = bytes(c.id);
    return { publicKey: pk };
  };
  const requestOptions = (pk) => {
    pk.challenge = bytes(pk.challenge);
    for (const c of pk.allowCredentials || []) c.id = bytes(c.id);
    return { publicKey: pk };
  };

  const registration = (c) => ({
    id: c.id,
    rawId: text(c.rawId),
    type: c.type,
    response: {
      attestationObject: text(c.response.attestationObject),
      clientDataJSON: text(c.response.clientDataJSON),
      transports: c.response.getTransports ? c.response.getTransports() : [],
    },
    extensions: c.getClientExtensionResults(),
  });
  const assertion = (c) => ({
    id: c.id,
    rawId: text(c.rawId),
    type: c.type,
    response: {
      authenticatorData: text(c.response.authenticatorData),
      clientDataJSON: text(c.response.clientDataJSON),
      signature: text(c.response.signature),
      userHandle: c.response.userHandle ? text(c.response.userHandle) : null,
    },
    extensions: c.getClientExtensionResults(),
  });

  // A form post to this server; its JSON answer, or an Error with the
  // message the server gave.
  const post = async (url, fields) => {
    const res = await fetch(url, {
      method: 'POST',
      body: new URLSearchParams(fields),
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    let body = {};
    try {
      body = await res.json();
    } catch (_) {
      // Not JSON: an error page.
    }
    if (!res.ok) throw new Error(body.error || 'The passkey could not be used. Try again.');
    return body;
  };

  const fieldsOf = (control) => {
    const form = control.form || control.closest('form') || document.querySelector('form');
    const fields = {};
    for (const name of ['csrf_token', 'return_to', 'name']) {
      const input = form && form.elements.namedItem(name);
      if (input && input.value !== undefined) fields[name] = input.value;
    }
    return fields;
  };

  const run = async (control, message) => {
    const kind = control.dataset.passkey;
    const fields = fieldsOf(control);
    message.hidden = true;
    try {
      const start = await post(control.dataset.start, fields);
      const pk = start.options.publicKey;
      const credential = kind === 'register'
        ? registration(await navigator.credentials.create(creationOptions(pk)))
        : assertion(await navigator.credentials.get(requestOptions(pk)));
      fields.ceremony = start.ceremony;
      fields.credential = JSON.stringify(credential);
      const done = await post(control.dataset.finish, fields);
      window.location.assign(done.location);
    } catch (e) {
      // NotAllowedError: the user cancelled, or no passkey was offered.
      message.textContent = e.name === 'NotAllowedError'
        ? 'No passkey was used.'
        : e.message;
      message.hidden = false;
    }
  };

  if (!window.PublicKeyCredential || !navigator.credentials) return;
  for (const control of document.querySelectorAll('[data-passkey]')) {
    const message = document.getElementById(control.dataset.message);
    const block = control.closest('[data-passkey-block]') || control;
    block.hidden = false;
    const handler = (event) => {
      event.preventDefault();
      run(control, message);
    };
    if (control.tagName === 'FORM') control.addEventListener('submit', handler);
    else control.addEventListener('click', handler);
  }
})();
