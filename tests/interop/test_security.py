"""Hydrant for a team off AWS, through the official Elasticsearch client: HTTPS whose
certificate the client verifies (a CA made by trustme), users signing in with HTTP basic
authentication, and an API key created and used through the client's own security API."""

import subprocess

import elasticsearch
import pytest
import trustme
from elasticsearch import Elasticsearch, helpers

from conftest import BIN

PASSWORDS = {"ada": "admin-pass-1", "wes": "writer-pass-1"}
ROLES = {"ada": '["admin", "reader", "writer"]', "wes": '["writer"]'}


def password_hash(password):
    out = subprocess.run([BIN, "auth", "hash-password"], input=password, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture
def secured(hydrant, tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(cert_file), append=True)
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    config = f'[http.tls]\ncert_file = "{cert_file}"\nkey_file = "{key_file}"\n'
    for user, password in PASSWORDS.items():
        config += f'[auth.users.{user}]\npassword_hash = "{password_hash(password)}"\nroles = {ROLES[user]}\n'
    server = hydrant(config=config)
    assert server.url.startswith("https://")
    return server, str(ca_file)


def test_the_client_verifies_the_certificate_and_signs_in_with_a_password(secured):
    server, ca = secured
    es = Elasticsearch(server.url, ca_certs=ca, basic_auth=("ada", PASSWORDS["ada"]))
    assert es.info()["version"]["number"].startswith("8.")
    ok, errors = helpers.bulk(es, ({"_index": "team", "n": i} for i in range(50)), refresh="wait_for")
    assert (ok, errors) == (50, [])
    assert es.count(index="team")["count"] == 50
    who = es.security.authenticate()
    assert who["username"] == "ada"
    # The writer writes but may not read.
    writer = Elasticsearch(server.url, ca_certs=ca, basic_auth=("wes", PASSWORDS["wes"]))
    helpers.bulk(writer, [{"_index": "team", "n": 50}], refresh="wait_for")
    with pytest.raises(elasticsearch.AuthorizationException):
        writer.count(index="team")
    # A wrong password is refused; a client that does not trust the CA cannot connect.
    with pytest.raises(elasticsearch.AuthenticationException):
        Elasticsearch(server.url, ca_certs=ca, basic_auth=("ada", "wrong")).info()
    with pytest.raises(elasticsearch.ConnectionError):
        Elasticsearch(server.url, basic_auth=("ada", PASSWORDS["ada"]), retry_on_timeout=False, max_retries=0).info()


def test_an_api_key_made_through_the_client_works_until_invalidated(secured):
    server, ca = secured
    admin = Elasticsearch(server.url, ca_certs=ca, basic_auth=("ada", PASSWORDS["ada"]))
    key = admin.security.create_api_key(name="dashboards", expiration="1d")
    assert key["name"] == "dashboards" and key["encoded"]
    es = Elasticsearch(server.url, ca_certs=ca, api_key=key["encoded"])
    helpers.bulk(es, [{"_index": "keyed", "msg": "through an api key"}], refresh="wait_for")
    assert es.count(index="keyed")["count"] == 1
    assert es.security.authenticate()["api_key"]["name"] == "dashboards"
    listed = admin.security.get_api_key(name="dashboards")["api_keys"]
    assert [k["id"] for k in listed] == [key["id"]]
    done = admin.security.invalidate_api_key(ids=[key["id"]])
    assert done["invalidated_api_keys"] == [key["id"]]
    with pytest.raises(elasticsearch.AuthenticationException):
        es.count(index="keyed")
