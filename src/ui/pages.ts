/** The UI's two HTML documents: the login page (no script, no data) and the app's shell. */

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const LOGIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
export const APP_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function loginPage(message?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>acictl — log in</title>
<style>
body{font:16px/1.4 system-ui,sans-serif;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center;background:#f4f5f7;color:#1d2330}
main{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;max-width:26rem;width:calc(100% - 2rem);box-sizing:border-box}
h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin-bottom:.4rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #99a;border-radius:4px}
button{margin-top:1rem;padding:.5rem 1rem;font:inherit;background:#1f5fbf;color:#fff;border:0;border-radius:4px;cursor:pointer}
button:focus-visible,input:focus-visible{outline:3px solid #f0a000;outline-offset:2px}
.err{color:#a00;margin:0 0 1rem}code{background:#eef;padding:0 .2rem}
</style></head>
<body><main>
<h1>acictl controller</h1>
${message ? `<p class="err" role="alert">${esc(message)}</p>` : ''}
<form method="post" action="/login">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form>
<p>Open the login link the controller logged on start, or paste the token from <code>&lt;state dir&gt;/token</code>.</p>
</main></body></html>`;
}

export function appPage(csrf: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="acictl-csrf" content="${esc(csrf)}">
<link rel="icon" href="data:,">
<title>acictl</title>
<link rel="stylesheet" href="/ui/static/app.css">
<script type="module" src="/ui/static/app.js"></script>
</head>
<body>
<header class="top"><a href="#/" class="brand">acictl</a><nav><a href="#/">Jobs</a><button type="button" id="logout" class="link">Log out</button></nav></header>
<main id="app" tabindex="-1"><p>Loading…</p></main>
<dialog id="confirm"><form method="dialog"><p id="confirm-text"></p><div class="actions"><button value="cancel" type="submit">Cancel</button><button value="ok" type="submit" class="primary" id="confirm-ok">Confirm</button></div></form></dialog>
</body></html>`;
}
