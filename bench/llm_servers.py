"""LLM endpoints the tests (and bench/) start on loopback.

- `FaultServer`: a scripted OpenAI-compatible server. Each request takes the next step of
  its script (then `default`): a correct answer, a timeout, 429 with Retry-After, 500,
  malformed JSON, labels outside the vocabulary, or a batch answer with an item missing,
  repeated or misaligned. Its correct answers follow simple keyword rules, so tests can
  compute the expected labels themselves, and each summary names the tweet it answers.
- `OllamaShim`: an Ollama-API endpoint (/api/chat, /api/tags, /api/version) that forwards
  to a real llama.cpp server, so the official `ollama` client is tested against a real
  model where no Ollama server can be installed.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import urllib.request
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OK = "ok"
TIMEOUT = "timeout"
SERVER_ERROR = "500"
MALFORMED = "malformed"
OUT_OF_VOCABULARY = "out_of_vocabulary"
MISSING_ITEM = "missing_item"
DUPLICATED_ITEM = "duplicated_item"
MISALIGNED_ITEM = "misaligned_item"
CUT = "cut"  # finish_reason "length" (on a complete-looking answer)
CUT_IN_SUMMARY = "cut_in_summary"  # a summary looping until max_tokens, as small models do
RAW_NEWLINE = "raw_newline"  # a literal line break inside the summary string (invalid strict JSON)
UNSURE = "unsure"  # answers "neutral" for the sentiment with P = 0.5 (0.4 negative, 0.1 positive)
PROMISE = "promise"  # a reply draft that promises a refund (the policy forbids it)
DECLINE = "decline"  # a reply draft that declines to help, in the tweet's language (as a real model once did)
LINK = "link"  # a reply draft that sends the customer to a web address


def rate_limited(retry_after: float) -> str:
    return f"429:{retry_after}"


def expected_labels(text: str) -> dict:
    """The scripted model's labels for a text: keyword rules a test can apply by hand."""
    lowered = text.lower()
    sentiment = ("positive" if any(w in lowered for w in ("love", "thanks", "merci")) else
                 "negative" if any(w in lowered for w in ("down", "broken", "panne", "angry")) else "neutral")
    topic = ("billing" if "bill" in lowered or "factur" in lowered else
             "network" if any(w in lowered for w in ("fibre", "down", "signal", "panne")) else "other")
    team = {"billing": "billing", "network": "tech"}.get(topic, "commercial")
    urgency = "high" if "down" in lowered or "panne" in lowered else "low"
    return {"sentiment": sentiment, "topic": topic, "urgency": urgency, "team": team,
            "actionable": sentiment != "positive"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _JsonHandler(BaseHTTPRequestHandler):
    """What both fake servers share: quiet logs, JSON bodies in and out."""

    def log_message(self, *args) -> None:
        pass

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): that is the point of TIMEOUT


class FaultServer:
    def __init__(self, *, name: str = "fault", default: str = OK, timeout_s: float = 5, port: int = 0) -> None:
        self.name = name
        self.default = default
        self.timeout_s = timeout_s  # how long a TIMEOUT step stalls
        self.latency_s = 0.0  # how long every answer takes (a slow model): play(latency_s=...)
        self.script: deque[str] = deque()
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), self._handler())  # a fixed port: switched off and on again
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def play(self, *steps: str, default: str | None = None, latency_s: float = 0.0) -> FaultServer:
        with self._lock:
            self.script = deque(steps)
            self.requests = []
            self.latency_s = latency_s
            if default is not None:
                self.default = default
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_step(self, body: dict) -> str:
        with self._lock:
            self.requests.append(body)
            return self.script.popleft() if self.script else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(_JsonHandler):
            def do_POST(self) -> None:
                body = self._body()
                step = server._next_step(body)
                time.sleep(server.latency_s)
                if step == TIMEOUT:
                    time.sleep(server.timeout_s)
                    return self._send(200, _completion(body, _answer(body, OK, server.name)))
                if step.startswith("429:"):
                    return self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                                      {"Retry-After": step.split(":", 1)[1]})
                if step == SERVER_ERROR:
                    return self._send(500, {"error": {"message": "internal error", "type": "server_error"}})
                finish = "length" if step in (CUT, CUT_IN_SUMMARY) else "stop"
                content = _answer(body, step, server.name)
                return self._send(200, _completion(body, content, finish=finish, step=step))

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": server.name, "object": "model"}]})

        return Handler


def tweets_in(body: dict) -> list[tuple[str | None, str]]:
    """(id, text) of each tweet in a request: one `Tweet: ...` line, or JSON lines with ids."""
    user = next(m["content"] for m in body.get("messages", [])
                if m["role"] == "user" and not m["content"].startswith("Example corrected by an agent."))
    single = re.match(r"Tweet: (.*?)\n(?:[^\n]*\n)?JSON:$", user, flags=re.DOTALL)
    if single:
        return [(None, single.group(1))]
    found = []
    for line in user.splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            found.append((item["id"], item["text"]))
    return found


def _reply_only(body: dict) -> bool:
    schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {})
    return set(schema.get("properties", {})) == {"reply"}


def _reply(body: dict, step: str, name: str) -> str:
    """A reply draft that names what it answers: "<tier> draft: sorry about <the tweet's first words>"."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    tweet = user.split("Customer tweet: ", 1)[-1].removesuffix("\nJSON:")
    if step == PROMISE:
        return json.dumps({"reply": "We will refund you in full, sorry!"})
    if step == DECLINE:
        french = "Réponds en français." in user
        return json.dumps({"reply": "Je suis désolé, mais je ne peux pas vous aider avec cela." if french
                           else "I'm sorry, but I can't help with that."}, ensure_ascii=False)
    if step == LINK:
        return json.dumps({"reply": "Sorry about that! Check the outage map at bit.ly/net-status then DM us."})
    return json.dumps({"reply": f"{name} draft: sorry about {tweet[:40]}, please DM us."})


def _summary_only(body: dict) -> bool:
    schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {})
    return set(schema.get("properties", {})) == {"summary"}


def _summary(body: dict, name: str) -> str:
    """A summary that names what it summarises: "<tier> summary: <the words' start>"."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    words = user.split("Customer's words: ", 1)[-1].split("\n", 1)[0]
    return json.dumps({"summary": f"{name} summary: {words[:40]}"})


def _sentiment_only(body: dict) -> bool:
    schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {})
    return set(schema.get("properties", {})) == {"sentiment"}


def _answer(body: dict, step: str, name: str) -> str:
    if step == MALFORMED:
        return '{"sentiment": "negative", "topic": '
    if _reply_only(body):
        return _reply(body, step, name)
    if _summary_only(body):
        return _summary(body, name)
    tweets = tweets_in(body)
    if _sentiment_only(body):
        return json.dumps({"sentiment": expected_labels(tweets[0][1])["sentiment"]})
    if step == RAW_NEWLINE:
        return json.dumps({**expected_labels(tweets[0][1]), "summary": "line one NEWLINE line two"}).replace(
            "NEWLINE", "\n")
    if step == UNSURE:
        return json.dumps({**expected_labels(tweets[0][1]), "sentiment": "neutral", "summary": f"{name} unsure"})
    answers = [{**({"id": tweet_id} if tweet_id else {}), **expected_labels(text),
                "summary": f"{name} read: {text[:60]}"} for tweet_id, text in tweets]
    if step == OUT_OF_VOCABULARY:
        answers = [{**a, "topic": "weather"} for a in answers]
    if tweets[0][0] is None:
        if step == CUT_IN_SUMMARY:
            return json.dumps({**answers[0], "summary": ""})[:-2] + "I am sorry, " * 40
        return json.dumps(answers[0])
    if step == MISSING_ITEM:
        answers = answers[:-1]
    elif step == DUPLICATED_ITEM:
        answers = [*answers[:-1], {**answers[0], "summary": "a second answer for the first tweet"}]
    elif step == MISALIGNED_ITEM:
        answers = [*answers[:-1], {**answers[-1], "id": "not-an-id-that-was-asked"}]
    return json.dumps({"items": answers})


def _logprobs(content: str, step: str) -> dict:
    """Token log-probabilities, as OpenAI gives them: the text before the sentiment value in
    one token, the value with its alternatives, the rest in one token."""
    match = re.search(r'("sentiment": ")(\w+)', content)
    if not match:
        return {"content": [{"token": content, "logprob": 0.0, "top_logprobs": []}]}
    value = match.group(2)
    if step == UNSURE:
        odds = {"neutral": 0.5, "negative": 0.4, "positive": 0.1}
    else:
        odds = {v: (0.9 if v == value else 0.05) for v in ("negative", "neutral", "positive")}
    alternatives = [{"token": v, "logprob": math.log(p)} for v, p in odds.items()]
    return {"content": [
        {"token": content[:match.end(1)], "logprob": 0.0, "top_logprobs": []},
        {"token": value, "logprob": math.log(odds[value]), "top_logprobs": alternatives},
        {"token": content[match.end(2):], "logprob": 0.0, "top_logprobs": []}]}


def _completion(body: dict, content: str, *, finish: str = "stop", step: str = OK) -> dict:
    prompt_chars = sum(len(m["content"]) for m in body.get("messages", []))
    return {"id": "chatcmpl-fault", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "finish_reason": finish,
                         "logprobs": _logprobs(content, step) if body.get("logprobs") else None,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_chars // 4, "completion_tokens": len(content) // 4,
                      "total_tokens": prompt_chars // 4 + len(content) // 4}}


class OllamaShim:
    """Ollama's chat API in front of an OpenAI-compatible llama.cpp server."""

    def __init__(self, *, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")  # e.g. http://127.0.0.1:PORT/v1
        self.requests = 0
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def chat(self, body: dict) -> dict:
        options = body.get("options") or {}
        request = {"model": body["model"], "messages": body["messages"], "stream": False,
                   "temperature": options.get("temperature", 0), "max_tokens": options.get("num_predict", 256)}
        if isinstance(body.get("format"), dict):
            request["response_format"] = {"type": "json_schema",
                                          "json_schema": {"name": "answer", "strict": True, "schema": body["format"]}}
        started = time.monotonic_ns()
        upstream = urllib.request.Request(f"{self.upstream}/chat/completions", data=json.dumps(request).encode(),
                                          headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(upstream, timeout=300) as response:
            answer = json.loads(response.read())
        choice = answer["choices"][0]
        usage = answer.get("usage") or {}
        return {"model": body["model"], "created_at": datetime.now(UTC).isoformat(),
                "message": {"role": "assistant", "content": choice["message"]["content"]},
                "done": True, "done_reason": "length" if choice["finish_reason"] == "length" else "stop",
                "total_duration": time.monotonic_ns() - started,
                "prompt_eval_count": usage.get("prompt_tokens", 0), "eval_count": usage.get("completion_tokens", 0)}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        shim = self

        class Handler(_JsonHandler):
            def do_POST(self) -> None:
                body = self._body()
                if self.path != "/api/chat":
                    return self._send(404, {"error": f"no route {self.path}"})
                shim.requests += 1
                try:
                    return self._send(200, shim.chat(body))
                except OSError as error:
                    return self._send(502, {"error": f"upstream llama.cpp server: {error}"})

            def do_GET(self) -> None:
                if self.path == "/api/version":
                    return self._send(200, {"version": "0.0.0-dallosh-shim"})
                return self._send(200, {"models": []})

        return Handler
