// The posts SPA: signs in with Tessera (authorization code + PKCE, RFC 7636;
// OAuth 2.0 for Browser-Based Apps), keeps its tokens in memory, refreshes
// them with rotation, and calls the posts API. Every token is bound to a
// key this page can sign with but never read (DPoP, RFC 9449): a token
// copied out of the page is useless without it.
//
// Plain JavaScript, no framework and no build step. The page's CSP allows
// only this file as script, so nothing here may rely on inline handlers.
"use strict";

(() => {
  // The only values that outlive a page load, and only for one redirect
  // round trip: the PKCE verifier, state and nonce (sign-in) and the
  // state (sign-out), in this tab's sessionStorage.
  const SIGN_IN_KEY = "posts.sign-in";
  const SIGN_OUT_KEY = "posts.sign-out";
  const SCOPE = "openid profile posts:write";
  // Refresh this long before the access token expires.
  const REFRESH_MARGIN_SECS = 30;
  // After a network failure, try refreshing again this soon.
  const RETRY_SECS = 10;

  // Tokens live in these variables only, never in localStorage or
  // sessionStorage, where any script injected into this origin (or a
  // browser extension) could read them long after the tab is closed.
  let config = null; // { issuer, client_id } from /api/config
  let endpoints = null; // the issuer's discovery document
  let tokens = null; // { access, refresh, id }
  let user = null; // the ID token's claims, for display only
  let refreshTimer = null;
  let refreshing = null; // the refresh in flight, shared by all callers
  let posts = [];

  const $ = (id) => document.getElementById(id);

  // ---- DPoP: a key the page can use but never export -------------------

  // The key pair lives in IndexedDB, so a reload keeps the binding; the
  // private key is created non-extractable, so no script (this one, an
  // injected one, an extension) can read it, only ask for signatures while
  // the page is open. Sign-out deletes it.
  const KEY_DB = "posts-dpop";
  const KEY_STORE = "keys";
  const KEY_ID = "dpop";
  let dpopKey = null; // { privateKey, jwk }
  let dpopNonce = null; // the token endpoint's latest DPoP-Nonce

  function keyStore(mode, action) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open(KEY_DB, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(KEY_STORE);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        try {
          const tx = db.transaction(KEY_STORE, mode);
          const request = action(tx.objectStore(KEY_STORE));
          tx.oncomplete = () => {
            db.close();
            resolve(request.result);
          };
          tx.onerror = tx.onabort = () => {
            db.close();
            reject(tx.error);
          };
        } catch (err) {
          db.close();
          reject(err);
        }
      };
    });
  }

  async function loadKey() {
    if (dpopKey) return dpopKey;
    let pair = await keyStore("readonly", (store) => store.get(KEY_ID)).catch(() => null);
    if (!pair) {
      pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
        "sign",
        "verify",
      ]);
      // Without IndexedDB (private windows may refuse it) the key lives in
      // memory: the binding then ends with the page.
      await keyStore("readwrite", (store) => store.put(pair, KEY_ID)).catch(() => null);
    }
    // A public key is always exportable; only its members go in proofs.
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    dpopKey = { privateKey: pair.privateKey, jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
    return dpopKey;
  }

  async function forgetKey() {
    dpopKey = null;
    dpopNonce = null;
    await keyStore("readwrite", (store) => store.delete(KEY_ID)).catch(() => null);
  }

  function encodeJson(value) {
    return base64url(new TextEncoder().encode(JSON.stringify(value)));
  }

  // A proof for one request (RFC 9449 §4.2): method, URL without query,
  // time, a unique id, the access token's hash, the server's nonce.
  async function dpopProof(method, url, accessToken, nonce) {
    const key = await loadKey();
    const claims = {
      jti: randomString(16),
      htm: method,
      htu: new URL(url, window.location.href).href.split(/[?#]/)[0],
      iat: Math.floor(Date.now() / 1000),
    };
    if (accessToken) {
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken));
      claims.ath = base64url(digest);
    }
    if (nonce) claims.nonce = nonce;
    const input = encodeJson({ typ: "dpop+jwt", alg: "ES256", jwk: key.jwk }) + "." + encodeJson(claims);
    // WebCrypto's ECDSA signature is already r || s, as JWS wants it.
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      key.privateKey,
      new TextEncoder().encode(input),
    );
    return input + "." + base64url(signature);
  }

  function base64url(bytes) {
    let text = "";
    for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString(byteCount) {
    return base64url(crypto.getRandomValues(new Uint8Array(byteCount)));
  }

  // A JWT's payload, decoded but NOT verified: fine for showing a name.
  // The API verifies the access token; the browser never decides access.
  function jwtPayload(jwt) {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(part + "===".slice((part.length + 3) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  function redirectUri() {
    return window.location.origin + "/";
  }

  function setStatus(text) {
    $("status").textContent = text;
  }

  function showMessage(text) {
    $("message").textContent = text;
  }

  // "only the author ..." becomes "Only the author ...".
  function sentence(text) {
    const trimmed = String(text || "Something went wrong").trim();
    const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
    return /[.!?]$/.test(capital) ? capital : capital + ".";
  }

  function displayName() {
    if (!user) return "";
    return user.name || user.preferred_username || user.sub;
  }

  // ---- Sign-in: authorization code + PKCE -------------------------------

  async function signIn() {
    const verifier = randomString(32);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
    const request = { verifier, state: randomString(16), nonce: randomString(16) };
    sessionStorage.setItem(SIGN_IN_KEY, JSON.stringify(request));
    const query = new URLSearchParams({
      response_type: "code",
      client_id: config.client_id,
      redirect_uri: redirectUri(),
      scope: SCOPE,
      state: request.state,
      nonce: request.nonce,
      code_challenge: base64url(digest),
      code_challenge_method: "S256",
    });
    window.location.assign(endpoints.authorization_endpoint + "?" + query);
  }

  async function finishSignIn(params) {
    // The code is single-use; take it out of the address bar and history
    // before anything else, so a reload or a shared link cannot replay it.
    history.replaceState(null, "", "/");
    const saved = JSON.parse(sessionStorage.getItem(SIGN_IN_KEY) || "null");
    sessionStorage.removeItem(SIGN_IN_KEY);
    // state ties the answer to a request this tab made (CSRF); iss names
    // the server that answered (RFC 9207, against mix-up attacks).
    if (!saved || params.get("state") !== saved.state) {
      showMessage("Sign-in failed: the answer does not match a request from this tab.");
      return;
    }
    if (params.has("error")) {
      showMessage("Sign-in failed: " + sentence(params.get("error_description") || params.get("error")));
      return;
    }
    if (params.has("iss") && params.get("iss") !== config.issuer) {
      showMessage("Sign-in failed: the answer came from another server.");
      return;
    }
    const res = await tokenRequest({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri(),
      client_id: config.client_id,
      code_verifier: saved.verifier,
    });
    if (!res || !res.ok) {
      showMessage("Sign-in failed: " + (await errorText(res)));
      return;
    }
    const body = await res.json();
    const claims = body.id_token ? jwtPayload(body.id_token) : null;
    if (!claims || claims.nonce !== saved.nonce) {
      showMessage("Sign-in failed: the ID token does not belong to this sign-in.");
      return;
    }
    user = claims;
    acceptTokens(body);
  }

  // A token request with a DPoP proof. When the server asks for its nonce
  // (use_dpop_nonce), the request is made once more with it.
  async function tokenRequest(form) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const proof = await dpopProof("POST", endpoints.token_endpoint, null, dpopNonce);
      const res = await fetch(endpoints.token_endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", DPoP: proof },
        body: new URLSearchParams(form),
        credentials: "omit",
        cache: "no-store",
      }).catch(() => null);
      if (!res) return null;
      const nonce = res.headers.get("DPoP-Nonce");
      if (nonce) dpopNonce = nonce;
      if (res.status === 400 && nonce && attempt === 0) {
        const body = await res.clone().json().catch(() => ({}));
        if (body.error === "use_dpop_nonce") continue;
      }
      return res;
    }
    return null;
  }

  async function errorText(res) {
    if (!res) return "the server could not be reached.";
    const body = await res.json().catch(() => ({}));
    return sentence(body.error_description || body.error || "HTTP " + res.status);
  }

  // ---- Tokens in memory, refreshed with rotation -------------------------

  function acceptTokens(body) {
    tokens = {
      access: body.access_token,
      type: body.token_type,
      // Each refresh returns a new refresh token; the old one is now spent
      // (using it again would look like theft and end the session).
      refresh: body.refresh_token || (tokens && tokens.refresh) || null,
      id: body.id_token || (tokens && tokens.id) || null,
    };
    scheduleRefresh(Math.max(5, (body.expires_in || 60) - REFRESH_MARGIN_SECS));
  }

  function scheduleRefresh(seconds) {
    clearTimeout(refreshTimer);
    refreshTimer = tokens && tokens.refresh ? setTimeout(refresh, seconds * 1000) : null;
  }

  // One refresh at a time: two concurrent ones would both present the same
  // refresh token, and the second would be refused as a replay.
  function refresh() {
    if (!refreshing) {
      refreshing = doRefresh().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  async function doRefresh() {
    if (!tokens || !tokens.refresh) return false;
    const res = await tokenRequest({
      grant_type: "refresh_token",
      refresh_token: tokens.refresh,
      client_id: config.client_id,
    });
    if (!res || res.status >= 500) {
      // Not the session's fault: keep the tokens and try again shortly.
      showMessage("Could not reach the sign-in server; retrying.");
      scheduleRefresh(RETRY_SECS);
      return false;
    }
    if (res.ok) {
      acceptTokens(await res.json());
      return true;
    }
    // invalid_grant: the session was signed out, revoked or has expired.
    signedOut("You have been signed out.");
    return false;
  }

  function clearTokens() {
    clearTimeout(refreshTimer);
    tokens = null;
    user = null;
  }

  function signedOut(status) {
    clearTokens();
    setStatus(status);
    render();
  }

  // ---- Sign-out: RP-Initiated Logout -------------------------------------

  function signOut() {
    const state = randomString(16);
    sessionStorage.setItem(SIGN_OUT_KEY, state);
    const query = new URLSearchParams({
      client_id: config.client_id,
      post_logout_redirect_uri: redirectUri(),
      state,
    });
    if (tokens && tokens.id) query.set("id_token_hint", tokens.id);
    clearTokens();
    // The key goes with the session: the next sign-in binds a new one.
    forgetKey().then(() => window.location.assign(endpoints.end_session_endpoint + "?" + query));
  }

  function finishSignOut(params) {
    history.replaceState(null, "", "/");
    const expected = sessionStorage.getItem(SIGN_OUT_KEY);
    sessionStorage.removeItem(SIGN_OUT_KEY);
    if (expected && params.get("state") === expected) setStatus("You have signed out.");
  }

  // ---- The posts API -----------------------------------------------------

  async function callApi(method, path, body) {
    const headers = { Accept: "application/json" };
    if (tokens && tokens.type === "DPoP") {
      headers.Authorization = "DPoP " + tokens.access;
      headers.DPoP = await dpopProof(method, path, tokens.access, null);
    } else if (tokens) {
      headers.Authorization = "Bearer " + tokens.access;
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const json = body === undefined ? undefined : JSON.stringify(body);
    return fetch(path, { method, headers, body: json, cache: "no-store" }).catch(() => null);
  }

  // Sends a request; on a 401 refreshes once and retries once.
  async function api(method, path, body) {
    let res = await callApi(method, path, body);
    if (res && res.status === 401 && tokens) {
      if (!(await refresh())) return res;
      res = await callApi(method, path, body);
    }
    return res;
  }

  async function showFailure(res) {
    if (!res) return showMessage("Could not reach the posts API.");
    if (res.status === 401) {
      if (tokens) signedOut("You have been signed out.");
      return showMessage("Your session has ended. Please sign in again.");
    }
    if (res.status === 404) return showMessage("That post no longer exists.");
    if (res.status === 503) return showMessage("The service is unavailable. Please try again.");
    showMessage(await errorText(res));
  }

  async function loadPosts() {
    const res = await callApi("GET", "/api/posts");
    if (!res || !res.ok) return showFailure(res);
    posts = await res.json();
    renderPosts();
  }

  async function publish(event) {
    event.preventDefault();
    showMessage("");
    const form = $("new-post");
    const post = {
      title: $("post-title").value,
      body: $("post-body").value,
      author_name: displayName(),
    };
    const res = await api("POST", "/api/posts", post);
    if (res && res.status === 201) {
      form.reset();
      setStatus("Published.");
    } else {
      await showFailure(res);
    }
    await loadPosts();
  }

  async function remove(id) {
    showMessage("");
    const res = await api("DELETE", "/api/posts/" + encodeURIComponent(id));
    if (res && res.status === 204) {
      setStatus("Post deleted.");
    } else {
      await showFailure(res);
    }
    await loadPosts();
  }

  // ---- Rendering (textContent only, so post text is never markup) -------

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function postItem(post) {
    const item = element("li");
    item.dataset.id = String(post.id);
    const when = new Date(post.created_at * 1000).toLocaleString();
    const meta = element("div", undefined, "meta");
    meta.append(element("span", "by " + post.author_name + " · " + when));
    if (tokens) {
      // Shown on every post: the API, not this page, decides who may delete.
      const button = element("button", "Delete", "delete");
      button.type = "button";
      button.addEventListener("click", () => remove(post.id));
      meta.append(button);
    }
    item.append(element("h3", post.title), element("p", post.body), meta);
    return item;
  }

  function renderPosts() {
    $("posts").replaceChildren(...posts.map(postItem));
    $("empty").hidden = posts.length > 0;
  }

  function render() {
    const signedIn = tokens !== null;
    $("user").hidden = !signedIn;
    $("user").textContent = signedIn ? "Signed in as " + displayName() : "";
    $("sign-in").hidden = signedIn;
    $("sign-in").disabled = endpoints === null;
    $("sign-out").hidden = !signedIn;
    $("new-post").hidden = !signedIn;
    renderPosts();
  }

  async function loadIssuer() {
    const res = await fetch("/api/config", { cache: "no-store" });
    config = await res.json();
    // Tessera answers discovery with CORS headers for registered origins.
    const discovery = await fetch(config.issuer + "/.well-known/openid-configuration");
    if (!discovery.ok) throw new Error("discovery failed: " + discovery.status);
    const meta = await discovery.json();
    // Only trust a document that names the issuer we asked (OIDC
    // Discovery §4.3), or another server could redirect our sign-in.
    if (meta.issuer !== config.issuer) throw new Error("issuer mismatch");
    endpoints = meta;
  }

  async function start() {
    $("sign-in").addEventListener("click", () => {
      signIn().catch(() => showMessage("Could not start the sign-in."));
    });
    $("sign-out").addEventListener("click", signOut);
    $("new-post").addEventListener("submit", publish);
    try {
      await loadIssuer();
    } catch (err) {
      showMessage("Cannot reach the sign-in server" + (config ? " at " + config.issuer : "") + ".");
    }
    const params = new URLSearchParams(window.location.search);
    if (endpoints && (params.has("code") || params.has("error"))) {
      await finishSignIn(params);
    } else if (params.has("state")) {
      finishSignOut(params);
    }
    render();
    await loadPosts();
    document.body.dataset.ready = "true";
  }

  start();
})();
