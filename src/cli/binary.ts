// Files a command reads (a release to import, a subscriber CSV): refused with one line when they are
// not text, before any parser sees them.

/**
 * True for content that is not text: any NUL byte, or more than one character in ten that
 * is invalid UTF-8 or a control character. Checks the first 64 KiB, which decides any real file.
 */
export function isProbablyBinary(buf: Buffer): boolean {
  const sample = buf.subarray(0, 64 * 1024);
  if (sample.includes(0)) return true;
  const text = new TextDecoder("utf-8", { fatal: false }).decode(sample);
  if (text.length === 0) return false;
  let bad = 0;
  for (const ch of text) if (ch === "\uFFFD" || /[\u0001-\u0008\u000e-\u001a\u001c-\u001f\u007f]/.test(ch)) bad++;
  return bad / text.length > 0.1;
}
