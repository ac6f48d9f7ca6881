// Markdown rendering for the chat page: marked for the markdown, KaTeX for the math R1 writes, highlight.js for
// code, and DOMPurify over the result, so model output never reaches the page as raw HTML. Loaded before app.js,
// which calls renderMarkdown().
"use strict";

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
}

function renderTex(tex, display) {
  if (!window.katex) return `<code>${escapeHtml(tex)}</code>`;
  return katex.renderToString(tex, {displayMode: display, throwOnError: false, output: "htmlAndMathml"});
}

// Length of a "\boxed{...}" at the start of `src` with balanced braces, or 0. R1 puts its final answer in one,
// often outside any math delimiters.
function boxedLength(src) {
  if (!src.startsWith("\\boxed{")) return 0;
  let depth = 0;
  for (let i = "\\boxed".length; i < src.length; i++) {
    if (src[i] === "\\") i++;
    else if (src[i] === "{") depth++;
    else if (src[i] === "}" && --depth === 0) return i + 1;
  }
  return 0;
}

// marked extensions for the delimiters R1 writes: $$..$$ and \[..\] (display), \(..\) and $..$ (inline).
// They run before marked's own rules, so the backslashes survive (marked would read "\(" as an escaped "(").
const mathExtensions = [
  {
    name: "mathBlock",
    level: "block",
    start: (src) => src.match(/\$\$|\\\[/)?.index,
    tokenizer(src) {
      const m = /^(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])[ \t]*(?:\n+|$)/.exec(src);
      if (m) return {type: "mathBlock", raw: m[0], tex: (m[1] ?? m[2]).trim()};
    },
    renderer: (token) => `<div class="math">${renderTex(token.tex, true)}</div>`,
  },
  {
    name: "mathInline",
    level: "inline",
    start: (src) => src.match(/\$|\\\(|\\\[|\\boxed\{/)?.index,
    tokenizer(src) {
      let m = /^\$\$([\s\S]+?)\$\$/.exec(src) || /^\\\[([\s\S]+?)\\\]/.exec(src);
      if (m) return {type: "mathInline", raw: m[0], tex: m[1].trim(), display: true};
      // A lone $ is math only when it hugs its content and no digit follows the closing one: "$x^2$" is math,
      // "costs $5 and $6" is not.
      m = /^\\\(([\s\S]+?)\\\)/.exec(src) || /^\$(?![\s$])((?:\\.|[^\\$\n])+?)(?<!\s)\$(?!\d)/.exec(src);
      if (m) return {type: "mathInline", raw: m[0], tex: m[1], display: false};
      const boxed = boxedLength(src);
      if (boxed) return {type: "mathInline", raw: src.slice(0, boxed), tex: src.slice(0, boxed), display: false};
    },
    renderer: (token) => renderTex(token.tex, token.display),
  },
];

function highlightCode(code, language) {
  if (!window.hljs || !language || !hljs.getLanguage(language)) return null;  // marked escapes it instead
  return hljs.highlight(language, code, true).value;
}

const markdownReady = Boolean(window.marked && window.DOMPurify);
if (markdownReady) {
  // Debian's node-dompurify 2.4.1+dfsg+~2.4.0-2+deb12u1 (the CVE-2024-47875 backport) reads an undeclared
  // `shadowNode` in sanitize() and throws on any markup. A depth of 0 turns that stray check into a no-op; the
  // per-element depth checks the fix added still run.
  window.shadowNode ??= {__depth: 0};
  marked.use({
    gfm: true,
    langPrefix: "hljs language-",
    highlight: highlightCode,
    extensions: mathExtensions,
    // HTML the model writes is shown as text, like everything else it writes outside markdown syntax.
    renderer: {html: (html) => escapeHtml(html)},
  });
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });
}

// KaTeX keeps the TeX source in MathML <semantics><annotation> (read by screen readers and by copy); DOMPurify
// drops both by default. <annotation> holds text only (unlike <annotation-xml>, which stays forbidden).
const kSanitizeOptions = {ADD_TAGS: ["semantics", "annotation"]};

// Fills `element` with `text` rendered as markdown; as plain text when a library failed to load.
function renderMarkdown(element, text) {
  if (!markdownReady) {
    element.textContent = text;
    return;
  }
  try {
    element.innerHTML = DOMPurify.sanitize(marked.parse(text), kSanitizeOptions);
  } catch (e) {
    console.error("r1: markdown rendering failed, showing text", e);  // a library bug must not hang the chat
    element.textContent = text;
  }
}
