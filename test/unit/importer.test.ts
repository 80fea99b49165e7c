// The importer turns a scraped press-release page into release JSON. The seed test uses the
// real scraped sample in test/fixtures/seeds; the other fixtures are our own text, shaped like
// the pages press offices actually save (menus, breadcrumbs, share widgets, footers).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isProbablyBinary } from "../../src/cli/binary.ts";
import { ancestors, elements, type HtmlElement, parseHtml, textOf } from "../../src/releases/import/html-parser.ts";
import { ImportError, importPage, looksLikeHtml } from "../../src/releases/importer.ts";
import { type ReleaseInput, releaseInputSchema } from "../../src/releases/model.ts";

const SEED = readFileSync(new URL("../fixtures/seeds/000_c917e069518bdab8.txt", import.meta.url), "utf8");
const fixture = (name: string) => readFileSync(new URL(`../fixtures/import/${name}`, import.meta.url), "utf8");

/** Imports and checks the one promise every import makes: the result is a valid ReleaseInput. */
function imported(content: string, options?: Parameters<typeof importPage>[1]): ReleaseInput {
  const release = importPage(content, options);
  const parsed = releaseInputSchema.safeParse(release);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return release;
}

function paragraphs(body: string): string[] {
  return [...body.matchAll(/<p>(.*?)<\/p>/g)].map((m) => m[1]!);
}

function thrown(run: () => unknown): ImportError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ImportError);
    return err as ImportError;
  }
  throw new Error("expected an ImportError");
}

describe("importPage on the scraped sample (seeds/000)", () => {
  const release = imported(SEED);
  const paras = paragraphs(release.body);

  it("finds the title below the site menus", () => {
    expect(release.title).toBe("Conference Focuses on Greater Protection of Trafficked Victims in Djibouti");
  });

  it("rejoins the hard-wrapped body into the release's six paragraphs and nothing else", () => {
    expect(paras).toHaveLength(6);
    expect(release.body).toBe(paras.map((p) => `<p>${p}</p>`).join("\n"));
    expect(paras[0]).toMatch(/^IOM, the United States Department of Justice and the United Nations High Commissioner/);
    expect(paras[0]).toMatch(/trafficking victims in Djibouti\.$/);
    expect(paras[3]).toMatch(/^The event is partly supported by the US Department of State, Office to Monitor/);
    expect(paras[5]).toMatch(/irregular migrants in the region\.$/);
    for (const p of paras) expect(p).not.toMatch(/ {2}|\n/);
  });

  it("leaves out every site line and the contact block", () => {
    for (const chrome of [
      "Who we are",
      "WHO WE ARE",
      "Our Work",
      "Take Action",
      "Work with us",
      "Get involved",
      "2030 Agenda",
      "Data and Research",
      "Alem Brook",
      "mailto",
      "Tel:",
      "For more information",
    ]) {
      expect(release.body).not.toContain(chrome);
    }
  });

  it("reads the contact block and repairs the broken mailto link", () => {
    expect(release.contacts).toEqual([
      { name: "Alem Brook", office: "IOM Djibouti", phone: "+253 352 459", email: "balem@iom.int" },
    ]);
  });

  it("takes the dateline from the contact office, since the text opens with no place", () => {
    expect(release.dateline).toBe("Djibouti");
  });

  it("guesses nothing: language en, no topics, regions or date", () => {
    expect(release.language).toBe("en");
    expect(release.topics).toEqual([]);
    expect(release.regions).toEqual([]);
    expect(release).not.toHaveProperty("publishedAt");
    expect(release).not.toHaveProperty("url");
  });

  it("lets options fill what the page does not say", () => {
    const withOptions = imported(SEED, {
      publishedAt: "2026-02-07T09:00:00Z",
      topics: ["counter-trafficking"],
      regions: ["djibouti", "east-africa"],
      language: "fr",
      url: "https://www.example.org/news/djibouti-conference",
    });
    expect(withOptions).toMatchObject({
      publishedAt: "2026-02-07T09:00:00Z",
      topics: ["counter-trafficking"],
      regions: ["djibouti", "east-africa"],
      language: "fr",
      url: "https://www.example.org/news/djibouti-conference",
    });
  });

  it("is detected as plain text despite the stray markup of the broken link", () => {
    expect(looksLikeHtml(SEED)).toBe(false);
  });
});

describe("importPage on plain-text pages", () => {
  it("reads a page with blank-line paragraphs, a stated date, a place dateline and an inline contact", () => {
    const release = imported(fixture("text-inline-contact.txt"));
    expect(release.title).toBe("Returnees in Northern Uganda Restart Businesses with Cash Grants");
    expect(release.publishedAt).toBe("2026-03-12T00:00:00Z");
    expect(release.dateline).toBe("KAMPALA, Uganda");
    const paras = paragraphs(release.body);
    expect(paras).toHaveLength(4);
    expect(paras[0]).toMatch(/^More than 1,200 returnees/);
    expect(paras[2]).toBe(
      "“A grant alone is gone in a month, but a savings group keeps going,” said Okello Peter, a district community development officer in Gulu. “The groups meet every Friday and nobody wants to miss it.”",
    );
    expect(release.body).not.toMatch(/Published on|Skip to|Français|Home &gt;|Share|Facebook|©|Grace Achieng/);
    expect(release.contacts).toEqual([
      { name: "Grace Achieng", office: "IOM Uganda", phone: "+256 312 263 210", email: "gachieng@example.org" },
    ]);
  });

  it("reads several contacts in block form with Tel. / Phone: / Mobile: and Email / E-mail:", () => {
    const release = imported(fixture("text-several-contacts.txt"));
    expect(release.title).toBe("Cities Agree on Checklist for Including Migrants in Public Services");
    expect(release.dateline).toBe("GENEVA");
    expect(paragraphs(release.body)).toHaveLength(4);
    expect(paragraphs(release.body)[0]).toMatch(/^Ministers and mayors/);
    expect(release.body).not.toMatch(/WHO WE ARE|Media Centre|Press releases|Sofia|Lindqvist/);
    expect(release.contacts).toEqual([
      { name: "Sofia Marquez", office: "IOM Geneva", phone: "+41 22 717 9405", email: "smarquez@example.org" },
      {
        name: "Tomas Lindqvist",
        office: "IOM Regional Office for Europe",
        phone: "+32 2 287 7000",
        email: "tlindqvist@example.org",
      },
    ]);
  });

  it("reads a wrapped 'For further information, please contact … or …' paragraph as two contacts", () => {
    const release = imported(fixture("text-inline-or.txt"));
    expect(release.contacts).toEqual([
      { name: "Jean Dupont", office: "IOM Rome", phone: "+39 06 4423 1428", email: "jdupont@example.org" },
      { name: "Amina Yusuf", office: "IOM Tripoli", phone: "+218 91 000 2345", email: "ayusuf@example.org" },
    ]);
    expect(release.dateline).toBe("Rome");
    expect(paragraphs(release.body)).toHaveLength(2);
    expect(release.body).not.toContain("further information");
  });

  it("reads a page with one paragraph per line, a subheading, a list, CRLF endings and no contacts", () => {
    const release = imported(fixture("text-no-contact.txt"));
    expect(release.title).toBe("Q&A: What the New Labour Mobility Agreement Means for Seasonal Workers");
    expect(release.contacts).toEqual([]);
    expect(release).not.toHaveProperty("dateline");
    expect(release.body).toContain("<p>What changes for workers</p>");
    expect(release.body).toContain(
      "<ul><li>No recruitment fees, in any form.</li><li>A written contract before departure.</li><li>The right to change employer if conditions are not met.</li></ul>",
    );
    expect(release.body).toContain("&quot;unannounced &amp; frequent&quot;");
    expect(release.body).not.toMatch(/\r/);
  });

  it("escapes &, <, > and quotes in the text", () => {
    const release = imported(
      'A Title With <b>Markup</b> & "Quotes"\n\nThe <script>alert(1)</script> tag & a "quote" stay text.\n',
    );
    expect(release.title).toBe('A Title With <b>Markup</b> & "Quotes"');
    expect(release.body).toBe(
      "<p>The &lt;script&gt;alert(1)&lt;/script&gt; tag &amp; a &quot;quote&quot; stay text.</p>",
    );
  });

  it("keeps a word hyphenated at the end of a wrapped line whole", () => {
    const release = imported(
      "Border Officials Train on Victim Identification\n\nThe course covered interviewing techniques and the national counter-\ntrafficking referral system, and officials practised with case studies\nfrom the region.\n",
    );
    expect(release.body).toBe(
      "<p>The course covered interviewing techniques and the national counter-trafficking referral system, and officials practised with case studies from the region.</p>",
    );
  });

  it("takes a 'City, Country –' dateline out of the first paragraph only", () => {
    const release = imported(
      "Clinic Opens for Migrant Workers\n\nDoha, Qatar – A clinic opened today.\n\nBerlin – not a dateline here.\n",
    );
    expect(release.dateline).toBe("Doha, Qatar");
    expect(paragraphs(release.body)).toEqual(["A clinic opened today.", "Berlin – not a dateline here."]);
  });

  it("does not mistake an organisation for a dateline", () => {
    const release = imported(
      "Agency Marks Its Anniversary Today\n\nIOM – the UN Migration Agency – marks its anniversary today.\n",
    );
    expect(release).not.toHaveProperty("dateline");
    expect(paragraphs(release.body)[0]).toMatch(/^IOM – the UN Migration Agency/);
  });
});

describe("contact phrasings", () => {
  const page = (contact: string) =>
    `Health Screening Expands at Border Crossings\n\nScreening now runs at six crossings, and teams refer people to clinics the same day.\n\n${contact}\n`;

  it.each([
    [
      "block form",
      "For more information, please contact:\nLena Okafor\nIOM Abuja\nTel: +234 9 461 2270\nEmail: lokafor@example.org",
      [{ name: "Lena Okafor", office: "IOM Abuja", phone: "+234 9 461 2270", email: "lokafor@example.org" }],
    ],
    [
      "block form with an empty E-mail: label and the broken mailto link on the next line",
      'For more information, please contact:\nLena Okafor\nIOM Abuja\nMobile: +234 803 555 0142\nE-mail:\n"mailto:lokafor@example.org">lokafor@example.org',
      [{ name: "Lena Okafor", office: "IOM Abuja", phone: "+234 803 555 0142", email: "lokafor@example.org" }],
    ],
    [
      "one line: For further information, please contact …",
      "For further information, please contact Lena Okafor, IOM Abuja, Phone: +234 9 461 2270, E-mail: lokafor@example.org",
      [{ name: "Lena Okafor", office: "IOM Abuja", phone: "+234 9 461 2270", email: "lokafor@example.org" }],
    ],
    [
      "inline: For more information please contact: NAME at IOM OFFICE, Tel: …, Email: …",
      "For more information please contact: Lena Okafor at IOM Abuja, Tel: +234 9 461 2270, Email: lokafor@example.org.",
      [{ name: "Lena Okafor", office: "IOM Abuja", phone: "+234 9 461 2270", email: "lokafor@example.org" }],
    ],
    [
      "inline with 'or' and 'Email' without a colon",
      "For more information please contact Lena Okafor at IOM Abuja, Tel. +234 9 461 2270, Email lokafor@example.org or Musa Bello at IOM Kano, Mobile: +234 803 555 0199, Email mbello@example.org",
      [
        { name: "Lena Okafor", office: "IOM Abuja", phone: "+234 9 461 2270", email: "lokafor@example.org" },
        { name: "Musa Bello", office: "IOM Kano", phone: "+234 803 555 0199", email: "mbello@example.org" },
      ],
    ],
    [
      "several contacts in block form, one per line",
      "Media contacts:\nLena Okafor, IOM Abuja, Tel: +234 9 461 2270, Email: lokafor@example.org\nMusa Bello, IOM Kano, Phone: +234 803 555 0199, Email: mbello@example.org",
      [
        { name: "Lena Okafor", office: "IOM Abuja", phone: "+234 9 461 2270", email: "lokafor@example.org" },
        { name: "Musa Bello", office: "IOM Kano", phone: "+234 803 555 0199", email: "mbello@example.org" },
      ],
    ],
    [
      "a contact with a name and an email only",
      "For more information, please contact:\nSeán O'Brien\nEmail: sobrien@example.org",
      [{ name: "Seán O'Brien", email: "sobrien@example.org" }],
    ],
  ])("%s", (_what, contact, expected) => {
    const release = imported(page(contact));
    expect(release.contacts).toEqual(expected);
    expect(paragraphs(release.body)).toEqual([
      "Screening now runs at six crossings, and teams refer people to clinics the same day.",
    ]);
  });

  it("finds no contacts on a page without a contact block", () => {
    expect(imported(page("The teams will report again in June.")).contacts).toEqual([]);
  });

  it("does not take a 'visit our website' line for a contact block", () => {
    const release = imported(page("For more information, visit www.example.org."));
    expect(release.contacts).toEqual([]);
    expect(release.body).toContain("visit www.example.org");
  });

  it("drops an address that is not an email address and keeps phones as written", () => {
    const release = imported(
      page("For more information, please contact:\nLena Okafor\nTel: (+234) 9-461-2270\nEmail: lokafor@example"),
    );
    expect(release.contacts).toEqual([{ name: "Lena Okafor", phone: "(+234) 9-461-2270" }]);
  });
});

describe("importPage on an HTML page", () => {
  const html = fixture("iom-style-release.html");
  const release = imported(html);

  it("takes the title from the release's <h1>, not the site logo's", () => {
    expect(release.title).toBe("Flood Response Reaches 40,000 Displaced People in Northern Kenya");
  });

  it("keeps the release's paragraphs, subheading, list, quote and links", () => {
    expect(release.body).toMatch(/^<p>Emergency teams have delivered shelter kits/);
    expect(release.body).toContain("<h2>Water first</h2>");
    expect(release.body).toContain("<ul><li>6,500 emergency shelter kits with tarpaulins, rope and tools;</li>");
    expect(release.body).toContain("water trucking to 14 displacement sites &lt;until the boreholes are repaired&gt;;");
    expect(release.body).toContain("<blockquote><p>“We left with nothing but the children.");
    expect(release.body).toContain("cholera &amp; other waterborne diseases");
    expect(release.body).toContain('<a href="https://www.example.org/donors/ecfund">Emergency Contingency Fund</a>');
    // A relative link is resolved against the page's canonical URL.
    expect(release.body).toContain('<a href="https://www.example.org/appeals/kenya-floods-2026">2026 flood appeal</a>');
  });

  it("drops header, nav, breadcrumb, cookie banner, share links, forms, tags, related content and footer", () => {
    for (const chrome of [
      "Skip to main content",
      "cookies",
      "Accept all",
      "Newsroom",
      "Who we are",
      "WHO WE ARE",
      "Search",
      "Home",
      "Facebook",
      "Twitter",
      "Share",
      "Sign up",
      "Subscribe",
      "Tags",
      "Related stories",
      "Drought Response",
      "Latest news",
      "Contact us",
      "©",
      "trackRead",
      "dataLayer",
      "14 April 2026",
    ]) {
      expect(release.body).not.toContain(chrome);
    }
    expect(release.body).not.toMatch(/<script|<style|<form|<img|<nav|<strong/i);
  });

  it("reads the contact paragraphs and leaves them out of the body", () => {
    expect(release.contacts).toEqual([
      { name: "Wanjiru Kamau", office: "IOM Kenya", phone: "+254 20 444 0171", email: "wkamau@example.org" },
      {
        name: "Daniel Osei",
        office: "IOM Regional Office for East and Horn of Africa",
        phone: "+254 722 000 318",
        email: "dosei@example.org",
      },
    ]);
    expect(release.body).not.toMatch(/For more information|Daniel Osei|wkamau@/);
    expect(release.body).toMatch(/38 per cent funded\.<\/p>$/);
  });

  it("takes dateline, date, language and canonical URL from the page, and no topics from its keywords", () => {
    expect(release.dateline).toBe("NAIROBI");
    expect(release.publishedAt).toBe("2026-04-14T08:30:00+03:00");
    expect(release.language).toBe("en");
    expect(release.url).toBe(
      "https://www.example.org/news/flood-response-reaches-40000-displaced-people-northern-kenya",
    );
    expect(release.topics).toEqual([]);
    expect(release.regions).toEqual([]);
  });

  it("prefers what the page states over options", () => {
    const withOptions = imported(html, {
      publishedAt: "2020-01-01T00:00:00Z",
      language: "fr",
      url: "https://other.example.org/x",
    });
    expect(withOptions.publishedAt).toBe("2026-04-14T08:30:00+03:00");
    expect(withOptions.language).toBe("en");
    expect(withOptions.url).toBe(
      "https://www.example.org/news/flood-response-reaches-40000-displaced-people-northern-kenya",
    );
  });

  it("falls back to og:title, then to <title> without the site name", () => {
    const body = "<main><p>IOM opened a new office today in the city centre.</p></main>";
    const og = `<html><head><meta property="og:title" content="New Office Opens"><title>Other | Site</title></head><body>${body}</body></html>`;
    expect(imported(og).title).toBe("New Office Opens");
    const titled = `<html><head><title>New Office Opens | International Organization for Migration</title></head><body>${body}</body></html>`;
    expect(imported(titled).title).toBe("New Office Opens");
    const dashed = `<html><head><meta property="og:site_name" content="Example Agency"><title>New Office Opens – Example Agency</title></head><body>${body}</body></html>`;
    expect(imported(dashed).title).toBe("New Office Opens");
  });

  it("reads <time datetime> and 'Published on …' when there is no article:published_time", () => {
    const timed = imported(
      '<html lang="es"><body><article><h1>Nueva oficina</h1><time datetime="2026-05-02">2 May 2026</time><p>Texto del comunicado.</p></article></body></html>',
    );
    expect(timed.publishedAt).toBe("2026-05-02T00:00:00Z");
    expect(timed.language).toBe("es");
    expect(timed.body).toBe("<p>Texto del comunicado.</p>");
    const stated = imported(
      "<html><body><main><h1>New Office</h1><p>Published on 7 February 2026</p><p>Text of the release.</p></main></body></html>",
    );
    expect(stated.publishedAt).toBe("2026-02-07T00:00:00Z");
    expect(stated.body).toBe("<p>Text of the release.</p>");
  });

  it("splits <br><br> into paragraphs, tolerates unclosed <p> and <li>, and decodes entities", () => {
    const release = imported(
      "<body><h1>Caf&eacute; Opens</h1><div>First line.<br><br>Second&nbsp;line &#8211; &#x201C;quoted&#x201D;.</div><p>Unclosed one<p>Unclosed two<ul><li>a<li>b</ul></body>",
    );
    expect(release.title).toBe("Café Opens");
    expect(release.body).toBe(
      "<p>First line.</p>\n<p>Second line – “quoted”.</p>\n<p>Unclosed one</p>\n<p>Unclosed two</p>\n<ul><li>a</li><li>b</li></ul>",
    );
  });

  it("drops chrome marked by role, hidden, aria-hidden, display:none or class, wherever it sits", () => {
    const release = imported(
      '<body><div role="navigation">Menu A</div><main><h1>Chrome Test Page</h1><div role="complementary">Aside B</div>' +
        '<p>Kept paragraph.</p><p hidden>Hidden C</p><p aria-hidden="true">Hidden D</p><p style="display: none">Hidden E</p>' +
        '<div class="a2a_kit addtoany">Share F</div><div id="cookie-notice">Cookie G</div><ol class="breadcrumb"><li>Crumb H</li></ol></main></body>',
    );
    expect(release.body).toBe("<p>Kept paragraph.</p>");
  });

  it("takes a <time> as the date only above the first paragraph, not one inside the text", () => {
    const release = imported(
      '<body><h1>Conference Dates Announced</h1><p>The conference opens on <time datetime="2026-09-01">1 September</time>.</p></body>',
    );
    expect(release).not.toHaveProperty("publishedAt");
  });

  it("is detected by its markup even without <html> or a doctype", () => {
    expect(looksLikeHtml("<h1>Title</h1><p>One.</p><p>Two.</p>")).toBe(true);
    expect(looksLikeHtml("Title\n\nA <b>bold</b> claim.\n")).toBe(false);
  });

  it("drops javascript: and fragment links but keeps their text", () => {
    const release = imported(
      '<body><h1>Links Test Page</h1><p><a href="javascript:alert(1)">Click</a> and <a href="#top">top</a>.</p></body>',
    );
    expect(release.body).toBe("<p>Click and top.</p>");
  });

  it("uses options.url to resolve relative links when the page names no canonical URL", () => {
    const release = imported(
      '<body><h1>Appeal Launched Today</h1><p>See the <a href="/appeal">appeal</a>.</p></body>',
      {
        url: "https://www.example.org/news/appeal",
      },
    );
    expect(release.body).toBe('<p>See the <a href="https://www.example.org/appeal">appeal</a>.</p>');
    expect(release.url).toBe("https://www.example.org/news/appeal");
  });
});

describe("the HTML parser on hostile pages", () => {
  const depth = (el: HtmlElement): number => {
    let deepest = 0;
    for (const e of elements(el)) deepest = Math.max(deepest, ancestors(e).length);
    return deepest;
  };

  it("flattens nesting deeper than its limit, keeping the text, in linear time", () => {
    for (const open of ["<div>", "<b><p>", "<a title='x'>"]) {
      const started = performance.now();
      const root = parseHtml(`${open.repeat(200_000)}deep text${"</div>".repeat(1000)}`);
      // htmlparser2's own Parser takes minutes on these (its stack is quadratic); ours stays linear.
      expect(performance.now() - started).toBeLessThan(20_000);
      expect(depth(root)).toBeLessThanOrEqual(256);
      expect(textOf(root)).toBe("deep text");
    }
  });

  it("reads quotes, entities and raw text as browsers do", () => {
    const root = parseHtml(
      `<a title="O'Brien" href='?a=1&not=2&amp;b' title="second">x &copy; &#x41;</a><script>if (a<b) "</p>"</script><title>Caf&eacute;</title>`,
    );
    const [a, script, title] = [...elements(root)];
    expect(a!.attrs).toEqual({ title: "O'Brien", href: "?a=1&not=2&b" });
    expect(textOf(a!)).toBe("x © A");
    expect(script!.children).toEqual([{ kind: "text", text: 'if (a<b) "</p>"' }]);
    expect(textOf(title!)).toBe("Café");
  });
});

describe("ImportError", () => {
  it.each([
    ["an empty page", "", /^the page is empty/],
    ["a blank page", " \n\t\n", /^the page is empty/],
    ["a text page with no heading line", "just some words without an end\nand more words here\n", /^no title found/],
    [
      "an HTML page with no <h1>, og:title or <title>",
      "<html><body><div><p>Only text.</p><p>More.</p></div></body></html>",
      /^no title found: the page has no <h1>/,
    ],
    [
      "an HTML page with a title but no paragraphs",
      "<html><body><h1>Title Only Here</h1><nav><p>Menu text</p></nav></body></html>",
      /^no body found/,
    ],
  ])("is thrown for %s with a one-line message", (_what, content, message) => {
    const err = thrown(() => importPage(content));
    expect(err.code).toBe("HERALD_IMPORT");
    expect(err.message).toMatch(message);
    expect(err.message).not.toMatch(/\n/);
  });

  it("names the field when options make the release invalid", () => {
    const err = thrown(() => importPage(SEED, { topics: ["Not A Slug!"] }));
    expect(err.message).toMatch(/^the imported release is invalid: topics\.0: /);
  });
});

describe("isProbablyBinary", () => {
  it("accepts UTF-8 text, including accents and scripts beyond Latin", () => {
    expect(isProbablyBinary(Buffer.from(SEED))).toBe(false);
    expect(isProbablyBinary(Buffer.from("Genève – les migrants ont reçu une aide. مرحبا 你好\n"))).toBe(false);
    expect(isProbablyBinary(Buffer.alloc(0))).toBe(false);
  });

  it("accepts Latin-1 text with the odd invalid UTF-8 byte", () => {
    expect(
      isProbablyBinary(Buffer.from("Les migrants à Genève ont reçu une aide d'urgence cette semaine.", "latin1")),
    ).toBe(false);
  });

  it("refuses content with NUL bytes, such as a PNG or a UTF-16 file", () => {
    expect(isProbablyBinary(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]))).toBe(true);
    expect(isProbablyBinary(Buffer.from("Title", "utf16le"))).toBe(true);
  });

  it("refuses content that is mostly invalid UTF-8 or control characters", () => {
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => 0x80 + ((i * 37) % 0x7f) || 1));
    expect(isProbablyBinary(noise)).toBe(true);
    expect(isProbablyBinary(Buffer.from("\u0001\u0002\u0003\u0004abc\u0005\u0006"))).toBe(true);
  });
});
