// The one HTML shell every public page uses. `head` is the slot for extra <head> markup
// (e.g. feed discovery links); pages put their content in `body`.
import { escapeHtml } from "../../templates/render.ts";

export interface PageOptions {
  lang: string;
  title: string;
  /** Already-escaped HTML. */
  body: string;
  /** Extra <head> markup (trusted HTML), such as <link rel="alternate"> feed discovery links. */
  head?: string;
  orgName: string;
  brandColor: string;
}

export function page(o: PageOptions): string {
  return `<!doctype html>
<html lang="${escapeHtml(o.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(o.title)} · ${escapeHtml(o.orgName)}</title>
${o.head ?? ""}
<style>
body{font-family:Helvetica,Arial,sans-serif;margin:0;background:#f4f4f4;color:#222}
header{background:${o.brandColor};color:#fff;padding:16px 24px;font-weight:bold;font-size:20px}
main{max-width:560px;margin:24px auto;background:#fff;padding:24px;border-radius:4px}
label{display:block;margin:12px 0 4px;font-weight:bold}
input[type=email],input[type=text],select{width:100%;padding:8px;box-sizing:border-box}
fieldset{border:1px solid #ddd;margin:12px 0}fieldset label{display:inline-block;font-weight:normal;margin-right:12px}
button{background:${o.brandColor};color:#fff;border:0;padding:10px 18px;font-size:16px;margin-top:16px;cursor:pointer}
.error{color:#a00}.note{color:#555;font-size:14px}
</style>
</head>
<body>
<header>${escapeHtml(o.orgName)}</header>
<main>
<h1>${escapeHtml(o.title)}</h1>
${o.body}
</main>
</body>
</html>
`;
}
