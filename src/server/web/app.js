// The r1 chat page: conversations kept in localStorage, sent to the server's own /v1/chat/completions with
// streaming, the model's reasoning shown live in a panel that folds away when the answer starts.
// Model output reaches the page only as text (textContent) or through DOMPurify, never as raw HTML.
"use strict";

const kDefaultTitle = "New chat";
const kKeys = {
  conversations: "r1.conversations",
  current: "r1.current",
  settings: "r1.settings",
  apiKey: "r1.apiKey",
  theme: "r1.theme",
  deepThink: "r1.deepThink",
};

const $ = (selector) => document.querySelector(selector);

function load(key, fallback) {
  try {
    const text = localStorage.getItem(key);
    return text === null ? fallback : JSON.parse(text);
  } catch {
    return fallback;  // storage disabled or a value some other page wrote: start fresh rather than fail
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (e) {
    console.warn("r1: could not save", key, e);  // quota full: the chat still works, it is just not kept
  }
}

// Conversations as saved, minus anything malformed (an older or foreign value under the same key).
function loadConversations() {
  const saved = load(kKeys.conversations, []);
  if (!Array.isArray(saved)) return [];
  return saved.filter((c) => c && typeof c.id === "string" && typeof c.title === "string" && Array.isArray(c.messages)
    && c.messages.every((m) => m && typeof m.content === "string" && (m.role === "user" || m.role === "assistant")));
}

const state = {
  conversations: loadConversations(),  // [{id, title, updated, messages: [{role, content, ...}]}]
  currentId: load(kKeys.current, null),
  // null: leave the value to the server.
  settings: {temperature: null, top_p: null, max_tokens: null, system: "", ...load(kKeys.settings, {})},
  deepThink: load(kKeys.deepThink, true),
  streaming: null,  // {controller, conversation, message, view, frame} while a request runs
};

function newId() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
}

function currentConversation() {
  return state.conversations.find((c) => c.id === state.currentId) || null;
}

function saveConversations() {
  save(kKeys.conversations, state.conversations);
  save(kKeys.current, state.currentId);
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function thoughtLabel(message) {
  if (message.thinkingMs === undefined) return "Thinking\u2026";
  return `Thought for ${plural(Math.max(1, Math.round(message.thinkingMs / 1000)), "second")}`;
}

function statsLine(stats) {
  const tokens = plural(stats.completionTokens, "token");
  const parts = [stats.exact ? tokens : `~${tokens}`];
  if (stats.reasoningTokens) parts[0] += ` (${stats.reasoningTokens} thinking)`;
  if (stats.tokensPerSecond) parts.push(`${stats.tokensPerSecond.toFixed(1)} tokens/s`);
  if (stats.firstTokenMs !== undefined) parts.push(`first token ${(stats.firstTokenMs / 1000).toFixed(2)} s`);
  if (stats.promptTokens) parts.push(`prompt ${plural(stats.promptTokens, "token")}`);
  return parts.join(" \u00b7 ");
}

function button(label, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

function userElement(conversation, index) {
  const message = conversation.messages[index];
  const root = document.createElement("div");
  root.className = "message user";
  const body = document.createElement("div");
  body.className = "body";
  body.dir = "auto";
  body.textContent = message.content;
  root.append(body);
  const isLastUser = conversation.messages.slice(index + 1).every((m) => m.role !== "user");
  if (isLastUser && !state.streaming) {
    const actions = document.createElement("div");
    actions.className = "message-actions";
    actions.append(button("Edit", "edit", () => startEdit(conversation, index, root)));
    root.append(actions);
  }
  return root;
}

// Builds the element of an assistant message; returns the parts a stream updates.
function assistantElement(conversation, index) {
  const message = conversation.messages[index];
  const root = document.createElement("div");
  root.className = "message assistant";
  const view = {root, message, details: null, summary: null, reasoning: null};
  view.answer = document.createElement("div");
  view.answer.className = "answer";
  view.answer.dir = "auto";
  view.footer = document.createElement("div");
  root.append(view.answer, view.footer);
  // History shows the thoughts folded, unless they are all there is (stopped while thinking).
  if (message.reasoning) ensureThinkingPanel(view, !message.content);
  updateAssistant(view);
  if (!isStreaming(message)) finishAssistant(view, conversation, index === conversation.messages.length - 1);
  return view;
}

function isStreaming(message) {
  return state.streaming !== null && state.streaming.message === message;
}

function ensureThinkingPanel(view, open) {
  if (view.details) return;
  view.details = document.createElement("details");
  view.details.className = "thinking";
  view.details.open = open;
  view.summary = document.createElement("summary");
  view.reasoning = document.createElement("div");
  view.reasoning.className = "reasoning";
  view.reasoning.dir = "auto";
  view.details.append(view.summary, view.reasoning);
  view.root.prepend(view.details);
}

// Brings the element up to date with its message (called once per animation frame while streaming).
function updateAssistant(view) {
  const message = view.message;
  view.root.classList.toggle("streaming", isStreaming(message));
  view.root.dataset.status = isStreaming(message) ? "streaming" : message.status || "done";
  if (view.details) {
    view.summary.textContent = thoughtLabel(message);
    view.reasoning.textContent = message.reasoning;  // reasoning is shown as text, as DeepSeek's app does
  }
  if (message.content !== view.renderedContent) {
    renderMarkdown(view.answer, message.content);
    view.renderedContent = message.content;
  }
}

// The footer under a finished answer: stop or error notes, token figures, copy and regenerate.
function finishAssistant(view, conversation, isLast) {
  const message = view.message;
  view.footer.replaceChildren();
  if (message.status === "stopped") view.footer.append(note("stopped-note", "Stopped."));
  if (message.status === "length") view.footer.append(note("stopped-note", "Reached the token limit."));
  if (message.error) view.footer.append(note("error", message.error));
  if (message.stats) view.footer.append(note("stats", statsLine(message.stats)));
  const actions = document.createElement("div");
  actions.className = "message-actions";
  actions.append(button("Copy", "copy", () => navigator.clipboard?.writeText(message.content).catch(() => {})));
  if (isLast && !state.streaming) actions.append(button("Regenerate", "regenerate", () => regenerate(conversation)));
  view.footer.append(actions);
}

function note(className, text) {
  const div = document.createElement("div");
  div.className = className;
  div.textContent = text;
  return div;
}

function renderMessages() {
  const container = $("#messages");
  const conversation = currentConversation();
  container.replaceChildren();
  if (!conversation || conversation.messages.length === 0) {
    container.append(emptyState);
    return;
  }
  conversation.messages.forEach((message, index) => {
    if (message.role === "user") {
      container.append(userElement(conversation, index));
      return;
    }
    const view = assistantElement(conversation, index);
    if (isStreaming(message)) state.streaming.view = view;  // coming back to a conversation still streaming
    container.append(view.root);
  });
  container.scrollTop = container.scrollHeight;
}

function startEdit(conversation, index, root) {
  const editor = document.createElement("textarea");
  editor.dir = "auto";
  editor.value = conversation.messages[index].content;
  const actions = document.createElement("div");
  actions.className = "message-actions";
  actions.append(button("Cancel", "cancel", renderMessages), button("Send", "primary resend", () => {
    const text = editor.value.trim();
    if (!text) return;
    conversation.messages.length = index;  // drop the old turn and everything after it
    conversation.messages.push({role: "user", content: text});
    generate(conversation);
  }));
  root.replaceChildren(editor, actions);
  editor.focus();
}

// ---------------------------------------------------------------------------------------------------------------
// Sidebar

function renderSidebar() {
  const list = $("#conversation-list");
  list.replaceChildren();
  const sorted = [...state.conversations].sort((a, b) => b.updated - a.updated);
  for (const conversation of sorted) {
    const item = document.createElement("li");
    item.dataset.id = conversation.id;
    item.classList.toggle("current", conversation.id === state.currentId);
    const title = document.createElement("span");
    title.className = "title";
    title.dir = "auto";
    title.textContent = conversation.title;
    title.title = conversation.title;
    item.append(title,
                button("\u270e", "rename", (e) => { e.stopPropagation(); startRename(conversation, item, title); }),
                button("\u2715", "delete", (e) => { e.stopPropagation(); deleteConversation(conversation); }));
    item.querySelector(".rename").setAttribute("aria-label", "Rename");
    item.querySelector(".delete").setAttribute("aria-label", "Delete");
    item.addEventListener("click", () => selectConversation(conversation.id));
    list.append(item);
  }
  $("#chat-title").textContent = currentConversation()?.title || kDefaultTitle;
}

function startRename(conversation, item, title) {
  const input = document.createElement("input");
  input.className = "rename-input";
  input.dir = "auto";
  input.value = conversation.title;
  let done = false;
  const finish = (keep) => {
    if (done) return;
    done = true;
    if (keep && input.value.trim()) {
      conversation.title = input.value.trim();
      saveConversations();
    }
    renderSidebar();
  };
  input.addEventListener("click", (e) => e.stopPropagation());
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") finish(true);
    if (e.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
  title.replaceWith(input);
  input.focus();
  input.select();
}

function deleteConversation(conversation) {
  if (!confirm(`Delete "${conversation.title}"?`)) return;
  if (state.streaming?.conversation === conversation) state.streaming.controller.abort();
  state.conversations = state.conversations.filter((c) => c !== conversation);
  if (state.currentId === conversation.id) state.currentId = null;
  saveConversations();
  renderAll();
}

function selectConversation(id) {
  state.currentId = id;
  save(kKeys.current, id);
  $("#app").classList.remove("sidebar-open");
  renderAll();
}

function renderAll() {
  renderSidebar();
  renderMessages();
  setBusy(Boolean(state.streaming));
}

// ---------------------------------------------------------------------------------------------------------------
// Talking to the server

// Asks for the API key in a dialog; resolves to the key, or null when the user cancels.
function askForKey() {
  const dialog = $("#key-dialog");
  const input = $("#key-input");
  input.value = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null);
    }, {once: true});
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// POSTs a chat request. A 401 means the server runs with --api-key: ask for the key once, keep it, and retry.
async function postChat(body, signal) {
  for (;;) {
    const headers = {"Content-Type": "application/json"};
    const key = load(kKeys.apiKey, null);
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch("v1/chat/completions", {method: "POST", headers, body: JSON.stringify(body), signal});
    if (response.status !== 401) return response;
    const entered = await askForKey();
    if (entered === null) return response;
    save(kKeys.apiKey, entered);
  }
}

async function errorText(response) {
  const text = await response.text();
  try {
    return `${response.status}: ${JSON.parse(text).error.message}`;
  } catch {
    return `${response.status}: ${text || response.statusText}`;
  }
}

// Yields the data of each server-sent event ("data: ..." lines joined) as it arrives.
async function* sseData(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const {done, value} = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, {stream: true});
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      const lines = event.split(/\r?\n/).filter((line) => line.startsWith("data:"));
      if (lines.length) yield lines.map((line) => line.slice(5).replace(/^ /, "")).join("\n");
    }
  }
}

function requestBody(conversation) {
  const s = state.settings;
  const messages = conversation.messages.filter((m) => m.role === "user" || (m.role === "assistant" && m.content))
    .map((m) => ({role: m.role, content: m.content}));  // reasoning is never sent back (DeepSeek's rule)
  if (typeof s.system === "string" && s.system.trim()) messages.unshift({role: "system", content: s.system});
  const body = {messages, stream: true, stream_options: {include_usage: true}};
  if (s.temperature !== null) body.temperature = s.temperature;
  if (s.top_p !== null) body.top_p = s.top_p;
  if (s.max_tokens !== null) body.max_tokens = s.max_tokens;
  if (!state.deepThink) body.max_thinking_tokens = 0;
  return body;
}

// Redraws the streaming answer, at most once per animation frame however fast the chunks come.
function scheduleRefresh() {
  const streaming = state.streaming;
  if (!streaming || streaming.frame) return;
  streaming.frame = requestAnimationFrame(() => {
    streaming.frame = 0;
    const {view, message} = streaming;
    if (!view) return;
    const messages = $("#messages");
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    if (message.reasoning) ensureThinkingPanel(view, message.thinkingMs === undefined);
    if (message.thinkingMs !== undefined && view.details && !view.collapsed) {
      view.details.open = false;  // the answer has started: fold the thoughts away, as DeepSeek's app does
      view.collapsed = true;
    }
    updateAssistant(view);
    if (atBottom) messages.scrollTop = messages.scrollHeight;
  });
}

// Reads the SSE chunks of one reply into `message`, noting in `timing` when thinking and answering began.
// Returns the usage the server reported (stream_options.include_usage), or null.
async function readReply(response, message, timing) {
  let usage = null;
  let lastSave = performance.now();
  for await (const data of sseData(response)) {
    if (data === "[DONE]") break;
    const chunk = JSON.parse(data);
    if (chunk.error) throw new Error(chunk.error.message || JSON.stringify(chunk.error));
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const delta = choice.delta || {};
    const now = performance.now();
    if (delta.reasoning_content) {
      timing.thinking ??= now;
      message.reasoning += delta.reasoning_content;
    }
    if (delta.content) {
      if (message.reasoning && message.thinkingMs === undefined) message.thinkingMs = now - timing.thinking;
      message.content += delta.content;
    }
    if (delta.reasoning_content || delta.content) {
      timing.firstToken ??= now;
      timing.chunks++;
    }
    if (choice.finish_reason) message.status = choice.finish_reason === "length" ? "length" : "done";
    if (now - lastSave > 1000) {
      saveConversations();  // a reload mid-answer keeps what had arrived
      lastSave = now;
    }
    scheduleRefresh();
  }
  if (!message.status) throw new Error("The server closed the stream before the answer was complete.");
  return usage;
}

// The figures shown under an answer. Without usage from the server, chunks stand in for tokens.
function replyStats(timing, usage, ended) {
  const tokens = usage ? usage.completion_tokens : timing.chunks;
  const decodeSeconds = (ended - timing.firstToken) / 1000;
  return {
    completionTokens: tokens,
    reasoningTokens: usage?.completion_tokens_details?.reasoning_tokens || 0,
    promptTokens: usage?.prompt_tokens || 0,
    exact: Boolean(usage),
    firstTokenMs: timing.firstToken - timing.started,
    // The first token waited for the prompt; the rate is over the tokens decoded after it.
    tokensPerSecond: tokens > 1 && decodeSeconds > 0 ? (tokens - 1) / decodeSeconds : 0,
  };
}

// Streams one assistant reply into `conversation` and shows it as it comes.
async function generate(conversation) {
  const message = {role: "assistant", content: "", reasoning: ""};
  const body = requestBody(conversation);
  conversation.messages.push(message);
  conversation.updated = Date.now();
  const controller = new AbortController();
  state.streaming = {controller, conversation, message, view: null, frame: 0};
  saveConversations();
  renderAll();

  const timing = {started: performance.now(), thinking: null, firstToken: null, chunks: 0};
  let usage = null;
  try {
    const response = await postChat(body, controller.signal);
    if (!response.ok) throw new Error(await errorText(response));
    usage = await readReply(response, message, timing);
  } catch (e) {
    if (e.name === "AbortError") {
      message.status = "stopped";
    } else {
      message.status = "error";
      message.error = e.message;
    }
  }
  const ended = performance.now();
  if (message.reasoning && message.thinkingMs === undefined) message.thinkingMs = ended - timing.thinking;
  if (timing.firstToken !== null) message.stats = replyStats(timing, usage, ended);

  cancelAnimationFrame(state.streaming.frame);
  state.streaming = null;
  conversation.updated = Date.now();
  saveConversations();
  if (conversation === currentConversation()) renderAll();
  else setBusy(false);
}

function send(text) {
  let conversation = currentConversation();
  if (!conversation) {
    conversation = {id: newId(), title: kDefaultTitle, updated: Date.now(), messages: []};
    state.conversations.push(conversation);
    state.currentId = conversation.id;
  }
  if (conversation.title === kDefaultTitle && conversation.messages.length === 0) {
    conversation.title = text.replace(/\s+/g, " ").slice(0, 40);
  }
  conversation.messages.push({role: "user", content: text});
  generate(conversation);
}

function regenerate(conversation) {
  if (conversation.messages.at(-1)?.role === "assistant") conversation.messages.pop();
  generate(conversation);
}

// ---------------------------------------------------------------------------------------------------------------
// Controls

function setBusy(busy) {
  $("#send").hidden = busy;
  $("#stop").hidden = !busy;
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  $("#hljs-light").disabled = theme === "dark";
  $("#hljs-dark").disabled = theme !== "dark";
}

function applyDeepThink() {
  $("#deepthink").setAttribute("aria-pressed", String(state.deepThink));
}

function openSettings() {
  $("#app").classList.remove("sidebar-open");
  const s = state.settings;
  $("#set-temperature").value = s.temperature ?? "";
  $("#set-top-p").value = s.top_p ?? "";
  $("#set-max-tokens").value = s.max_tokens ?? "";
  $("#set-system").value = s.system;
  $("#settings-dialog").returnValue = "";
  $("#settings-dialog").showModal();
}

function closeSettings() {
  if ($("#settings-dialog").returnValue !== "save") return;
  const number = (id) => ($(id).value === "" || !Number.isFinite(Number($(id).value)) ? null : Number($(id).value));
  state.settings = {
    temperature: number("#set-temperature"),
    top_p: number("#set-top-p"),
    max_tokens: number("#set-max-tokens"),
    system: $("#set-system").value,
  };
  save(kKeys.settings, state.settings);
}

const emptyState = $("#empty-state");

function init() {
  applyTheme(load(kKeys.theme, matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  applyDeepThink();
  const input = $("#input");
  $("#composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || state.streaming) return;
    input.value = "";
    input.style.height = "";
    send(text);
  });
  input.addEventListener("input", () => {  // grow with the text, up to the CSS max-height
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight}px`;
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("#composer").requestSubmit();
    }
  });
  $("#stop").addEventListener("click", () => state.streaming?.controller.abort());
  $("#deepthink").addEventListener("click", () => {
    state.deepThink = !state.deepThink;
    save(kKeys.deepThink, state.deepThink);
    applyDeepThink();
  });
  $("#new-chat").addEventListener("click", () => selectConversation(null));
  $("#toggle-sidebar").addEventListener("click", () => $("#app").classList.toggle("sidebar-open"));
  $("#scrim").addEventListener("click", () => $("#app").classList.remove("sidebar-open"));
  $("#toggle-theme").addEventListener("click", () => {
    const theme = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    save(kKeys.theme, theme);
    applyTheme(theme);
  });
  $("#open-settings").addEventListener("click", openSettings);
  $("#settings-dialog").addEventListener("close", closeSettings);
  // Cancel is a plain button, not a submit one, so that Enter in a field means Save (the form's first submit).
  for (const cancel of document.querySelectorAll("dialog .cancel")) {
    cancel.addEventListener("click", () => cancel.closest("dialog").close("cancel"));
  }
  $("#forget-key").addEventListener("click", () => localStorage.removeItem(kKeys.apiKey));
  // An answer saved while it streamed, then the page closed: it will not resume, so show it as stopped.
  for (const conversation of state.conversations) {
    for (const message of conversation.messages) {
      if (message.role === "assistant" && !message.status) message.status = "stopped";
    }
  }
  if (!currentConversation()) state.currentId = null;
  renderAll();
  input.focus();
}

init();
