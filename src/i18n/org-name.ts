// The organisation's name inside a sentence, per language: English "the" before a common-noun
// name, French and Spanish "de" with the article and elision the name calls for. Mail and page
// strings use these; so the name reads the same in an email and on the page it links to.

/**
 * English "the" before an organisation name that is a common noun phrase ("the International
 * Organization for Migration", "the Red Cross Society"), none before a proper name ("Oxfam",
 * "Médecins Sans Frontières") or one that has it already.
 */
export function theEn(name: string): string {
  if (/^the\s/i.test(name)) return name;
  const nouns =
    /\b(organization|organisation|office|agency|fund|programme|program|committee|council|federation|institute|commission|union|bank|association|society|foundation|centre|center|alliance|network|secretariat|ministry|department)\b/i;
  return nouns.test(name) ? `the ${name}` : name;
}

/**
 * French "de" + an organisation name: "de l’Organisation internationale…", "de la Croix-Rouge…",
 * "de Médecins…". A name starting with a vowel or h takes "l’"; one whose first word is a
 * feminine noun (-tion, -sion, -ence, -ance, -té, -ure) takes "la"; any other, "de" alone.
 * A name that already starts with an article ("l’OIM", "la …", "le …") keeps it.
 */
export function deFr(name: string): string {
  if (/^(l['’]|la |le |les )/i.test(name)) return `de ${name}`.replace(/^de le /i, "du ").replace(/^de les /i, "des ");
  if (/^[aeiouyhàâäéèêëîïôöûüæœ]/i.test(name)) return `de l’${name}`;
  const first = name.split(/[\s-]/)[0]!.toLowerCase();
  if (/(tion|sion|ence|ance|té|ure)$/.test(first)) return `de la ${name}`;
  return `de ${name}`;
}

/** Spanish "de" + an organisation name: "de la Organización…" for a feminine first word, else "de". */
export function deEs(name: string): string {
  if (/^(la |el |los |las )/i.test(name)) return `de ${name}`.replace(/^de el /i, "del ");
  const first = name.split(/[\s-]/)[0]!.toLowerCase();
  if (
    /(ción|sión|dad|tad|tud|umbre)$/.test(first) ||
    ["oficina", "agencia", "fundación", "cruz", "unión", "liga", "red"].includes(first)
  )
    return `de la ${name}`;
  if (["fondo", "programa", "comité", "consejo", "instituto", "centro", "servicio", "alto"].includes(first))
    return `del ${name}`;
  return `de ${name}`;
}
