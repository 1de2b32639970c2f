def test_about_is_anonymous(server):
    with server.client(auth=None) as client:
        body = client.get("/api/server/about").json()
    assert body["version"] == "2.80.0"
