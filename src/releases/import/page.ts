// What the HTML and plain-text readers both hand to the importer, and how a body is rendered.
// Rendering emits only p, h2-h4, ul/ol/li, blockquote and a[href]; all text is escaped here,
// so nothing from the page can smuggle markup (script, style, event handlers) into the body.
import { escapeHtml } from "../sanitize.ts";

export type Inline = { text: string; href?: string } | { br: true };

export type Block =
  | { kind: "p" | "h2" | "h3" | "h4"; inlines: Inline[] }
  | { kind: "ul" | "ol"; items: Inline[][] }
  | { kind: "blockquote"; blocks: Block[] };

export interface ScrapedPage {
  title: string | undefined;
  /** The release's own paragraphs, in order, without title, date line or contact block. */
  body: Block[];
  /** The contact section as groups of lines (one group per paragraph of the page). */
  contactGroups: string[][];
  publishedAt?: string;
  language?: string;
  url?: string;
}

export function paragraph(text: string): Block {
  return { kind: "p", inlines: [{ text }] };
}

/** A block's text, with line breaks (<br>, list items) kept as "\n". */
export function blockText(block: Block): string {
  switch (block.kind) {
    case "ul":
    case "ol":
      return block.items.map(inlineText).join("\n");
    case "blockquote":
      return block.blocks.map(blockText).join("\n");
    default:
      return inlineText(block.inlines);
  }
}

export function inlineText(inlines: Inline[]): string {
  return inlines
    .map((i) => ("br" in i ? "\n" : i.text))
    .join("")
    .split("\n")
    .map((line) => line.replace(/\s+/g, " ").trim())
    .join("\n")
    .trim();
}

export function renderBlocks(blocks: Block[]): string {
  return blocks.map(renderBlock).filter(Boolean).join("\n");
}

function renderBlock(block: Block): string {
  switch (block.kind) {
    case "ul":
    case "ol": {
      const items = block.items.map(renderInlines).filter(Boolean);
      return items.length ? `<${block.kind}>${items.map((i) => `<li>${i}</li>`).join("")}</${block.kind}>` : "";
    }
    case "blockquote": {
      const inner = renderBlocks(block.blocks);
      return inner ? `<blockquote>${inner}</blockquote>` : "";
    }
    default: {
      const inner = renderInlines(block.inlines);
      return inner ? `<${block.kind}>${inner}</${block.kind}>` : "";
    }
  }
}

/** A <br> becomes a space: line breaks inside a paragraph are layout, not content. */
function renderInlines(inlines: Inline[]): string {
  const html = inlines
    .map((i) => {
      if ("br" in i) return " ";
      if (i.href) return `<a href="${escapeHtml(i.href)}">${escapeHtml(i.text.trim())}</a>`;
      return escapeHtml(i.text);
    })
    .join("");
  return html.replace(/\s+/g, " ").trim();
}
