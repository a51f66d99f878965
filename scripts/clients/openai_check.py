"""The official OpenAI Python SDK against llmq's gateway, unchanged: one non-streamed and one
streamed completion. Reads {"base_url", "api_key", "cases": [{"prompt", "expected", "stream"}]} as
JSON on stdin; prints one JSON line per case; exits non-zero on any mismatch."""
import json
import sys

from openai import OpenAI

spec = json.load(sys.stdin)
client = OpenAI(base_url=spec["base_url"] + "/v1", api_key=spec.get("api_key") or "unused", max_retries=0, timeout=120)
failed = False
for case in spec["cases"]:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": case["prompt"]}]
    if case["stream"]:
        text, usage, finish, ids = "", None, None, set()
        stream = client.chat.completions.create(model="mock-1", messages=messages, stream=True,
                                                stream_options={"include_usage": True}, temperature=0.2, max_tokens=500)
        for chunk in stream:
            ids.add(chunk.id)
            assert chunk.object == "chat.completion.chunk", chunk.object
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage:
                usage = chunk.usage
        outcome = {"stream": True, "text": text, "finish_reason": finish, "ids": len(ids),
                   "usage": usage.model_dump() if usage else None}
    else:
        completion = client.chat.completions.create(model="mock-1", messages=messages, temperature=0.2, max_tokens=500)
        outcome = {"stream": False, "text": completion.choices[0].message.content,
                   "finish_reason": completion.choices[0].finish_reason, "object": completion.object,
                   "usage": completion.usage.model_dump() if completion.usage else None}
    ok = outcome["text"] == case["expected"] and outcome["finish_reason"] == "stop" and outcome["usage"] \
        and outcome["usage"]["total_tokens"] == outcome["usage"]["prompt_tokens"] + outcome["usage"]["completion_tokens"] \
        and outcome["usage"]["completion_tokens"] > 0
    outcome["ok"] = bool(ok)
    failed = failed or not ok
    print(json.dumps(outcome), flush=True)
sys.exit(1 if failed else 0)
