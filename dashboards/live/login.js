// Sign in: POST JSON to /api/auth/login; the server sets the session and CSRF cookies.
"use strict";
document.getElementById("login-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const error = document.getElementById("login-error");
  error.hidden = true;
  try {
    const r = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        username: document.getElementById("username").value,
        password: document.getElementById("password").value,
      }),
    });
    if (r.ok) {
      // Only this site: never an open redirect. Resolve `next` as the browser would, since
      // "/\host" and "/<tab>/host" both lead off-site though they start with one "/".
      const next = new URL(new URLSearchParams(location.search).get("next") || "/", location.href);
      // A deep link's fragment (#room/A) never reaches the server: the browser keeps it on
      // this page through the redirect, so take it from here when `next` has none.
      location.replace(next.origin === location.origin ? next.pathname + next.search + (next.hash || location.hash) : "/");
      return;
    }
    const body = await r.json().catch(() => ({}));
    error.textContent = r.status === 401 ? "Wrong username or password." :
      r.status === 429 ? `Too many failed sign-ins: ${body.detail}.` :
      `Sign-in failed: ${typeof body.detail === "string" ? body.detail : r.status}`;
  } catch (e) {
    error.textContent = "Vigil is not reachable. Check the network and try again.";
  }
  error.hidden = false;
});
