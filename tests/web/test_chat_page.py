#!/usr/bin/env python3
"""End-to-end tests of the chat page in headless Debian chromium, driven by Playwright for Python.

    python3 tests/web/test_chat_page.py [--server-cmd CMD] [--r1 PATH] [--artifacts DIR]

--server-cmd starts the server; it must print "listening on http://HOST:PORT" when ready. The default runs
tests/web/mock_server.py; "{r1}" in the command is replaced by --r1, e.g.
    --server-cmd "{r1} serve -m tests/fixtures/models/qwen2_gqa4 --port 0"
Against a real server (a tiny random model writes gibberish) only the page's structure is checked: the reasoning
panel appears and folds to "Thought for", answers arrive, Stop ends the stream, history survives a reload.
Against the mock, which writes known text, the markdown, math and code rendering and the request bodies are
checked too. Screenshots at desktop and phone widths go to --artifacts.

Uses /usr/bin/chromium (Debian's `chromium`, see scripts/setup.sh); never downloads a browser. Installs the
`playwright` package with pip if it is missing. Exits 77 (CTest's skip code here) when either cannot be had.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SKIP = 77
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def import_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("installing playwright with pip", flush=True)
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "playwright"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if pip.returncode != 0:
            print(f"SKIP: cannot install playwright: {pip.stderr.strip()[-400:]}")
            sys.exit(SKIP)
        from playwright.sync_api import sync_playwright
    return sync_playwright


class Server:
    """A server process, started from a command line, ready once it prints its URL."""

    def __init__(self, command, timeout=60):
        self.process = subprocess.Popen(shlex.split(command), cwd=REPO, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.url = None
        self.output = []
        ready = threading.Event()

        def read():  # keeps draining the pipe so that a chatty server never blocks
            for line in self.process.stdout:
                self.output.append(line)
                match = re.search(r"listening on (http://\S+)", line)
                if match and not self.url:
                    self.url = match.group(1).rstrip("/")
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout) or not self.url:
            self.stop()
            raise RuntimeError(f"server did not start: {command}\n{''.join(self.output)[-2000:]}")

    def stats(self):
        with urllib.request.urlopen(self.url + "/mock/stats") as response:
            return json.load(response)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Checks:
    """What every test shares: the browser, the server, the mode and the artifact directory."""

    def __init__(self, browser, server, mock, artifacts, mock_command):
        self.browser = browser
        self.server = server
        self.mock = mock
        self.artifacts = artifacts
        self.mock_command = mock_command
        self.problems = []  # page errors and failed loads, reported by the test that caused them

    def new_page(self, viewport=DESKTOP, url=None, context=None):
        context = context or self.browser.new_context(viewport=viewport)
        page = context.new_page()
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # The chat API's errors (401 asking for the key, 400 for bad settings) are shown in the page by design.
        page.on("response", lambda r: r.status >= 400 and "chat/completions" not in r.url
                and self.problems.append(f"HTTP {r.status} {r.url}"))
        # An aborted chat request (Stop) fails by design; nothing else may.
        page.on("requestfailed", lambda r: "chat/completions" not in r.url
                and self.problems.append(f"failed {r.url}: {r.failure}"))
        page.goto((url or self.server.url) + "/")
        page.wait_for_selector("#input")
        return page

    def screenshot(self, page, name):
        path = self.artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path


def set_settings(page, **values):
    if page.is_visible("#toggle-sidebar"):  # phone width: the settings button is in the sidebar
        page.click("#toggle-sidebar")
    page.click("#open-settings")
    for field, value in values.items():
        page.fill(f"#set-{field}", str(value))
    page.click("#settings-dialog button[value=save]")


def send(page, text, wait=True):
    page.fill("#input", text)
    page.press("#input", "Enter")
    if wait:
        return wait_done(page)


def last_assistant(page):
    return page.locator(".message.assistant").last


def wait_done(page, timeout=60_000):
    """Waits until the last answer stops streaming; returns its status."""
    page.wait_for_selector(".message.assistant:last-child:not([data-status=streaming])", timeout=timeout)
    return last_assistant(page).get_attribute("data-status")


def local_storage(page, key):
    return page.evaluate(f"JSON.parse(localStorage.getItem({json.dumps(key)}))")


# ----------------------------------------------------------------------------------------------------------------
# The tests. Each gets a fresh browser context (fresh localStorage) unless it says otherwise.

def test_reasoning_streams_then_folds(c):
    page = c.new_page()
    if not c.mock:
        set_settings(page, **{"max-tokens": 64})
    # A random model sometimes writes </think> after a token or two: the panel then opens and folds between two polls
    # (or never opens), which says nothing about the page. Such a reply is asked again in a new chat, up to 5 times,
    # until the reasoning is seen streaming in the open panel. The mock always thinks for over a second.
    for attempt in range(1 if c.mock else 5):
        if attempt:
            wait_done(page)
            page.click("#new-chat")
        send(page, "What is 6 times 7?", wait=False)
        seen = page.wait_for_function("""() => {
            const m = document.querySelector('.message.assistant');
            if (m && m.querySelector('.thinking[open]')) return 'open';
            return m && m.dataset.status && m.dataset.status !== 'streaming' ? 'done' : false; }""",
                                      timeout=30_000).json_value()
        if seen == "open":
            break
        print(f"  reply {attempt + 1} finished before its reasoning was seen streaming; asking again", flush=True)
    assert seen == "open", "the reasoning panel was never seen open while the reasoning streamed"
    message = last_assistant(page)
    # The mock streams slowly; a real tiny model may finish its 64 tokens before this line runs.
    if c.mock or message.get_attribute("data-status") == "streaming":
        assert message.get_attribute("data-status") == "streaming"
        assert page.is_visible("#stop") and not page.is_visible("#send")
    page.wait_for_function("document.querySelector('.thinking .reasoning').textContent.length > 0")
    if c.mock:
        assert message.locator(".thinking summary").text_content() == "Thinking\u2026"
    c.screenshot(page, "desktop-thinking")
    # The moment the answer starts, the panel folds (a real tiny model may think until the token limit).
    page.wait_for_function("""() => { const m = document.querySelector('.message.assistant');
        return m.dataset.status !== 'streaming' || m.querySelector('.answer').textContent.trim() !== ''; }""")
    if message.get_attribute("data-status") == "streaming":
        assert message.locator(".thinking").get_attribute("open") is None, "panel still open during the answer"
        assert message.locator(".thinking summary").text_content().startswith("Thought for")
    elif c.mock:
        raise AssertionError("the mock's answer streams for over a second: it should have been seen streaming")
    status = wait_done(page)
    assert status in ("done", "length"), status
    summary = message.locator(".thinking summary").text_content()
    assert re.fullmatch(r"Thought for \d+ seconds?", summary), summary
    if message.locator(".answer").text_content().strip():
        assert message.locator(".thinking").get_attribute("open") is None, "panel did not fold when the answer came"
    assert re.search(r"\d+ tokens?.*tokens/s", message.locator(".stats").text_content())
    assert page.is_visible("#send") and not page.is_visible("#stop")

    # Fold and unfold by hand.
    details = message.locator(".thinking")
    was_open = details.get_attribute("open") is not None
    message.locator(".thinking summary").click()
    assert (details.get_attribute("open") is not None) != was_open
    message.locator(".thinking summary").click()
    assert (details.get_attribute("open") is not None) == was_open
    c.screenshot(page, "desktop-light")
    page.click("#toggle-theme")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("document.getElementById('hljs-dark').disabled") is False
    c.screenshot(page, "desktop-dark")


def test_markdown_math_and_code(c):
    if not c.mock:
        return "mock only: a random model writes no markdown"
    page = c.new_page()
    assert send(page, "Show me markdown") == "done"
    answer = last_assistant(page).locator(".answer")
    assert answer.locator("h2").text_content() == "Answer"
    assert answer.locator("ol > li").count() == 2
    assert answer.locator("strong").first.text_content() == "6"
    # Math: KaTeX keeps the TeX it rendered in the MathML annotation.
    tex = answer.locator("annotation[encoding='application/x-tex']").all_text_contents()
    assert "\\boxed{42}" in [t.strip() for t in tex], tex
    assert "x^2 = 1764" in tex, tex
    assert answer.locator(".katex-display").count() == 1
    # Code: highlight.js marked up the Python keywords.
    assert answer.locator("pre code.language-python .hljs-keyword").first.text_content() == "def"
    # The model's HTML is shown as text, never parsed.
    assert answer.locator("img").count() == 0
    assert page.evaluate("window.injected") is None
    assert '<img src="x" onerror="window.injected = 1">' in answer.text_content()
    # KaTeX's fonts came from the embedded woff2 files.
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('16px KaTeX_Main')")
    assert page.evaluate("[...document.fonts].some(f => f.family.includes('KaTeX') && f.status === 'loaded')")
    # And DOMPurify itself works (Debian's package needs a shim in app.js, see there).
    assert page.evaluate("DOMPurify.sanitize('<img src=x onerror=alert(1)><b>ok</b>')") == '<img src="x"><b>ok</b>'


def test_deepthink_off_and_settings(c):
    page = c.new_page()
    page.click("#deepthink")
    assert page.get_attribute("#deepthink", "aria-pressed") == "false"
    set_settings(page, temperature=0.3, **{"top-p": 0.9, "max-tokens": 48})
    assert send(page, "Answer without thinking") in ("done", "length")
    message = last_assistant(page)
    assert message.locator(".thinking").count() == 0
    assert message.locator(".answer").text_content().strip()
    if c.mock:
        request = c.server.stats()["requests"][-1]
        assert request["max_thinking_tokens"] == 0
        assert request["temperature"] == 0.3 and request["top_p"] == 0.9 and request["max_tokens"] == 48
        assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
        assert [m["role"] for m in request["messages"]] == ["user"]
    page.reload()
    page.wait_for_selector("#input")
    assert page.get_attribute("#deepthink", "aria-pressed") == "false"
    page.click("#open-settings")
    assert page.input_value("#set-temperature") == "0.3"
    page.click("#settings-dialog .cancel")


def test_stop_mid_stream(c):
    page = c.new_page()
    before = c.server.stats()["aborted"] if c.mock else 0
    send(page, "Tell me a long story", wait=False)
    page.wait_for_selector(".message.assistant[data-status=streaming]")
    page.wait_for_function("document.querySelector('.message.assistant').textContent.trim().length > 0")
    page.click("#stop")
    page.wait_for_selector(".message.assistant[data-status=stopped]", timeout=5_000)
    assert page.is_visible("#send") and not page.is_visible("#stop")
    assert last_assistant(page).locator(".stopped-note").text_content() == "Stopped."
    if c.mock:
        assert last_assistant(page).locator(".katex-display").count() == 0, "the whole answer arrived anyway"
        deadline = time.time() + 5
        while c.server.stats()["aborted"] <= before and time.time() < deadline:
            time.sleep(0.1)
        assert c.server.stats()["aborted"] > before, "the server never saw the connection close"
    else:
        # r1 serve frees the slot at once: its running count drops to zero while the stream would still go on.
        def running():
            with urllib.request.urlopen(c.server.url + "/metrics") as response:
                text = response.read().decode()
            return float(re.search(r"^r1_requests_running (\S+)$", text, re.M).group(1))
        deadline = time.time() + 2
        while running() > 0 and time.time() < deadline:
            time.sleep(0.05)
        assert running() == 0, "the stopped request kept its slot"
    # The stopped turn is kept, and the page takes a new message at once (short: a random model under the
    # sanitizers on a busy machine writes a few tokens a second, and would otherwise run to the context's end).
    set_settings(page, **{"max-tokens": 24})
    assert send(page, "Now answer briefly") in ("done", "length")
    assert page.locator(".message.assistant").count() == 2


def test_server_error_is_shown(c):
    page = c.new_page()
    # Outside OpenAI's [0, 2], so the server answers 400. The settings form refuses it, so it is planted.
    page.evaluate("localStorage.setItem('r1.settings', JSON.stringify({temperature: 5}))")
    page.reload()
    page.wait_for_selector("#input")
    assert send(page, "This request is invalid") == "error"
    error = last_assistant(page).locator(".error").text_content()
    assert error.startswith("400: ") and len(error) > len("400: "), error
    assert page.is_visible("#send")
    # Short: a random model rarely writes EOS, and under the sanitizers on a busy machine it writes a few tokens a
    # second, so an unbounded answer could outlast the wait.
    set_settings(page, temperature=0.6, **{"max-tokens": 24})
    last_assistant(page).locator(".regenerate").click()
    assert wait_done(page) in ("done", "length")


def test_conversations_and_history(c):
    page = c.new_page()
    set_settings(page, **{"max-tokens": 32})
    send(page, "first conversation question")
    page.click("#new-chat")
    assert page.locator(".message").count() == 0
    send(page, "second conversation question")
    items = page.locator("#conversation-list li")
    assert items.count() == 2
    page.locator("#conversation-list li", has_text="first conversation").click()
    assert page.locator(".message.user .body").all_text_contents() == ["first conversation question"]

    # Rename the first, delete the second.
    first = page.locator("#conversation-list li", has_text="first conversation")
    first.locator(".rename").click()
    page.fill("#conversation-list .rename-input", "Renamed \u05e9\u05dc\u05d5\u05dd")  # Hebrew stays as typed
    page.press("#conversation-list .rename-input", "Enter")
    assert page.locator("#chat-title").text_content() == "Renamed \u05e9\u05dc\u05d5\u05dd"
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#conversation-list li", has_text="second conversation").locator(".delete").click()
    assert items.count() == 1

    # Everything is still there after a reload.
    page.reload()
    page.wait_for_selector(".message.assistant")
    assert page.locator("#conversation-list li .title").all_text_contents() == ["Renamed \u05e9\u05dc\u05d5\u05dd"]
    assert page.locator(".message.user .body").all_text_contents() == ["first conversation question"]
    restored = last_assistant(page)
    assert restored.get_attribute("data-status") in ("done", "length")
    assert restored.locator(".stats").count() == 1
    if restored.locator(".thinking").count():
        assert restored.locator(".thinking summary").text_content().startswith("Thought for")
    stored = local_storage(page, "r1.conversations")
    assert len(stored) == 1 and [m["role"] for m in stored[0]["messages"]] == ["user", "assistant"]


def test_regenerate_and_edit(c):
    page = c.new_page()
    if not c.mock:
        set_settings(page, **{"max-tokens": 32})
    send(page, "original question")
    requests_before = len(c.server.stats()["requests"]) if c.mock else 0
    last_assistant(page).locator(".regenerate").click()
    wait_done(page)
    assert page.locator(".message").count() == 2
    page.locator(".message.user .edit").click()
    page.fill(".message.user textarea", "edited question")
    page.locator(".message.user .resend").click()
    wait_done(page)
    assert page.locator(".message.user .body").all_text_contents() == ["edited question"]
    assert page.locator(".message.assistant").count() == 1
    if c.mock:
        requests = c.server.stats()["requests"][requests_before:]
        assert [r["messages"][-1]["content"] for r in requests] == ["original question", "edited question"]
        assert "You asked: edited question" in last_assistant(page).locator(".answer").text_content()


def test_right_to_left(c):
    page = c.new_page()
    set_settings(page, **{"max-tokens": 16})
    send(page, "\u0645\u0627 \u0647\u0648 \u0633\u062a\u0629 \u0641\u064a \u0633\u0628\u0639\u0629\u061f")
    assert page.evaluate("document.querySelector('.message.user .body').matches(':dir(rtl)')")
    for selector in (".message.user .body", ".message.assistant .answer", "#input"):
        assert page.get_attribute(selector, "dir") == "auto", selector


def test_phone_width(c):
    page = c.new_page(viewport=PHONE)
    set_settings(page, **{"max-tokens": 48})
    send(page, "A question asked on a phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.is_visible("#toggle-sidebar")
    page.wait_for_function("(() => { const b = document.getElementById('sidebar').getBoundingClientRect();"
                           " return b.x + b.width <= 0; })()", timeout=5_000)  # after any slide transition
    assert page.locator("#composer").bounding_box()["width"] <= PHONE["width"]
    c.screenshot(page, "phone-chat")
    page.click("#toggle-sidebar")
    page.wait_for_function("document.getElementById('sidebar').getBoundingClientRect().x >= 0")
    c.screenshot(page, "phone-sidebar")
    page.locator("#conversation-list li").first.click()
    page.wait_for_function("document.getElementById('sidebar').getBoundingClientRect().right <= 0")


def test_api_key(c):
    if not c.mock:
        return "mock only: needs a server started with --api-key"
    server = Server(c.mock_command + " --api-key sekret")
    try:
        page = c.new_page(url=server.url)
        send(page, "hello with a key", wait=False)
        page.wait_for_selector("#key-dialog[open]")
        page.fill("#key-input", "sekret")
        page.click("#key-dialog button[value=ok]")
        assert wait_done(page) == "done"
        assert local_storage(page, "r1.apiKey") == "sekret"
        page.reload()
        page.wait_for_selector("#input")
        send(page, "again, no prompt this time")
        assert page.locator("#key-dialog[open]").count() == 0
        assert page.locator(".message.assistant[data-status=done]").count() == 2
    finally:
        server.stop()


TESTS = [test_reasoning_streams_then_folds, test_markdown_math_and_code, test_deepthink_off_and_settings,
         test_stop_mid_stream, test_server_error_is_shown, test_conversations_and_history, test_regenerate_and_edit,
         test_right_to_left, test_phone_width, test_api_key]


def make_slow_model(out: Path) -> Path:
    """A qwen2 model with the fixture's R1 chat template and tokenizer but 8 layers of width 1024 (random bf16
    weights, made in about a second by tools/make_random_model.py)."""
    fixture = REPO / "tests" / "fixtures" / "models" / "qwen2_gqa4"
    if (out / "model.safetensors").exists():
        return out
    cfg_dir = out.parent / "web-model-config"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    config = json.loads((fixture / "config.json").read_text())
    config.update(hidden_size=1024, intermediate_size=2816, num_hidden_layers=8, num_attention_heads=16,
                  num_key_value_heads=4, head_dim=64)
    (cfg_dir / "config.json").write_text(json.dumps(config, indent=1))
    for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(fixture / name, cfg_dir / name)
    subprocess.run([sys.executable, str(REPO / "tools" / "make_random_model.py"), "--config",
                    str(cfg_dir / "config.json"), "--dtype", "bf16", "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-cmd", default=None, help="default: the mock server")
    parser.add_argument("--real", action="store_true",
                        help="run against `r1 serve` on a random-weight model made for the test (91M parameters, "
                             "bf16: slow enough, ~70 tokens/s, that a stream can be watched and stopped)")
    parser.add_argument("--r1", default=str(REPO / "build" / "r1"), help="replaces {r1} in --server-cmd")
    parser.add_argument("--artifacts", default=str(REPO / "build" / "test-artifacts" / "web"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("-k", default="", help="run only tests whose name contains this")
    args = parser.parse_args()

    if not os.access(args.chromium, os.X_OK):
        print(f"SKIP: no browser at {args.chromium}: install Debian's chromium (scripts/setup.sh does)")
        return SKIP
    sync_playwright = import_playwright()
    artifacts = Path(args.artifacts)
    artifacts.mkdir(parents=True, exist_ok=True)
    mock_command = f"{shlex.quote(sys.executable)} tests/web/mock_server.py --port 0 --delay 0.02"
    if args.real:
        model_dir = make_slow_model(artifacts.parent / "web-model")
        args.server_cmd = f"{{r1}} serve -m {shlex.quote(str(model_dir))} --port 0"
    mock = args.server_cmd is None
    command = mock_command if mock else args.server_cmd.replace("{r1}", shlex.quote(args.r1))

    failures = 0
    server = Server(command)
    print(f"server: {command} at {server.url} ({'mock' if mock else 'real'} mode)", flush=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium)
            checks = Checks(browser, server, mock, artifacts, mock_command)
            for test in TESTS:
                if args.k not in test.__name__:
                    continue
                start = time.time()
                checks.problems.clear()
                try:
                    skipped = test(checks)
                    if checks.problems:
                        raise AssertionError("; ".join(checks.problems))
                    print(f"{'SKIP' if skipped else 'PASS'} {test.__name__} ({time.time() - start:.1f} s)"
                          + (f": {skipped}" if skipped else ""), flush=True)
                except Exception:
                    failures += 1
                    print(f"FAIL {test.__name__} ({time.time() - start:.1f} s)\n{traceback.format_exc()}",
                          flush=True)
                    for context in browser.contexts:
                        for page in context.pages:
                            page.screenshot(path=str(artifacts / f"FAIL-{test.__name__}.png"))
                for context in browser.contexts:
                    context.close()
            browser.close()
    finally:
        server.stop()
    print(f"{failures} failed; screenshots in {artifacts}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
