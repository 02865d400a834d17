"""The event socket's AsyncAPI document: every event and request the code knows, no other."""

from chatapp.connections.apirequests import REQUESTS
from chatapp.shapes import EVENTS
from tests.api.support import API, ASYNCAPI, described_messages


def test_the_document_is_asyncapi_3_for_the_socket_path():
    assert ASYNCAPI["asyncapi"].startswith("3.0")
    assert ASYNCAPI["channels"]["events"]["address"] == f"{API}/ws"
    assert ASYNCAPI["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_event_the_server_sends_is_described_and_nothing_else():
    assert set(described_messages("send")) == EVENTS


def test_every_request_the_server_takes_is_described_with_its_fields():
    described = described_messages("receive")
    assert set(described) == set(REQUESTS)
    for kind, fields in REQUESTS.items():
        name = described[kind].split("/")[3]
        payload = ASYNCAPI["components"]["messages"][name]["payload"]
        assert set(payload["properties"]) == {"type", *fields}
        required = {field for field, rule in fields.items() if rule.required}
        assert set(payload["required"]) == {"type", *required}
        assert payload["additionalProperties"] is False


def test_every_message_of_the_channel_is_sent_or_taken():
    channel = set(ASYNCAPI["channels"]["events"]["messages"])
    components = set(ASYNCAPI["components"]["messages"])
    assert channel == components
    assert len(described_messages("send")) + len(described_messages("receive")) == len(channel)


def test_the_document_is_served_and_linked_from_the_docs_page(client):
    with client.get(f"{API}/asyncapi.yaml") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/yaml"
        assert response.get_data(as_text=True).startswith("asyncapi: 3.0.0")
    page = client.get(f"{API}/docs").get_data(as_text=True)
    assert f'href="{API}/asyncapi.yaml"' in page
    assert "WS /api/v1/ws" in page
