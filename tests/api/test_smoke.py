def test_about_is_anonymous(server):
    import httpx

    body = httpx.get(f"{server.url}/api/server/about").json()
    assert body["version"] == "2.80.0"
