"""The Discord peer speaks Discord's execute-webhook API: limits on embeds, a rate-limit bucket per
webhook with Discord's headers, and its error bodies; checked over HTTP with plain requests."""

import time

import requests

from peers.discord import DiscordPeer, form_errors

HOOK = "/api/v10/webhooks/123456789012345678/tok"


def post(peer: DiscordPeer, body: dict, path: str = HOOK, wait: bool = True) -> requests.Response:
    return requests.post(peer.url + path, params={"wait": "true"} if wait else None, json=body, timeout=5)


def test_a_message_is_answered_with_its_id_when_waited_for_and_204_otherwise(discord_peer):
    answer = post(discord_peer, {"embeds": [{"title": "Hi", "url": "https://x.example/1"}]})
    assert answer.status_code == 200 and answer.json()["id"] and answer.json()["webhook_id"] == "123456789012345678"
    assert post(discord_peer, {"content": "hello"}, wait=False).status_code == 204
    assert discord_peer.messages[0]["id"] == answer.json()["id"]
    assert requests.get(discord_peer.url + "/_stats", timeout=5).json()["by_key"] == {"https://x.example/1": 1, "": 1}


def test_each_webhook_is_a_bucket_with_discords_headers_and_a_request_past_it_is_a_counted_429(discord_peer):
    discord_peer.limit, discord_peer.window = 2, 0.4
    first, second, third = (post(discord_peer, {"content": str(i)}) for i in range(3))
    assert first.headers["X-RateLimit-Limit"] == "2" and first.headers["X-RateLimit-Remaining"] == "1"
    assert (
        second.headers["X-RateLimit-Remaining"] == "0" and 0 < float(second.headers["X-RateLimit-Reset-After"]) <= 0.4
    )
    assert second.headers["X-RateLimit-Bucket"] == first.headers["X-RateLimit-Bucket"]
    assert third.status_code == 429 and third.json()["global"] is False and 0 < third.json()["retry_after"] <= 0.4
    assert discord_peer.violations == 1
    other = post(discord_peer, {"content": "x"}, path="/api/v10/webhooks/998877665544332211/tok")
    assert other.status_code == 200  # another webhook, another bucket
    time.sleep(float(third.json()["retry_after"]))
    assert post(discord_peer, {"content": "again"}).status_code == 200
    assert discord_peer.violations == 1


def test_over_limit_embeds_are_refused_with_50035_and_discords_nested_errors(discord_peer):
    answer = post(discord_peer, {"embeds": [{"title": "😀" * 129}]})  # 258 UTF-16 units
    assert answer.status_code == 400
    assert answer.json() == {
        "code": 50035,
        "message": "Invalid Form Body",
        "errors": {
            "embeds": {
                "0": {
                    "title": {
                        "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]
                    }
                }
            }
        },
    }
    assert post(discord_peer, {"embeds": [{"title": "😀" * 128}]}).status_code == 200
    assert post(discord_peer, {}).json()["code"] == 50006


def test_form_errors_checks_every_limit_and_the_total():
    assert form_errors({"embeds": [{"description": "d" * 4096}]}) is None
    assert form_errors({"embeds": [{"description": "d" * 4097}]}) is not None
    assert form_errors({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}) is not None
    assert form_errors({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}) is not None
    assert form_errors({"embeds": [{"fields": [{"name": " ", "value": "v"}]}]}) is not None
    assert form_errors({"embeds": [{"footer": {"text": "f" * 2049}}]}) is not None
    assert form_errors({"embeds": [{"description": "d" * 4000, "footer": {"text": "f" * 2000}}]}) is None  # 6000
    assert form_errors({"embeds": [{"description": "d" * 4000, "footer": {"text": "f" * 2001}}]}) is not None


def test_deleted_webhooks_wrong_tokens_and_scripted_failures_answer_as_discord_does(discord_peer):
    assert post(discord_peer, {"content": "x"}).status_code == 200
    wrong = post(discord_peer, {"content": "x"}, path="/api/v10/webhooks/123456789012345678/other")
    assert (wrong.status_code, wrong.json()["code"]) == (401, 50027)
    discord_peer.fail_next("invalid_form")
    assert post(discord_peer, {"content": "x"}).json()["code"] == 50035
    discord_peer.fail_next("global_rate_limited", retry_after=0.25)
    limited = post(discord_peer, {"content": "x"})
    assert limited.status_code == 429 and limited.headers["X-RateLimit-Global"] == "true"
    assert limited.json() == {"message": "You are being rate limited.", "retry_after": 0.25, "global": True}
    discord_peer.fail_next("server_error")
    assert post(discord_peer, {"content": "x"}).status_code == 502
    discord_peer.delete_webhook("123456789012345678")
    gone = post(discord_peer, {"content": "x"})
    assert (gone.status_code, gone.json()) == (404, {"code": 10015, "message": "Unknown Webhook"})
    assert discord_peer.violations == 0  # scripted 429s are not violations
