"""Drives the gateway's page in headless Chromium over the DevTools protocol: submit a prompt and
see its text stream in, submit a slow one and cancel it with its button, then take a screenshot.
Reads {"url", "chromium", "screenshot", "fast_prompt", "fast_expected", "slow_prompt"} as JSON on
stdin; prints a JSON summary; exits non-zero when the page did not behave."""
import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from websockets.sync.client import connect

spec = json.load(sys.stdin)
profile = tempfile.mkdtemp(prefix="llmq-chromium-")
browser = subprocess.Popen(
    [spec["chromium"], "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
     "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"],
    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
ids = itertools.count(1)


def fail(message):
    print(json.dumps({"ok": False, "error": message}), flush=True)
    sys.exit(1)


def call(ws, method, **params):
    mid = next(ids)
    ws.send(json.dumps({"id": mid, "method": method, "params": params}))
    while True:
        reply = json.loads(ws.recv(timeout=60))
        if reply.get("id") == mid:
            if "error" in reply:
                fail(f"{method}: {reply['error']}")
            return reply.get("result", {})


def evaluate(ws, expression):
    result = call(ws, "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
    if "exceptionDetails" in result:
        fail(f"page script failed: {result['exceptionDetails']}")
    return result["result"].get("value")


def wait_for(ws, what, expression, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = evaluate(ws, expression)
        if value:
            return value
        time.sleep(0.1)
    fail(f"timed out waiting for {what}; page text: {evaluate(ws, 'document.body.innerText')[:1500]}")


try:
    port = None
    deadline = time.monotonic() + 30
    while port is None and time.monotonic() < deadline:
        line = browser.stderr.readline()
        if not line:
            fail("chromium exited before it listened")
        match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
        if match:
            port = int(match.group(1))
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
    page = next(t for t in targets if t["type"] == "page")
    with connect(page["webSocketDebuggerUrl"], max_size=64 << 20) as ws:
        call(ws, "Page.enable")
        call(ws, "Runtime.enable")
        call(ws, "Page.navigate", url=spec["url"])
        wait_for(ws, "the page to connect", "document.readyState === 'complete' && document.getElementById('conn')?.textContent === 'live'")

        def submit(prompt):
            evaluate(ws, f"""(() => {{ const p = document.getElementById('prompt'); p.value = {json.dumps(prompt)};
                document.getElementById('submit').click(); return true; }})()""")

        def card(prompt):
            return f"[...document.querySelectorAll('.job')].find(n => n.querySelector('.prompt').textContent === {json.dumps(prompt)})"

        submit(spec["fast_prompt"])
        fast_id = wait_for(ws, "the first job's card", f"{card(spec['fast_prompt'])}?.dataset.id")
        wait_for(ws, "the first job's text to stream in",
                 f"(() => {{ const n = {card(spec['fast_prompt'])}; return n && n.querySelector('.text').textContent.length > 0; }})()")
        fast = wait_for(ws, "the first job to succeed", f"""(() => {{ const n = {card(spec['fast_prompt'])};
            return n && n.querySelector('.status').textContent === 'succeeded' && {{text: n.querySelector('.text').textContent, meta: n.querySelector('.meta').textContent}}; }})()""")
        if fast["text"] != spec["fast_expected"]:
            fail(f"first job's text differs: {fast['text']!r}")

        submit(spec["slow_prompt"])
        slow_id = wait_for(ws, "the second job's card", f"{card(spec['slow_prompt'])}?.dataset.id")
        wait_for(ws, "the second job to stream", f"""(() => {{ const n = {card(spec['slow_prompt'])};
            return n && n.querySelector('.status').textContent === 'streaming' && n.querySelector('.text').textContent.length > 0; }})()""")
        evaluate(ws, f"{card(spec['slow_prompt'])}.querySelector('.cancel').click(), true")
        slow = wait_for(ws, "the second job to show cancelled", f"""(() => {{ const n = {card(spec['slow_prompt'])};
            return n && n.querySelector('.status').textContent === 'cancelled' && {{text: n.querySelector('.text').textContent, error: n.querySelector('.error').textContent}}; }})()""")
        time.sleep(0.3)  # let the last paint settle before the picture
        shot = call(ws, "Page.captureScreenshot", format="png")
        with open(spec["screenshot"], "wb") as out:
            out.write(base64.b64decode(shot["data"]))
        print(json.dumps({"ok": True, "fast_id": fast_id, "fast_meta": fast["meta"], "slow_id": slow_id,
                          "slow_error": slow["error"], "slow_text_chars": len(slow["text"]), "screenshot": spec["screenshot"]}), flush=True)
finally:
    browser.terminate()
    try:
        browser.wait(timeout=10)
    except subprocess.TimeoutExpired:
        browser.kill()
    shutil.rmtree(profile, ignore_errors=True)
